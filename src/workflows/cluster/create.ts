/** The plan of `pvx cluster create`: from the requested nodes and what each node is now. */
import { pvecm, type LinkAddresses } from '../../pve/argv.js';
import { classifyPvecmCreate } from '../../pve/parse/pvecm-add-output.js';
import { normalizeFingerprint, type JoinInfo } from '../../pve/parse/pvesh-join-info.js';
import type { ExecResult } from '../../transport/types.js';
import { joinSteps, type JoinAuth } from './join-steps.js';
import { verifySteps } from './verify.js';
import { describeMembership, quorumProblem, waitForMembership, type Membership, type ReadWiring } from '../../facts/node.js';
import type { Plan, Step } from '../plan.js';

/** A requested node: its name and its corosync link addresses (link 0 at least). */
export interface ClusterNodeRequest {
  name: string;
  links: LinkAddresses;
  /** its management address: the one its name resolves to on it, where its API and SSH listen */
  address?: string;
}

/** What `cluster create` was asked for; the first node creates the cluster. */
export interface CreateRequest {
  cluster: string;
  nodes: readonly ClusterNodeRequest[];
  auth: JoinAuth;
}

/** What was read before planning. */
export interface CreateFacts {
  /** every requested node's membership */
  membership: ReadonlyMap<string, Membership>;
  /** the join information of the existing cluster, read from `via` when the cluster exists */
  joinInfo?: JoinInfo;
}

/** What to do. */
export type CreateDecision =
  /** every requested node is already a member: nothing to do */
  | { kind: 'unchanged'; members: string[]; /** members not requested */ others: string[] }
  /** the nodes are in a state the plan cannot start from */
  | { kind: 'refused'; problems: string[] }
  | {
      kind: 'plan';
      plan: Plan;
      /** true when `pvecm create` runs (no requested node was in the cluster yet) */
      creates: boolean;
      /** the member the others join through */
      via: string;
      joiners: string[];
      /** configured members at the end */
      members: string[];
    };

/** Where the requested nodes stand: what create would do, before any address is known. */
export type CreateAssessment =
  | Extract<CreateDecision, { kind: 'unchanged' | 'refused' }>
  | { kind: 'create' }
  | { kind: 'extend'; via: Extract<Membership, { kind: 'member' }>; joiners: string[]; configured: string[] };

/** Assess the requested nodes' memberships: nothing to do, refuse, create afresh, or join the missing ones. */
export function assessClusterCreate(cluster: string, names: readonly string[], membership: ReadonlyMap<string, Membership>): CreateAssessment {
  const problems: string[] = [];
  const state = (name: string): Membership => membership.get(name) ?? { node: name, kind: 'error', message: 'not read' };
  for (const name of names) {
    const m = state(name);
    if (m.kind === 'member' && m.cluster !== cluster) problems.push(`${name} is already in another cluster, '${m.cluster}'`);
    if (m.kind === 'corosync-down' || m.kind === 'error' || m.kind === 'unreachable') problems.push(`${name} ${describeMembership(m)}`);
  }
  if (problems.length > 0) return { kind: 'refused', problems };
  const members = names.map(state).filter((m): m is Extract<Membership, { kind: 'member' }> => m.kind === 'member');
  if (members.length === 0) return { kind: 'create' };

  // the cluster exists: every requested member must see the same configuration
  const first = members[0]!;
  for (const m of members.slice(1)) {
    if (m.configured.join(',') !== first.configured.join(',')) {
      problems.push(`${first.node} and ${m.node} report different members of '${cluster}' (${first.configured.join(', ')} vs ${m.configured.join(', ')}): two clusters with the same name?`);
    }
  }
  const standalone = names.filter((n) => state(n).kind === 'standalone');
  for (const name of standalone) {
    if (first.configured.includes(name)) {
      problems.push(`${name} is standalone but cluster '${cluster}' still lists it: remove it first with 'pvx cluster remove-node ${name} --offline-confirmed'`);
    }
  }
  if (problems.length > 0) return { kind: 'refused', problems };
  if (standalone.length === 0) {
    return { kind: 'unchanged', members: first.configured, others: first.configured.filter((n) => !names.includes(n)) };
  }
  const via = members.find((m) => m.quorate);
  if (!via) {
    return { kind: 'refused', problems: [`cluster '${cluster}' is not quorate (${first.node}: ${first.totalVotes} of ${first.expectedVotes} votes); a node can only join a quorate cluster`] };
  }
  return { kind: 'extend', via, joiners: standalone, configured: first.configured };
}

