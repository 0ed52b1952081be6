/** Human rendering of `pvx migrate`: one row per guest and a count, or the plan under --dry-run. */
import type { Deps } from '../../context.js';
import type { MigratePlanResult, MigrateResult } from './run.js';
import type { GuestResult } from '../../workflows/migrate/run.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable } from '../../ui/table.js';
import type { Theme } from '../../ui/theme.js';
import { renderPlan } from '../cluster/render-change.js';

function label(g: GuestResult): string {
  return g.type === 'qemu' ? 'VM' : 'CT';
}

function statusCell(g: GuestResult, theme: Theme): string {
  if (g.status === 'migrated') return theme.c.green('migrated');
  if (g.status === 'failed') return theme.c.red('failed');
  return theme.c.yellow('skipped');
}

/** The count line: `18 migrated, 1 failed, 1 skipped (of 20)`. */
export function countLine(guests: readonly GuestResult[]): string {
  const n = (s: GuestResult['status']) => guests.filter((g) => g.status === s).length;
  return `${n('migrated')} migrated, ${n('failed')} failed, ${n('skipped')} skipped (of ${guests.length})`;
}

/** `migrate` for a person. */
export function renderMigrate(o: Outcome<MigrateResult | MigratePlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  if ('plan' in r) {
    let out = renderPlan(r.title, r.plan, theme);
    if (r.skipped.length > 0) {
      out += `\n${theme.c.bold('Not moving')}\n`;
      for (const s of r.skipped) out += `  ${label(s)} ${s.vmid} on ${s.from}: ${s.error ?? ''}\n`;
    }
    return out;
  }
  if (r.guests.length === 0) return 'No guests selected: nothing to migrate.\n';
  const rows = r.guests.map((g) => [
    String(g.vmid),
    label(g),
    g.from,
    g.to,
    statusCell(g, theme),
    g.status === 'skipped' ? '-' : `${(g.durationMs / 1000).toFixed(1)} s`,
    g.error ?? '',
  ]);
  return `${renderTable(['VMID', 'TYPE', 'FROM', 'TO', 'STATUS', 'TIME', 'REASON'], rows)}${countLine(r.guests)}\n`;
}
