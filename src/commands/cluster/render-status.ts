/** Human rendering of `cluster status`. */
import type { Deps } from '../../context.js';
import type { ClusterStatusResult } from './status.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable } from '../../ui/table.js';

/** The status as a person reads it: cluster line, quorum line, one row per node. */
export function renderClusterStatus(o: Outcome<ClusterStatusResult>, deps: Deps): string {
  const r = o.result;
  const { c } = deps.theme;
  const out: string[] = [];
  if (r.cluster && r.quorum) {
    out.push(`${c.bold('Cluster')}  ${r.cluster.name}  (config version ${r.cluster.configVersion}, ${r.cluster.transport}, secure auth ${r.cluster.secureAuth ? 'on' : 'off'})`);
    const q = r.quorum;
    const state = q.quorate ? c.green('quorate') : c.red('NOT quorate');
    out.push(`${c.bold('Quorum')}   ${state}: ${q.totalVotes} of ${q.expectedVotes} votes, quorum ${q.quorum}${r.source ? c.dim(`  (as seen from ${r.source})`) : ''}`);
    out.push('');
    const rows = r.nodes.map((n) => [
      n.name,
      String(n.nodeid),
      n.votes === null ? '-' : String(n.votes),
      n.online ? c.green('online') : c.red('offline'),
      n.address ?? '-',
      n.pveVersion ?? '-',
    ]);
    out.push(renderTable(['NODE', 'ID', 'VOTES', 'STATE', 'ADDRESS', 'PVE'], rows).trimEnd());
  } else if (r.standalone.length === 0 && r.unreachable.length > 0 && r.unreadable.length === 0) {
    out.push('No node could be reached.');
  } else if (r.standalone.length === 0 && (r.unreachable.length > 0 || r.unreadable.length > 0)) {
    out.push('No node could be read.');
  }
  if (r.standalone.length > 0) {
    if (out.length) out.push('');
    for (const s of r.standalone) out.push(`${s.name}: standalone (not in a cluster)${s.pveVersion ? `, PVE ${s.pveVersion}` : ''}`);
  }
  if (r.unreachable.length > 0) {
    if (out.length) out.push('');
    for (const u of r.unreachable) out.push(`${c.red(u.name)}: unreachable: ${u.message}`);
  }
  if (r.unreadable.length > 0) {
    if (out.length) out.push('');
    for (const u of r.unreadable) out.push(`${c.red(u.name)}: state not read: ${u.message}`);
  }
  return out.join('\n') + '\n';
}
