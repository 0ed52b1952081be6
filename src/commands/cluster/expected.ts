/** `pvx cluster expected <votes> --node <n>`: `pvecm expected`, guarded, with the split-brain risk spelled out. */
import type { Deps } from '../../context.js';
import { PreflightError, UsageError } from '../../errors.js';
import type { Outcome } from '../../ui/report.js';
import { planExpected } from '../../workflows/cluster/expected.js';
import { DEFAULT_TIMING, type Timing } from '../../facts/node.js';
import { readMembership } from '../../facts/node.js';
import { checkNodeName, inventoryNodes, pvxCommandLine } from './nodes.js';
import { confirmOrCancel } from '../shared/confirm.js';
import { nothingRead } from '../shared/nothing-read.js';
import { scopeOfViews } from '../shared/cluster-lock.js';
import { failureError, nodeState, readStates, type ClusterChangeResult, type PlanResult } from '../shared/plan-run.js';
import { previewOrRunPlan } from '../shared/dry-run.js';

/** Options of `cluster expected`. */
export interface ExpectedOptions {
  votes: number;
  node: string;
  timing?: Timing;
}

const COMMAND = 'cluster expected';

/** Run `cluster expected`. */
export async function clusterExpected(deps: Deps, opts: ExpectedOptions): Promise<Outcome<ClusterChangeResult | PlanResult>> {
  checkNodeName('--node', opts.node);
  if (!Number.isSafeInteger(opts.votes) || opts.votes < 1) throw new UsageError(`expected votes must be a whole number of at least 1, got '${opts.votes}'`);
  const confirmation = confirmOrCancel(deps, { noTtyMessage: 'changing the expected votes risks a split brain, and there is no terminal to confirm it' });
  const inv = deps.inventory();
  const [nodeInv] = inventoryNodes(inv, [opts.node]);
  if (!nodeInv) throw new UsageError('--node is required');
  const t = deps.transport([nodeInv]);
  const reading = await deps.progress.start(`reading the quorum of ${opts.node}`);
  const before = await readStates(t, [opts.node]);
  const unread = nothingRead(before);
  if (unread) throw unread;
  const m = before.get(opts.node)!;
  reading.succeed(`read ${opts.node}`);
  const decision = planExpected({ node: opts.node, votes: opts.votes }, m, { read: readMembership, timing: opts.timing ?? DEFAULT_TIMING });
  if (decision.kind === 'refused') throw new PreflightError(`cannot set expected votes: ${decision.problems.join('; ')}`);
  if (decision.kind === 'unchanged') {
    return {
      command: COMMAND,
      result: { action: 'expected', cluster: decision.cluster, outcome: 'unchanged', summary: `${opts.node} already expects ${opts.votes} vote(s): nothing to do`, members: m.kind === 'member' ? m.configured : [], steps: [] },
      exitCode: 0,
      warnings: [],
    };
  }
  const warnings = [`risk: ${decision.risk}`];
  return previewOrRunPlan<PlanResult, ClusterChangeResult>(deps, t, decision.plan, {
    preview: (plan) => ({ command: COMMAND, result: { title: decision.plan.title, plan }, exitCode: 0, warnings }),
    confirm: () =>
      confirmation.ask({
        preface: `${deps.theme.warn} ${decision.risk}\n`,
        message: `Type ${opts.node} to set the expected votes on it to ${opts.votes}:`,
        typed: opts.node,
        mismatch: 'expected votes were not changed',
        untouched: 'expected votes were not changed',
      }),
    options: { lock: scopeOfViews(before.values(), inv.nodes.map((n) => n.name)) },
    then: async ({ run, steps }) => {
      const members = m.kind === 'member' ? m.configured : [];
      if (run.ok) {
        return {
          command: COMMAND,
          result: { action: 'expected', cluster: decision.cluster, outcome: 'set', summary: `${opts.node} now expects ${opts.votes} vote(s) in cluster '${decision.cluster}'`, members, steps },
          exitCode: 0,
          warnings,
        };
      }
      const after = await readStates(t, [opts.node]);
      const recovery = pvxCommandLine(inv, ['cluster', 'expected', String(opts.votes), '--node', opts.node, '--yes']);
      const { error } = failureError(deps, run, `setting expected votes on ${opts.node}`, before, after, recovery);
      return {
        command: COMMAND,
        result: { action: 'expected', cluster: decision.cluster, outcome: 'failed', summary: error.message.split('\n')[0] ?? '', members, steps, nodes: [...after.values()].map(nodeState) },
        exitCode: error.exitCode,
        warnings,
        error,
      };
    },
  });
}
