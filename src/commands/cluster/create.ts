/** `pvx cluster create <name> --nodes a,b,c`: preflight, pvecm create on the first node, join the others, verify. */
import type { NodeFacts } from '../../checks/index.js';
import type { Deps } from '../../context.js';
import { PreflightError, UsageError } from '../../errors.js';
import { pveshGet } from '../../pve/argv.js';
import { clusterNameProblem } from '../../pve/names.js';
import { parseJoinInfo, type JoinInfo } from '../../pve/parse/pvesh-join-info.js';
import { ParseError } from '../../pve/parse/errors.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { assessClusterCreate, planClusterCreate, type ClusterNodeRequest } from '../../workflows/cluster/create.js';
import type { JoinAuth } from '../../workflows/cluster/join-steps.js';
import { DEFAULT_TIMING, type Membership, type Timing } from '../../facts/node.js';
import { duplicateAddressProblem, linksOf, managementAddress, parseLinkMap } from './links.js';
import { readMembership } from '../../facts/node.js';
import { inventoryNodes, parseNodeList, pvxCommandLine } from './nodes.js';
import { joinAuth, passwordFlagsFor, passwordSource, requirePasswordSource } from './password.js';
import { nothingRead } from '../shared/nothing-read.js';
import { scopeOfViews } from '../shared/cluster-lock.js';
import { failedChangeOutcome, nodeState, readStates, type ClusterChangeResult, type PlanResult } from '../shared/plan-run.js';
import { previewOrRunPlan } from '../shared/dry-run.js';
import { preflightGate } from '../shared/preflight-gate.js';
import { readJoinInfoSettled } from '../../facts/join-info.js';
import { twoNodeWarning } from './two-node-warning.js';

/** Options of `cluster create`. */
export interface CreateOptions {
  name: string;
  nodes: string;
  link0?: string | undefined;
  passwordFile?: string | undefined;
  useSsh?: boolean | undefined;
  /** tests shorten the waits */
  timing?: Timing;
}

const COMMAND = 'cluster create';

