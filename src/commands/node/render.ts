/** Human rendering of `pvx node drain` and `pvx node maintenance`: the placement and plan under --dry-run, else one row per guest. */
import type { Deps } from '../../context.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable } from '../../ui/table.js';
import type { Theme } from '../../ui/theme.js';
import { renderPlan } from '../cluster/render-change.js';
import type { DrainGuestResult, DrainPlacement, DrainPlanResult, DrainResult } from './drain.js';
import type { MaintenancePlanResult, MaintenanceResult } from './maintenance.js';

function kind(t: 'qemu' | 'lxc'): string {
  return t === 'qemu' ? 'VM' : 'CT';
}

function statusCell(g: DrainGuestResult, theme: Theme): string {
  if (g.status === 'migrated') return theme.c.green('migrated');
  if (g.status === 'failed') return theme.c.red('failed');
  return theme.c.yellow('skipped');
}

function placementTable(placement: readonly DrainPlacement[]): string {
  if (placement.length === 0) return '';
  const rows = placement.map((p) => [String(p.vmid), kind(p.type), p.from, p.target ?? '-', p.reason ?? '']);
  return `\n${renderTable(['VMID', 'TYPE', 'FROM', 'TARGET', 'REASON'], rows)}`;
}

function guestTable(guests: readonly DrainGuestResult[], theme: Theme): string {
  const rows = guests.map((g) => [
    String(g.vmid),
    kind(g.type),
    g.from,
    g.target ?? '-',
    statusCell(g, theme),
    g.status === 'skipped' ? '-' : `${(g.durationMs / 1000).toFixed(1)} s`,
    g.reason ?? '',
  ]);
  const n = (s: DrainGuestResult['status']) => guests.filter((g) => g.status === s).length;
  return `${renderTable(['VMID', 'TYPE', 'FROM', 'TARGET', 'STATUS', 'TIME', 'REASON'], rows)}${n('migrated')} migrated, ${n('failed')} failed, ${n('skipped')} skipped (of ${guests.length})\n`;
}

/** `node drain` and `node maintenance enable|disable` for a person. */
export function renderNodeMove(o: Outcome<DrainResult | DrainPlanResult | MaintenanceResult | MaintenancePlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  if ('plan' in r) return renderPlan(r.title, r.plan, theme) + placementTable(r.placement);
  let out = '';
  if ('action' in r) {
    out += `${r.node}: maintenance ${r.action === 'enable' ? 'enabled' : 'disabled'}${r.haMaintenance ? ' (HA maintenance mode)' : ''}\n`;
    for (const h of r.ha) out += `  HA ${h.sid}: ${h.node ?? 'not shown'}${h.state ? ` (${h.state})` : ''}\n`;
    if (r.stateFile) out += `  record of moved guests: ${r.stateFile}\n`;
  }
  if (r.guests.length === 0) return out + ('action' in r ? '' : `No guests on ${r.node}: nothing to move.\n`);
  return out + guestTable(r.guests, theme);
}
