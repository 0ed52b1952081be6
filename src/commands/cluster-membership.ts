/** Membership as cluster workflows need it, read with the same reader as `cluster status`. */
import { excerptOf } from '../pve/parse/errors.js';
import type { Transport } from '../transport/types.js';
import type { Membership } from '../workflows/membership.js';
import { readNode, type NodeView } from './cluster-status.js';

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
