/** `pvx ha status` (the HA stack as `ha-manager status` shows it, every version's format) and `pvx ha budget`. */
import type { Deps } from '../../context.js';
import { NotQuorateError, StepError, UnreachableError, UsageError } from '../../errors.js';
import { haManager } from '../../pve/argv.js';
import { ParseError, excerptOf } from '../../pve/parse/errors.js';
import { parseHaManagerStatus, type HaFencing, type HaLrm, type HaMaster, type HaQuorum, type HaService } from '../../pve/parse/ha-manager-status.js';
import type { Outcome } from '../../ui/report.js';
import { availabilityTable, downtimeBudget, parsePercent, type DowntimeBudget } from '../../workflows/ha/budget.js';

/** The result of `ha status` (JSON `result`). */
export interface HaStatusResult {
  /** the node whose view this is */
  node: string;
  quorum: HaQuorum;
  master: HaMaster | null;
  fencing: HaFencing | null;
  lrms: HaLrm[];
  services: HaService[];
  /** what each availability level allows as downtime, seconds */
  availability: DowntimeBudget[];
}

/** Run `pvx ha status [--node n]`: the first node (in inventory order, or the one named) that answers. */
export async function haStatus(deps: Deps, opts: { node?: string | undefined }): Promise<Outcome<HaStatusResult>> {
  const inv = deps.inventory();
  const nodes = opts.node !== undefined ? inv.nodes.filter((n) => n.name === opts.node) : inv.nodes;
  if (nodes.length === 0) throw new UsageError(`--node: '${opts.node}' is not in the inventory ${inv.file}`, { hint: `known nodes: ${inv.nodes.map((n) => n.name).join(', ')}` });
  const t = deps.transport(nodes);
  const step = await deps.progress.start('reading the HA status');
  const problems: string[] = [];
  let unreachable: UnreachableError | undefined;
  let unreachableCount = 0;
  for (const n of nodes) {
    try {
      const r = await t.exec(n.name, haManager.status(), { timeoutMs: 30_000, title: 'read the HA status' });
      if (r.exitCode !== 0) {
        problems.push(`${n.name}: ${r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`}`);
        continue;
      }
      const s = parseHaManagerStatus(r.stdout);
      step.succeed(`read the HA status from ${n.name}`);
      const result: HaStatusResult = { node: n.name, quorum: s.quorum, master: s.master ?? null, fencing: s.fencing ?? null, lrms: s.lrms, services: s.services, availability: availabilityTable() };
      if (!s.quorum.ok) {
        const error = new NotQuorateError(`${n.name} has no quorum: ${s.quorum.message}`, { hint: 'the HA stack acts only in a quorate partition; pvx cluster status shows the members' });
        return { command: 'ha status', result, exitCode: error.exitCode, warnings: [], error };
      }
      // the status is cluster-wide, so another node's answer is whole; still say whose was not read
      const skippedNodes = problems.map((p) => `${p} (read from ${n.name} instead)`);
      return { command: 'ha status', result, exitCode: 0, warnings: [...skippedNodes, ...s.unrecognized.map((l) => `a line of ha-manager status pvx does not know: ${excerptOf(l)}`)] };
    } catch (e) {
      if (e instanceof UnreachableError) {
        unreachable ??= e;
        unreachableCount++;
        problems.push(`${n.name}: ${e.message}`);
        continue;
      }
      if (e instanceof ParseError) {
        problems.push(`${n.name}: ${e.message}`);
        continue;
      }
      throw e;
    }
  }
  step.fail('could not read the HA status');
  if (unreachable && unreachableCount === problems.length) {
    throw new UnreachableError(unreachable.node, problems.length === 1 ? unreachable.message : `no node could be reached: ${problems.join('; ')}`, unreachable.hint ? { hint: unreachable.hint } : {});
  }
  throw new StepError(`could not read the HA status: ${problems.join('; ')}`, { hint: 'run ha-manager status on a node to see why' });
}

/** The result of `ha budget`. */
export interface HaBudgetResult {
  budget: DowntimeBudget;
  availability: DowntimeBudget[];
}

/** Run `pvx ha budget <percent>`: no node is asked. */
export async function haBudget(_deps: Deps, raw: string): Promise<Outcome<HaBudgetResult>> {
  const p = parsePercent(raw);
  if ('problem' in p) throw new UsageError(p.problem, { hint: 'for example: pvx ha budget 99.95' });
  return { command: 'ha budget', result: { budget: downtimeBudget(p.percent), availability: availabilityTable() }, exitCode: 0, warnings: [] };
}
