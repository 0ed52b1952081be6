/** Human rendering of `cluster teardown` and `cluster restore`: the overview before the question, plans, summaries. */
import type { Deps } from '../../context.js';
import type { RestorePlanResult, RestoreResult } from './restore.js';
import type { TeardownOverview, TeardownPlanResult, TeardownResult } from './teardown-result.js';
import { CLUSTER_PATHS } from '../../pve/argv.js';
import type { GuestResource } from '../../pve/parse/pvesh-resources.js';
import { guestFileLabel } from '../../facts/guest-files.js';
import { archiveFilesText, BACKUP_SOURCES } from '../../workflows/teardown/backup.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable } from '../../ui/table.js';
import type { Theme } from '../../ui/theme.js';
import { renderPlan } from './render-change.js';

function guestText(g: GuestResource): string {
  const label = `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}`;
  const bits = [g.name, g.status !== 'unknown' ? g.status : undefined].filter(Boolean);
  return bits.length > 0 ? `${label} (${bits.join(', ')})` : label;
}

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** What pvx shows before asking for the cluster name: the cluster, its nodes and guests, HA, shared storage, the steps. */
export function renderTeardownOverview(o: TeardownOverview, theme: Theme): string {
  const { c } = theme;
  const out: string[] = [];
  const q = o.quorate === undefined ? 'corosync not running' : o.quorate ? 'quorate' : c.yellow('NOT quorate');
  out.push('', `${c.bold(`Cluster '${o.cluster}'`)}: ${q}, ${o.nodes.filter((n) => n.configured).length} node(s) configured`, '');
  const role = (n: TeardownOverview['nodes'][number]): string => {
    switch (n.role) {
      case 'last':
        return 'separated last';
      case 'separate':
        return `separated ${ordinal(o.others.indexOf(n.name) + 1)}`;
      case 'down':
        return 'removed from the membership only';
      case 'separated':
        return 'already standalone: removed from the membership';
    }
  };
  const rows = o.nodes.map((n) => {
    const fromApi = o.facts.guests.filter((g) => g.node === n.name);
    const files = o.facts.guestFiles.get(n.name) ?? [];
    const guests = fromApi.length > 0 ? fromApi.map(guestText) : files.map(guestFileLabel);
    const state = n.role === 'down' ? c.yellow(n.inInventory ? 'down (unreachable)' : 'offline, not in the inventory') : n.online ? 'online' : n.role === 'separated' ? 'standalone' : 'offline';
    return [n.name, state, role(n), guests.length > 0 ? `${guests.length}: ${guests.join(', ')}` : 'none'];
  });
  out.push(renderTable(['NODE', 'STATE', 'TEARDOWN', 'GUESTS'], rows).trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  out.push('');
  const ha = o.facts.ha;
  out.push(`HA resources: ${!ha ? 'not read (no running member)' : 'problem' in ha ? c.yellow(`could not be read (${ha.problem})`) : ha.services.length === 0 ? 'none' : ha.services.map((s) => s.sid).join(', ')}`);
  const shared = o.facts.sharedStorages;
  out.push(`Shared storage: ${shared.length === 0 ? 'none' : shared.map((s) => `${s.storage} (${s.plugintype}) on ${s.nodes.join(', ')}`).join('; ')}`);
  if (shared.length > 0) out.push(c.dim('  it stays configured on every node; standalone nodes no longer coordinate VMIDs or locks on it'));
  out.push('', c.bold('What happens, step by step:'));
  const steps: string[] = [];
  const backedUp = o.nodes.filter((n) => n.role === 'separate' || n.role === 'last').map((n) => n.name);
  steps.push(
    `Back up ${list(BACKUP_SOURCES)} of ${list(backedUp)}: kept in ${o.nodeDir}/ on each node and copied to ${o.localDir}/; ` +
      'each copy is checked on both sides (sha256 and the files it holds). Nothing is deleted unless every backup checks out.',
  );
  if (o.qdevice) {
    steps.push(`Remove the QDevice${o.qdevice.host ? ` (QNetd host ${o.qdevice.host})` : ''}: pvecm qdevice remove on ${o.last}, before any node leaves (pvecm.adoc asks for this order).`);
  }
  const expected = (node: string) => (o.expectedBefore.includes(node) ? ` (pvecm expected first: ${o.last} would lack quorum alone)` : '');
  for (const n of o.removeOnly) steps.push(`Remove ${n} from the membership: pvecm delnode ${n} on ${o.last}${expected(n)}.`);
  const separation =
    `stop pve-cluster and corosync, start pmxcfs -l, remove ${CLUSTER_PATHS.pveCorosyncConf} and ${CLUSTER_PATHS.corosyncDir}/*, ` +
    `stop that pmxcfs by its PID, start pve-cluster, clear ${CLUSTER_PATHS.corosyncState}`;
  o.others.forEach((n, i) => {
    steps.push(`Separate ${n}: ${i === 0 ? separation : 'the same steps'}; then pvecm delnode ${n} on ${o.last}${expected(n)}.`);
  });
  steps.push(`Separate ${o.last} last${o.others.length > 0 ? ', the same way' : `: ${separation}`}.`);
  steps.push(
    'After each node: check that it is standalone (no corosync, no cluster files) and still holds every guest configuration it had; ' +
      `then remove the other nodes' folders from its ${CLUSTER_PATHS.pveNodes}/ once their files are in its backup (a later pvecm add would count their guests).`,
  );
  steps.forEach((s, i) => out.push(wrap(s, 100, `  ${i + 1}. `, '     ')));
  out.push('', `Guest configurations stay on their nodes. Every command: ${c.cyan('pvx cluster teardown --dry-run')}.`, '');
  return out.join('\n') + '\n';
}

/** Break text into lines of at most `width` columns, the first after `first`, the others after `rest`. */
function wrap(text: string, width: number, first: string, rest: string): string {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    const prefix = lines.length === 0 ? first : rest;
    if (line.length + word.length + 1 > width && line !== prefix) {
      lines.push(line.trimEnd());
      line = rest;
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${s}`;
}

/** `cluster teardown` for a person: the plan under --dry-run, else the summary (a failure is told on stderr). */
export function renderTeardown(o: Outcome<TeardownResult | TeardownPlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  const { c } = theme;
  if ('plan' in r) return renderPlan(r.title, r.plan, theme) + `\n${c.dim(`Backups would go to ${r.backupDir}/ on this workstation.`)}\n`;
  if (r.outcome === 'failed') return '';
  if (r.outcome === 'unchanged') return `${theme.info} ${r.summary}.\n`;
  const lines = [`${theme.ok} ${r.summary[0]?.toUpperCase()}${r.summary.slice(1)}.`];
  if (r.backups) {
    lines.push(`  backups: ${r.backups.dir}/ ${c.dim(`(on each node: ${r.backups.nodeDir}/)`)}`);
    for (const b of r.backups.nodes) lines.push(`    ${b.node}: ${archiveFilesText(b.files)} ${c.dim(`sha256 ${b.sha256.slice(0, 16)}…`)}`);
  }
  const checked = r.nodes.filter((n) => n.guestsAfter !== undefined);
  if (checked.length > 0) {
    lines.push(`  guest configurations (before → after): ${checked.map((n) => `${n.name} ${n.guestsBefore.length} → ${n.guestsAfter?.length ?? 0}`).join(', ')}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  if (r.restore) lines.push(`  to undo: ${r.restore} ${c.dim('(every node; or --node <node>)')}`);
  return lines.join('\n') + '\n';
}

/** `cluster restore` for a person. */
export function renderRestore(o: Outcome<RestoreResult | RestorePlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  if ('plan' in r) return renderPlan(r.title, r.plan, theme);
  if (r.outcome === 'failed') return '';
  const mark = r.outcome === 'unchanged' ? theme.info : theme.ok;
  const lines = [`${mark} ${r.summary}.`];
  if (r.membership) {
    const m = r.membership;
    lines.push(`  cluster '${m.cluster}': ${m.quorate ? 'quorate' : theme.c.yellow('NOT quorate')}, ${m.online.length} of ${m.configured.length} online (seen from ${m.source})`);
    lines.push(...m.configured.map((n) => `    ${n}  ${m.online.includes(n) ? 'online' : theme.c.yellow('offline')}`));
  }
  const db = { backup: "the backup's", cluster: "the running cluster's", kept: 'its own' } as const;
  for (const d of r.databases ?? []) lines.push(`  ${d.node}: pmxcfs database: ${db[d.database]}`);
  if (r.guestChanges && r.guestChanges.length > 0) {
    const how = r.changesTreatment === 'keep' ? 'kept (written back)' : "discarded (the backup's restored)";
    lines.push(`  guest configurations changed since the backup, ${how}: ${r.guestChanges.map((g) => `${g.node} ${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid} (${g.change})`).join(', ')}`);
  }
  return lines.join('\n') + '\n';
}