/** Run `cluster create`. */
export async function clusterCreate(deps: Deps, opts: CreateOptions): Promise<Outcome<ClusterChangeResult | PlanResult>> {
  // everything that can be wrong with the input is found before any node is touched
  const nameProblem = clusterNameProblem(opts.name);
  if (nameProblem) throw new UsageError(nameProblem);
  const names = parseNodeList(opts.nodes);
  const explicitLink0 = opts.link0 !== undefined ? parseLinkMap('--link0', opts.link0, names) : new Map<string, string>();
  const inv = deps.inventory();
  const invNodes = inventoryNodes(inv, names);
  const src = passwordSource(deps, opts);
  if (names.length > 1 && !deps.globals.dryRun) requirePasswordSource(src, `joining ${names.slice(1).join(', ')}`);
  const timing = opts.timing ?? DEFAULT_TIMING;
  const recovery = pvxCommandLine(inv, [
    'cluster', 'create', opts.name, '--nodes', names.join(','),
    ...(opts.link0 !== undefined ? ['--link0', opts.link0] : []),
    ...passwordFlagsFor(src),
  ]);

  const t = deps.transport(invNodes);
  const reading = await deps.progress.start(`reading the cluster state of ${names.join(', ')}`);
  const before = await readStates(t, names);
  const unread = nothingRead(before);
  if (unread) throw unread;
  reading.succeed(`read ${names.length} node(s): ${[...before.values()].map((m) => `${m.node} ${shortState(m)}`).join(', ')}`);
  const warnings: string[] = [];

  const request = (link0: ReadonlyMap<string, string>, facts?: ReadonlyMap<string, NodeFacts>): ClusterNodeRequest[] =>
    invNodes.map((n) => {
      const explicit = explicitLink0.get(n.name);
      const address = managementAddress(facts?.get(n.name));
      return { name: n.name, links: pick0(linksOf(n, explicit !== undefined ? { 0: explicit } : {}, link0.get(n.name))), ...(address ? { address } : {}) };
    });
  const first = assessClusterCreate(opts.name, names, before);
  if (first.kind === 'unchanged') return unchanged(opts.name, first.members, first.others, warnings);
  if (first.kind === 'refused') {
    throw new PreflightError(`cannot create cluster '${opts.name}': ${first.problems.join('; ')}`, { details: { problems: first.problems, nodes: [...before.values()].map(nodeState) } });
  }

  // joining an existing cluster: its join information names the member's address and fingerprint
  const joinRead = first.kind === 'extend' ? await readJoinInfoSettled(t, first.via.node, timing) : undefined;
  const joinInfo = joinRead && 'info' in joinRead ? joinRead.info : undefined;
  const gate = await preflightGate(deps, t, { purpose: 'create', nodes: invNodes, clusterName: opts.name });
  warnings.push(...gate.warnings);

  const nodes = request(gate.link0, gate.nodeFacts);
  const missing = nodes.filter((n) => n.links[0] === undefined).map((n) => n.name);
  if (missing.length > 0) {
    throw new UsageError(`no corosync link 0 address is known for ${missing.join(', ')}`, { hint: `pass --link0 ${missing.map((n) => `${n}=<ip>`).join(',')} or set link0 in the inventory` });
  }
  const dup = duplicateAddressProblem(nodes);
  if (dup) throw new UsageError(dup, { hint: 'give every node its own --link0 address' });

  // the prompt comes only now, when a join is certain; a dry run never asks
  let auth: JoinAuth = src.kind === 'ssh' ? { kind: 'ssh' } : { kind: 'password', password: () => '' };
  const needsJoin = first.kind === 'extend' || names.length > 1;
  if (needsJoin && !deps.globals.dryRun) auth = await joinAuth(deps, src, first.kind === 'extend' ? first.via.node : names[0]!);
  const decision = planClusterCreate({ cluster: opts.name, nodes, auth }, { membership: before, ...(joinInfo ? { joinInfo } : {}) }, { read: readMembership, timing });
  if (decision.kind !== 'plan') {
    // the facts did not change between the two decisions; only addresses did
    if (decision.kind === 'unchanged') return unchanged(opts.name, decision.members, decision.others, warnings);
    throw new PreflightError(`cannot create cluster '${opts.name}': ${decision.problems.join('; ')}`);
  }
  if (decision.members.length === 2 && !gate.twoNodeWarned) warnings.push(twoNodeWarning(opts.name, decision.members));

  return previewOrRunPlan(deps, t, decision.plan, {
    preview: (plan) => ({ command: COMMAND, result: { title: decision.plan.title, plan }, exitCode: 0, warnings }),
    // every node named, and the online members of a cluster it extends, are locked before the first change
    options: { lock: scopeOfViews(before.values(), inv.nodes.map((n) => n.name)) },
    then: ({ run, steps }) => {
      if (run.ok) {
        const summary = decision.creates
          ? `Created cluster '${opts.name}' with ${decision.members.join(', ')}: every node sees the same ${decision.members.length} member(s), quorate, /etc/pve writable`
          : `Joined ${decision.joiners.join(', ')} to cluster '${opts.name}': every node sees the same ${decision.members.length} member(s), quorate, /etc/pve writable`;
        return {
          command: COMMAND,
          result: { action: 'create', cluster: opts.name, outcome: decision.creates ? 'created' : 'joined', summary, members: decision.members, steps },
          exitCode: 0,
          warnings,
        };
      }
      return failedChangeOutcome(deps, t, {
        command: COMMAND, action: 'create', cluster: opts.name, what: `cluster create '${opts.name}'`,
        run, steps, before, nodes: names, recovery, warnings,
      });
    },
  });
}

function unchanged(cluster: string, members: string[], others: string[], warnings: string[]): Outcome<ClusterChangeResult> {
  if (others.length > 0) warnings.push(`cluster '${cluster}' also has ${others.join(', ')}, which --nodes does not list (create never removes members)`);
  return {
    command: COMMAND,
    result: { action: 'create', cluster, outcome: 'unchanged', summary: `Cluster '${cluster}' already has ${members.join(', ')} as members: nothing to do`, members, steps: [] },
    exitCode: 0,
    warnings,
  };
}

function shortState(m: Membership): string {
  switch (m.kind) {
    case 'member':
      return `in '${m.cluster}'`;
    case 'standalone':
      return 'standalone';
    default:
      return m.kind;
  }
}

function pick0(links: Record<number, string>): Record<number, string> {
  return links[0] !== undefined ? { 0: links[0] } : {};
}
