/** `pvx cluster join <node> --via <member>`: preflight, join one node with the member's fingerprint pinned, verify. */
import type { Deps } from '../../context.js';
import { NotQuorateError, PreflightError, UsageError } from '../../errors.js';
import type { Outcome } from '../../ui/report.js';
import { planClusterJoin, type JoinDecision } from '../../workflows/cluster/join.js';
import type { JoinAuth } from '../../workflows/cluster/join-steps.js';
import { DEFAULT_TIMING, type Timing } from '../../facts/node.js';
import { describePlan } from '../../workflows/plan.js';
import { readJoinInfo, readJoinInfoSettled } from '../../facts/join-info.js';
import { twoNodeWarning } from './two-node-warning.js';
import { linkAddress, linksOf, pickLinks } from './links.js';
import { readMembership } from '../../facts/node.js';
import { checkNodeName, inventoryNodes, pvxCommandLine } from './nodes.js';
import { joinAuth, passwordFlagsFor, passwordSource, requirePasswordSource } from './password.js';
import { nothingRead } from '../shared/nothing-read.js';
import { scopeOfViews } from '../shared/cluster-lock.js';
import { failedChangeOutcome, readStates, runPlanWithProgress, type ClusterChangeResult, type PlanResult } from '../shared/plan-run.js';
import { preflightGate } from '../shared/preflight-gate.js';
import { previewOrRun } from '../shared/dry-run.js';

/** Options of `cluster join`. */
export interface JoinOptions {
  node: string;
  via: string;
  /** `--link0` … `--link7` as given */
  links: Partial<Record<number, string>>;
  passwordFile?: string | undefined;
  useSsh?: boolean | undefined;
  timing?: Timing;
}

const COMMAND = 'cluster join';

function refusal(d: Extract<JoinDecision, { kind: 'refused' }>, node: string): Error {
  const msg = `cannot join ${node}: ${d.problems.join('; ')}`;
  if (d.usage) return new UsageError(msg);
  if (d.notQuorate) return new NotQuorateError(msg, { hint: 'bring the cluster back to quorum first (pvx cluster status shows who is missing)' });
  return new PreflightError(msg);
}

