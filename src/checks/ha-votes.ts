/** `ha-votes`: HA needs at least three votes (or two nodes and a QDevice), or a node failure takes quorum and HA with it. */
import { finding } from './finding.js';
import type { Check, Finding } from './types.js';

const ID = 'ha-votes';

/** The ha-votes check: judged once, on the first node whose quorum could be read. */
export const haVotesCheck: Check = {
  id: ID,
  title: 'HA votes',
  purposes: ['ha'],
  run(ctx): Finding[] {
    for (const n of ctx.nodes) {
      const f = ctx.facts.get(n);
      if (!f?.reachable || !f.quorum.ok) continue;
      const q = f.quorum.value.quorum;
      const qdevice = q.flags.includes('Qdevice');
      if (q.expectedVotes >= 3) return [finding(ID, n, 'ok', `the cluster has ${q.expectedVotes} expected votes${qdevice ? ' (with a QDevice)' : ''}`)];
      return [
        finding(ID, n, 'fail', `the cluster has only ${q.expectedVotes} expected vote(s): when a node fails the rest lose quorum, so HA cannot recover anything`, {
          hint: 'add a third node, or a QDevice on a third machine (apt install corosync-qnetd there and corosync-qdevice on the nodes), then: pvx cluster qdevice add <host>',
        }),
      ];
    }
    // the quorum check already reports why no node's quorum could be read
    return [];
  },
};
