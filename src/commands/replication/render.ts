/** Human rendering of `pvx replication`: the plan, the change's summary, the job and state tables. */
import type { Deps } from '../../context.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable } from '../../ui/table.js';
import { renderPlan } from '../cluster/render-change.js';
import type { ReplicationChangeResult, ReplicationPlanResult } from './change.js';
import type { ReplicationListResult, ReplicationStatusResult } from './status.js';

/** `replication add|remove|run`: the plan under --dry-run, else the summary. */
export function renderReplicationChange(o: Outcome<ReplicationChangeResult | ReplicationPlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  if ('plan' in r) return renderPlan(r.title, r.plan, theme);
  if (o.exitCode !== 0) return '';
  return `${theme.ok} ${r.summary}\n`;
}

/** `replication list`: one row per job. */
export function renderReplicationList(o: Outcome<ReplicationListResult>, deps: Deps): string {
  const r = o.result;
  if (r.jobs.length === 0) return `No replication jobs ${deps.theme.c.dim(`(pvesr list on ${r.node})`)}\n`;
  return renderTable(
    ['JOB', 'GUEST', 'TARGET', 'SCHEDULE', 'RATE (MB/s)', 'ENABLED'],
    r.jobs.map((j) => [j.jobId, String(j.vmid), j.target, j.schedule, j.rateMbps !== undefined ? String(j.rateMbps) : '-', j.enabled ? 'yes' : 'no']),
  );
}

/** `replication status`: one row per job, with its last and next sync (node-local times, as pvesr prints them). */
export function renderReplicationStatus(o: Outcome<ReplicationStatusResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { c } = deps.theme;
  const out: string[] = [];
  if (r.jobs.length === 0) out.push('No replication jobs on the nodes read.');
  else {
    out.push(
      renderTable(
        ['JOB', 'SOURCE', 'TARGET', 'ENABLED', 'LAST SYNC', 'DURATION', 'FAILS', 'NEXT SYNC', 'STATE'],
        r.jobs.map((j) => [
          j.jobId,
          j.source,
          j.target,
          j.enabled ? 'yes' : 'no',
          j.lastSync ?? 'never',
          j.durationSec !== undefined ? `${j.durationSec.toFixed(1)} s` : '-',
          String(j.failCount),
          j.nextSync ?? '-',
          j.state === 'OK' ? c.green('OK') : j.state === 'SYNCING' ? j.state : c.red(j.state),
        ]),
      ).trimEnd(),
    );
  }
  for (const u of r.unread) out.push(c.red(`not read: ${u.node}: ${u.message}`));
  return out.join('\n') + '\n';
}
