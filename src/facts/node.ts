/**
 * A node's state as pvx reads it: what the node says (`NodeView`: the facts of pvecm status,
 * /cluster/status and pveversion), the membership cluster workflows judge (`Membership`, derived from the view), and the
 * bounded wait for a membership to change. One reader serves `cluster status` and every workflow.
 */
import { PvxError, UnreachableError } from '../errors.js';
import { classifyPvecmStatus, type PvecmStatus } from '../pve/parse/pvecm-status.js';
import type { ClusterStatus } from '../pve/parse/pvesh-cluster-status.js';
import { ParseError, excerptOf } from '../pve/parse/errors.js';
import { clusterStatusOf, nodeReadArgv, parseNodeRead, pvecmStatusOf, pveVersionOf } from './node-read.js';
import type { Transport } from '../transport/types.js';

/** What one node said. */
export type NodeView =
  | { node: string; kind: 'member'; status: PvecmStatus; clusterStatus: ClusterStatus | undefined; pveVersion: string | null }
  | { node: string; kind: 'standalone'; pveVersion: string | null }
  | { node: string; kind: 'corosync-down'; pveVersion: string | null; message: string }
  | { node: string; kind: 'error'; message: string; pveVersion: string | null }
  | { node: string; kind: 'unreachable'; error: PvxError };

/**
 * Read one node in one round trip: what `pvecm status`, /cluster/status and `pveversion` say,
 * from the native sources they are built on (node-read.ts).
 */
export async function readNode(t: Transport, node: string): Promise<NodeView> {
  try {
    const run = await t.exec(node, nodeReadArgv(), { title: 'read the cluster state' });
    const parts = parseNodeRead(run);
    if (parts.size === 0) return { node, kind: 'error', message: `the cluster state read failed (exit ${run.exitCode}): ${excerptOf(run.stderr.trim() || run.stdout.trim())}`, pveVersion: null };
    const pveVersion = pveVersionOf(parts);
    const outcome = classifyPvecmStatus(pvecmStatusOf(parts));
    switch (outcome.kind) {
      case 'standalone':
        return { node, kind: 'standalone', pveVersion };
      case 'corosync-down':
        return { node, kind: 'corosync-down', pveVersion, message: outcome.message };
      case 'pmxcfs-down':
      case 'error':
        return { node, kind: 'error', message: outcome.message, pveVersion };
      case 'status':
        return { node, kind: 'member', status: outcome.status, clusterStatus: clusterStatusOf(parts), pveVersion };
    }
  } catch (e) {
    if (e instanceof UnreachableError) return { node, kind: 'unreachable', error: e };
    if (e instanceof ParseError) return { node, kind: 'error', message: e.message, pveVersion: null };
    throw e;
  }
}

/** One node's view of its cluster, as `pvecm status` and /cluster/status report it. */
export type Membership =
  | {
      node: string;
      kind: 'member';
      cluster: string;
      quorate: boolean;
      /** node names in the cluster configuration (online or not), sorted */
      configured: string[];
      /** configured nodes pmxcfs reports online, sorted */
      online: string[];
      /** members in corosync's partition as this node sees it */
      partitionSize: number;
      expectedVotes: number;
      totalVotes: number;
      /** a QDevice registered with corosync (pvecm status: the `Qdevice` flag and row); `voting`: it casts its votes here */
      qdevice?: { votes: number; voting: boolean };
    }
  | { node: string; kind: 'standalone' }
  | { node: string; kind: 'corosync-down'; message: string }
  | { node: string; kind: 'error'; message: string }
  | { node: string; kind: 'unreachable'; message: string };

/** Reads one node's membership (the command layer wires this to the `cluster status` reader). */
export type MembershipReader = (t: Transport, node: string) => Promise<Membership>;

/** Wiring of the plan steps that re-read state. */
export interface ReadWiring {
  read: MembershipReader;
  timing: Timing;
}

