/** Final checks of a cluster change, from every node: the same members, quorum, a writable /etc/pve. */
import { files, pveNodeDir, pvecm } from '../../pve/argv.js';
import { quorumProblem, waitForMembership, type Membership, type MembershipReader, type Timing } from '../../facts/node.js';
import type { Step } from '../plan.js';

/** What every node must report at the end. */
export interface ExpectedCluster {
  cluster: string;
  /** the configured members, exactly */
  members: readonly string[];
  /** members that must be in the quorate partition */
  partition: number;
}

/** Why `m` disagrees with the expected cluster, or undefined. */
export function clusterProblem(m: Membership, want: ExpectedCluster): string | undefined {
  const q = quorumProblem(m, want.cluster, want.partition);
  if (q || m.kind !== 'member') return q;
  const expected = [...want.members].sort();
  if (m.configured.length !== expected.length || m.configured.some((n, i) => n !== expected[i])) {
    return `${m.node} lists members ${m.configured.join(', ') || '(none)'}, expected ${expected.join(', ')}`;
  }
  return undefined;
}

/** Name of the file written to prove /etc/pve accepts writes on a node. */
export function writeProbePath(node: string): string {
  return `${pveNodeDir(node)}/.pvx-write-check`;
}

/** A check that `node` sees exactly the expected members and is quorate with them. */
export function membershipStep(node: string, want: ExpectedCluster, read: MembershipReader, timing: Timing): Step {
  return {
    node,
    title: `check that ${node} sees ${want.members.length} member(s) of '${want.cluster}' and is quorate`,
    argv: pvecm.status(),
    mutates: false,
    run: async (t) => {
      const problem = await waitForMembership(t, node, read, (m) => clusterProblem(m, want), timing.settleTimeoutMs, timing);
      return problem ? { ok: false, message: problem } : { ok: true, message: `members ${[...want.members].sort().join(', ')}` };
    },
  };
}

/** A write and removal of a file in the node's /etc/pve/nodes/<node>/ (which `pvecm add` makes last, with `pvecm updatecerts`). */
export function writeProbeSteps(node: string): Step[] {
  const file = writeProbePath(node);
  return [
    { node, title: `check that /etc/pve is writable on ${node} (create a file)`, argv: files.touch(file), mutates: true },
    { node, title: `check that /etc/pve is writable on ${node} (remove the file)`, argv: files.remove(file), mutates: true },
  ];
}

/**
 * Per node: a membership check, then a write and removal of a file in its /etc/pve/nodes/<node>/.
 * The nodes are checked at once (one group): each node's three steps stay in order.
 */
export function verifySteps(nodes: readonly string[], want: ExpectedCluster, read: MembershipReader, timing: Timing): Step[] {
  return nodes.flatMap((node): Step[] => [membershipStep(node, want, read, timing), ...writeProbeSteps(node)]).map((s) => ({ ...s, group: 'verify' }));
}