/** Run `cluster join`. */
export async function clusterJoin(deps: Deps, opts: JoinOptions): Promise<Outcome<ClusterChangeResult | PlanResult>> {
  checkNodeName('node', opts.node);
  checkNodeName('--via', opts.via);
  if (opts.node === opts.via) throw new UsageError(`--via must name a member other than ${opts.node}`);
  const explicit: Record<number, string> = {};
  for (const [k, v] of Object.entries(opts.links)) if (v !== undefined) explicit[Number(k)] = linkAddress(`--link${k}`, v);
  const inv = deps.inventory();
  const [nodeInv, viaInv] = inventoryNodes(inv, [opts.node, opts.via]);
  if (!nodeInv || !viaInv) throw new UsageError('a node and a member are needed');
  const src = passwordSource(deps, opts);
  if (!deps.globals.dryRun) requirePasswordSource(src, `joining ${opts.node}`);
  const timing = opts.timing ?? DEFAULT_TIMING;
  const recovery = pvxCommandLine(inv, [
    'cluster', 'join', opts.node, '--via', opts.via,
    ...Object.entries(explicit).flatMap(([k, v]) => [`--link${k}`, v]),
    ...passwordFlagsFor(src),
  ]);

  const t = deps.transport([viaInv, nodeInv]);
  const reading = await deps.progress.start(`reading the cluster state of ${opts.via} and ${opts.node}`);
  const before = await readStates(t, [opts.via, opts.node]);
  const unread = nothingRead(before);
  if (unread) throw unread;
  const via = before.get(opts.via)!;
  const node = before.get(opts.node)!;
  // a node already in the member's cluster is finished, not joined: one read of the join information
  // tells whether its join ended (it lists the node) or was cut off before its files were made
  const inCluster = via.kind === 'member' && node.kind === 'member' && node.cluster === via.cluster;
  const joinRead = via.kind !== 'member' ? undefined : inCluster ? await readJoinInfo(t, opts.via) : await readJoinInfoSettled(t, opts.via, timing);
  const joinInfo = joinRead && 'info' in joinRead ? joinRead.info : undefined;
  reading.succeed(`read ${opts.via} and ${opts.node}`);
  const wiring = { read: readMembership, timing };
  const facts = { node, via, ...(joinInfo ? { joinInfo } : {}), ...(joinRead && 'problem' in joinRead ? { joinInfoProblem: joinRead.problem } : {}) };
  const placeholder: JoinAuth = src.kind === 'ssh' ? { kind: 'ssh' } : { kind: 'password', password: () => '' };

  // decide with the addresses known so far: nothing to do, or a refusal, needs no preflight
  const provisional = planClusterJoin({ node: opts.node, via: opts.via, links: pickLinks(linksOf(nodeInv, explicit), joinInfo?.links ?? [0]), auth: placeholder }, facts, wiring);
  if (provisional.kind === 'unchanged') return unchanged(provisional.cluster, opts.node, provisional.members);
  if (provisional.kind === 'refused' && !provisional.problems.some((p) => /--link0\b/.test(p))) throw refusal(provisional, opts.node);
  // a join cut off after pvecm add: the plan left waits for the node to come up as a member; the
  // preflight of a new join would judge it while it still boots (its corosync links not yet up)
  if (provisional.kind === 'plan' && provisional.finishing) return runDecision(provisional, []);
  const cluster = via.kind === 'member' ? via.cluster : '';
  const extra = Object.keys(explicit).map(Number).filter((l) => !(joinInfo?.links ?? [0]).includes(l));
  if (extra.length > 0) throw new UsageError(`cluster '${cluster}' has no corosync link ${extra.join(', ')}; it uses ${(joinInfo?.links ?? [0]).map((l) => `--link${l}`).join(', ')}`);

  const gate = await preflightGate(deps, t, { purpose: 'join', nodes: [nodeInv], existingMember: viaInv, clusterName: cluster });
  const warnings = [...gate.warnings];
  const links = pickLinks(linksOf(nodeInv, explicit, gate.link0.get(opts.node)), joinInfo?.links ?? [0]);

  const auth = deps.globals.dryRun ? placeholder : await joinAuth(deps, src, opts.via);
  const decision = planClusterJoin({ node: opts.node, via: opts.via, links, auth }, facts, wiring);
  if (decision.kind === 'unchanged') return unchanged(decision.cluster, opts.node, decision.members);
  if (decision.kind === 'refused') throw refusal(decision, opts.node);
  if (decision.members.length === 2 && !gate.twoNodeWarned) warnings.push(twoNodeWarning(decision.cluster, decision.members));
  return runDecision(decision, warnings);

  function runDecision(d: Extract<JoinDecision, { kind: 'plan' }>, warnings: string[]): Promise<Outcome<ClusterChangeResult | PlanResult>> {
    return previewOrRun(deps, {
      preview: () => ({ command: COMMAND, result: { title: d.plan.title, plan: describePlan(d.plan) }, exitCode: 0, warnings }),
      run: async () => {
        // the node, the member and every other online member of its cluster are locked before the first change
        const { run, steps } = await runPlanWithProgress(deps, t, d.plan, { lock: scopeOfViews(before.values(), inv.nodes.map((n) => n.name)) });
        if (run.ok) {
          return {
            command: COMMAND,
            result: {
              action: 'join',
              cluster: d.cluster,
              outcome: 'joined',
              summary: `Joined ${opts.node} to cluster '${d.cluster}': ${opts.via} and ${opts.node} see the same ${d.members.length} member(s), quorate, /etc/pve writable`,
              members: d.members,
              steps,
            },
            exitCode: 0,
            warnings,
          };
        }
        return failedChangeOutcome(deps, t, {
          command: COMMAND, action: 'join', cluster: d.cluster, what: `joining ${opts.node} to '${d.cluster}'`,
          run, steps, before, nodes: [opts.via, opts.node], recovery, warnings,
        });
      },
    });
  }
}

function unchanged(cluster: string, node: string, members: string[]): Outcome<ClusterChangeResult> {
  return {
    command: COMMAND,
    result: { action: 'join', cluster, outcome: 'unchanged', summary: `${node} is already a member of cluster '${cluster}': nothing to do`, members, steps: [] },
    exitCode: 0,
    warnings: [],
  };
}
