/** `two-node`: a cluster of two votes loses quorum with either node; warn and suggest a QDevice. */
import { finding } from './finding.js';
import type { Check, CheckContext, Finding } from './types.js';

const ID = 'two-node';

/** Votes the cluster would have after the run: existing members' votes plus one per joining node. */
function resultingVotes(ctx: CheckContext): { votes: number; node: string; peer?: string } | undefined {
  if (ctx.purpose === 'create') {
    const creator = ctx.roles.creator;
    if (creator === undefined) return undefined;
    return { votes: ctx.nodes.length, node: creator, ...(ctx.nodes[1] !== undefined ? { peer: ctx.nodes[1] } : {}) };
  }
  const member = ctx.roles.member;
  const f = member !== undefined ? ctx.facts.get(member) : undefined;
  if (member === undefined || !f?.reachable) return undefined;
  let existing: number | undefined;
  if (f.quorum.ok) existing = f.quorum.value.quorum.expectedVotes;
  else if (f.cluster.ok && f.cluster.value) existing = f.cluster.value.nodes.reduce((s, n) => s + n.quorumVotes, 0);
  if (existing === undefined) return undefined;
  return { votes: existing + ctx.roles.joining.length, node: member, ...(ctx.roles.joining[0] !== undefined ? { peer: ctx.roles.joining[0] } : {}) };
}

/** The two-node check. */
export const twoNodeCheck: Check = {
  id: ID,
  title: 'Two-node cluster',
  purposes: ['create', 'join'],
  run(ctx): Finding[] {
    const r = resultingVotes(ctx);
    if (!r) return [];
    if (r.votes === 2) {
      return [
        finding(ID, r.node, 'warn', 'the cluster would have 2 votes: when either node is down the other loses quorum and /etc/pve turns read-only', {
          peer: r.peer,
          hint: 'add a third node, or a QDevice on a third machine: apt install corosync-qnetd there, corosync-qdevice on both nodes, then pvx cluster qdevice add <its IP>',
        }),
      ];
    }
    return [finding(ID, r.node, 'ok', `the cluster would have ${r.votes} vote(s)`)];
  },
};
