/** What cluster workflows need to know of a node's membership, and bounded waiting for it to change. */
import type { Transport } from '../transport/types.js';

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
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Real timing: corosync notices a new member within seconds; pmxcfs propagates in well under a second. */
export const DEFAULT_TIMING: Timing = {
  quorumTimeoutMs: 120_000,
  settleTimeoutMs: 30_000,
  pollMs: 1_000,
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
    if (timing.now() + timing.pollMs > deadline) return why;
    await timing.sleep(timing.pollMs);
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