/** Decide and plan a cluster create; pure apart from the closures of steps that re-read state. */
export function planClusterCreate(req: CreateRequest, facts: CreateFacts, w: ReadWiring): CreateDecision {
  const a = assessClusterCreate(req.cluster, req.nodes.map((n) => n.name), facts.membership);
  if (a.kind === 'unchanged' || a.kind === 'refused') return a;
  if (a.kind === 'create') return freshCreate(req, w);
  const { via, joiners } = a;
  const viaReq = req.nodes.find((n) => n.name === via.node);
  const info = facts.joinInfo;
  const viaInfo = info?.nodes.find((n) => n.name === via.node);
  // joins go to the member's management address (pve_addr), as the web UI's do, never to a corosync link address
  const viaAddress = viaInfo?.pveAddr || viaReq?.address;
  const steps: Step[] = [];
  joiners.forEach((name, i) => {
    const links = req.nodes.find((n) => n.name === name)?.links ?? {};
    steps.push(
      ...joinSteps(
        {
          cluster: req.cluster,
          node: name,
          via: via.node,
          ...(viaAddress ? { viaAddress } : {}),
          links,
          auth: req.auth,
          partitionBefore: via.partitionSize + i,
          ...(viaInfo ? { knownFingerprint: normalizeFingerprint(viaInfo.fingerprint) } : {}),
        },
        w.read,
        w.timing,
      ),
    );
  });
  const members = [...new Set([...a.configured, ...joiners])].sort();
  steps.push(...verifySteps(req.nodes.map((n) => n.name), { cluster: req.cluster, members, partition: via.partitionSize + joiners.length }, w.read, w.timing));
  return {
    kind: 'plan',
    plan: { title: `join ${joiners.join(', ')} to cluster '${req.cluster}'`, steps },
    creates: false,
    via: via.node,
    joiners,
    members,
  };
}

function freshCreate(req: CreateRequest, w: ReadWiring): CreateDecision {
  const creator = req.nodes[0];
  if (!creator) return { kind: 'refused', problems: ['no node given'] };
  if (creator.links[0] === undefined) return { kind: 'refused', problems: [`no link 0 address known for ${creator.name}`] };
  const create: Step = {
    node: creator.name,
    title: `create cluster '${req.cluster}' on ${creator.name}`,
    argv: pvecm.create(req.cluster, creator.links),
    mutates: true,
    timeoutMs: 180_000,
    // pvecm create exits 0 even when its worker task failed (reference §0.3)
    judge: (r: ExecResult) => {
      const o = classifyPvecmCreate(r);
      if (o.kind === 'created') return undefined;
      if (o.kind === 'unknown') return `pvecm create exited ${r.exitCode} without its closing line 'Restart corosync and cluster filesystem': the cluster may not exist`;
      return `pvecm create failed: ${o.message}`;
    },
    verify: (t) => waitForMembership(t, creator.name, w.read, (m) => quorumProblem(m, req.cluster, 1), w.timing.quorumTimeoutMs, w.timing),
  };
  const steps: Step[] = [create];
  const joiners = req.nodes.slice(1);
  joiners.forEach((n, i) => {
    const viaAddress = creator.address !== undefined ? { viaAddress: creator.address } : {};
    steps.push(...joinSteps({ cluster: req.cluster, node: n.name, via: creator.name, ...viaAddress, links: n.links, auth: req.auth, partitionBefore: 1 + i }, w.read, w.timing));
  });
  const members = req.nodes.map((n) => n.name).sort();
  steps.push(...verifySteps(req.nodes.map((n) => n.name), { cluster: req.cluster, members, partition: members.length }, w.read, w.timing));
  return {
    kind: 'plan',
    plan: { title: `create cluster '${req.cluster}' with ${req.nodes.map((n) => n.name).join(', ')}`, steps },
    creates: true,
    via: creator.name,
    joiners: joiners.map((n) => n.name),
    members,
  };
}