/** How long to wait for a cluster to settle, and how (tests pass a fake clock). */
export interface Timing {
  /** how long a new member may take to become part of a quorate partition */
  quorumTimeoutMs: number;
  /** how long a finished change may take to show in what nodes report */
  settleTimeoutMs: number;
  pollMs: number;
  /** between two membership reads (one cheap script per node, node-read.ts); pollMs when unset */
  membershipPollMs?: number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Real timing: corosync notices a new member within seconds; pmxcfs propagates in well under a second. */
export const DEFAULT_TIMING: Timing = {
  quorumTimeoutMs: 120_000,
  settleTimeoutMs: 30_000,
  pollMs: 1_000,
  // a membership read costs a few milliseconds on the node: a quorum that came is seen within a quarter second
  membershipPollMs: 250,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A node's state in a few words, for progress lines and failure reports. */
export function describeMembership(m: Membership): string {
  switch (m.kind) {
    case 'member':
      return `member of '${m.cluster}', ${m.quorate ? 'quorate' : 'NOT quorate'}, ${m.partitionSize} of ${m.configured.length || '?'} configured node(s) in its partition (${m.configured.join(', ')})`;
    case 'standalone':
      return 'standalone (not in a cluster)';
    case 'corosync-down':
      return `has a cluster configuration but corosync is not running (${m.message})`;
    case 'error':
      return `cluster state unreadable: ${m.message}`;
    case 'unreachable':
      return `unreachable: ${m.message}`;
  }
}

/**
 * Re-read `node` until `problem` says nothing is wrong or the time is up; returns the last
 * problem (undefined on success). Reads that throw count as a problem and are retried.
 */
export async function waitForMembership(
  t: Transport,
  node: string,
  read: MembershipReader,
  problem: (m: Membership) => string | undefined,
  timeoutMs: number,
  timing: Timing,
): Promise<string | undefined> {
  const deadline = timing.now() + timeoutMs;
  for (;;) {
    let why: string | undefined;
    try {
      why = problem(await read(t, node));
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    if (why === undefined) return undefined;
    const pollMs = timing.membershipPollMs ?? timing.pollMs;
    if (timing.now() + pollMs > deadline) return why;
    await timing.sleep(pollMs);
  }
}

/** Why `m` is not a quorate member of `cluster` with at least `partition` members in its partition. */
export function quorumProblem(m: Membership, cluster: string, partition: number): string | undefined {
  if (m.kind !== 'member') return `${m.node} is ${describeMembership(m)}`;
  if (m.cluster !== cluster) return `${m.node} is in cluster '${m.cluster}', not '${cluster}'`;
  if (!m.quorate) return `${m.node} is not quorate (${m.totalVotes} of ${m.expectedVotes} votes)`;
  if (m.partitionSize < partition) return `${m.node} sees ${m.partitionSize} of ${partition} members`;
  return undefined;
}

/** The membership a `cluster status` node view describes. */
export function membershipOf(v: NodeView): Membership {
  switch (v.kind) {
    case 'member': {
      const cs = v.clusterStatus;
      const st = v.status;
      const cluster = st.cluster?.name ?? cs?.cluster?.name;
      if (cluster === undefined) return { node: v.node, kind: 'error', message: 'pvecm status names no cluster' };
      // a member row left out would misstate the partition: not a view to change a cluster on
      const unread = st.unrecognized[0];
      if (unread !== undefined) return { node: v.node, kind: 'error', message: `pvecm status printed a membership row pvx cannot read: '${excerptOf(unread)}'` };
      const nodes = cs?.nodes ?? [];
      const m: Membership = {
        node: v.node,
        kind: 'member',
        cluster,
        quorate: st.quorum.quorate,
        configured: nodes.map((n) => n.name).sort(),
        online: nodes.filter((n) => n.online).map((n) => n.name).sort(),
        partitionSize: st.members.length,
        expectedVotes: st.quorum.expectedVotes,
        totalVotes: st.quorum.totalVotes,
      };
      // quorumtool prints the flag and the id-0 row together; either one alone still means a device is registered
      if (st.qdevice) m.qdevice = { votes: st.qdevice.votes, voting: st.qdevice.voting };
      else if (st.quorum.flags.includes('Qdevice')) m.qdevice = { votes: 0, voting: false };
      return m;
    }
    case 'standalone':
      return { node: v.node, kind: 'standalone' };
    case 'corosync-down':
      return { node: v.node, kind: 'corosync-down', message: v.message };
    case 'error':
      return { node: v.node, kind: 'error', message: v.message };
    case 'unreachable':
      return { node: v.node, kind: 'unreachable', message: v.error.message };
  }
}

/** Read one node's membership over the transport. */
export async function readMembership(t: Transport, node: string): Promise<Membership> {
  return membershipOf(await readNode(t, node));
}
