/** Human rendering of `pvx ha`: the plan, the change's summary, the status tables, the downtime budget. */
import type { Deps } from '../../context.js';
import type { HaChangeResult, HaPlanResult } from './change.js';
import type { HaBudgetResult, HaStatusResult } from './status.js';
import { durationText, type DowntimeBudget } from '../../workflows/ha/budget.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable } from '../../ui/table.js';
import { renderPlan } from '../cluster/render-change.js';

function versionLine(r: { pve: number; preferenceMode: string }): string {
  return `PVE ${r.pve}: node preferences as ${r.preferenceMode === 'groups' ? 'HA groups' : 'node-affinity rules'}`;
}

/** `ha add|set|remove`: the plan under --dry-run, else a line per guest and the summary. */
export function renderHaChange(o: Outcome<HaChangeResult | HaPlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  const { c } = theme;
  if ('plan' in r) return `${c.dim(versionLine(r))}\n${renderPlan(r.title, r.plan, theme)}`;
  if (o.exitCode !== 0) return '';
  const lines = r.guests.map((g) => {
    const mark = g.outcome === 'unchanged' ? theme.info : theme.ok;
    return `${mark} ${g.sid} on ${g.node}: ${g.outcome}${g.state ? `, state ${g.state}` : ''}${g.note && g.outcome === 'unchanged' ? c.dim(` (${g.note})`) : ''}`;
  });
  lines.push(`${theme.ok} ${r.summary}.`);
  if (r.preference) lines.push(c.dim(`  ${versionLine(r)}; ${r.preference.kind} ${r.preference.id}${r.preference.created ? ' (new)' : ' (reused)'}`));
  return lines.join('\n') + '\n';
}

function availabilityLines(rows: readonly DowntimeBudget[]): string {
  const table = renderTable(
    ['AVAILABILITY', 'DOWNTIME A YEAR', 'A MONTH', 'A WEEK'],
    rows.map((b) => [`${b.percent} %`, durationText(b.year), durationText(b.month), durationText(b.week)]),
  );
  return table.trimEnd();
}

/** `ha status`: quorum, master, fencing, one row per LRM and per service, then what redundancy buys. */
export function renderHaStatus(o: Outcome<HaStatusResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { c } = deps.theme;
  const out: string[] = [];
  out.push(`${c.bold('Quorum')}   ${r.quorum.ok ? c.green('OK') : c.red(r.quorum.message)}${c.dim(`  (as seen from ${r.node})`)}`);
  if (r.master) out.push(`${c.bold('Master')}   ${r.master.node} (${r.master.state}, ${r.master.time})${r.master.extra ? ` - ${r.master.extra}` : ''}`);
  else out.push(`${c.bold('Master')}   none yet ${c.dim('(no HA resource configured, or the CRM has not run)')}`);
  if (r.fencing) out.push(`${c.bold('Fencing')}  ${r.fencing.state}${r.fencing.resourceMode ? `, resource mode ${r.fencing.resourceMode}` : ''} (${r.fencing.watchdog})`);
  if (r.lrms.length > 0) {
    out.push('');
    const watchdog = r.lrms.some((l) => l.watchdog);
    const header = ['LRM', 'STATE', ...(watchdog ? ['WATCHDOG'] : []), 'LAST SEEN'];
    out.push(renderTable(header, r.lrms.map((l) => [l.node, l.state, ...(watchdog ? [l.watchdog ?? '-'] : []), l.time ?? '-'])).trimEnd());
  }
  out.push('');
  if (r.services.length > 0) out.push(renderTable(['RESOURCE', 'NODE', 'STATE'], r.services.map((s) => [s.sid, s.node ?? '---', s.state])).trimEnd());
  else out.push('No HA resources.');
  out.push('', c.bold('What redundancy buys'), availabilityLines(r.availability));
  return out.join('\n') + '\n';
}

/** `ha budget`: the downtime a target allows, and the table to compare. */
export function renderHaBudget(o: Outcome<HaBudgetResult>, deps: Deps): string {
  const r = o.result;
  const b = r.budget;
  const { c } = deps.theme;
  return (
    [
      `${c.bold(`${b.percent} %`)} availability allows ${durationText(b.year)} of downtime a year, ${durationText(b.month)} a month, ${durationText(b.week)} a week (${durationText(b.day)} a day).`,
      '',
      availabilityLines(r.availability),
    ].join('\n') + '\n'
  );
}
