/** The plan of `pvx cluster expected`: lower (or raise) the expected votes of a partition, with the risk stated. */
import { pvecm } from '../pve/argv.js';
import type { ExecResult } from '../transport/types.js';
import { describeMembership, waitForMembership, type Membership, type ReadWiring } from './membership.js';
import type { Plan } from './plan.js';

/** What `cluster expected` was asked for. */
export interface ExpectedRequest {
  node: string;
  votes: number;
}

/** What to do. */
export type ExpectedDecision =
  | { kind: 'unchanged'; cluster: string }
  | { kind: 'refused'; problems: string[] }
  | { kind: 'plan'; plan: Plan; cluster: string; risk: string };

/** The risk of `pvecm expected`, in words a person acts on. */
export function expectedVotesRisk(req: ExpectedRequest, m: Extract<Membership, { kind: 'member' }>): string {
  const absent = m.configured.filter((n) => !m.online.includes(n));
  return (
    `setting expected votes to ${req.votes} lets the partition of ${req.node} (${m.totalVotes} vote(s) present) act as the whole cluster '${m.cluster}'. ` +
    `If the other node(s)${absent.length ? ` (${absent.join(', ')})` : ''} are still running and do the same, both sides write /etc/pve and may start the same guests: split brain and data loss. ` +
    `Only do this when the missing nodes are powered off, and undo it by bringing them back (corosync then recomputes the votes).`
  );
}

/** Why `pvecm expected` failed, from its output (corosync refuses values below the votes present). */
export function expectedFailure(r: ExecResult): string | undefined {
  if (r.exitCode === 0) return undefined;
  const msg = [...r.stderr.split('\n'), ...r.stdout.split('\n')].map((l) => l.trim()).filter(Boolean)[0] ?? `exit code ${r.exitCode}`;
  if (/CS_ERR_INVALID_PARAM/.test(msg)) return `${msg} (the value is below the votes present, or would make a quorate partition lose quorum)`;
  return msg;
}

/** Decide and plan `pvecm expected <votes>` on one node. */
export function planExpected(req: ExpectedRequest, node: Membership, w: ReadWiring): ExpectedDecision {
  if (node.kind !== 'member') return { kind: 'refused', problems: [`${req.node} is ${describeMembership(node)}`] };
  if (node.expectedVotes === req.votes) return { kind: 'unchanged', cluster: node.cluster };
  const argv = pvecm.expected(req.votes);
  return {
    kind: 'plan',
    cluster: node.cluster,
    risk: expectedVotesRisk(req, node),
    plan: {
      title: `set expected votes of '${node.cluster}' to ${req.votes} on ${req.node}`,
      steps: [
        {
          node: req.node,
          title: `set expected votes to ${req.votes} (was ${node.expectedVotes})`,
          argv,
          mutates: true,
          judge: expectedFailure,
          verify: (t) =>
            waitForMembership(
              t,
              req.node,
              w.read,
              (m) => (m.kind === 'member' && m.expectedVotes === req.votes ? undefined : `${req.node} reports ${m.kind === 'member' ? `${m.expectedVotes} expected votes` : describeMembership(m)}, not ${req.votes}`),
              w.timing.settleTimeoutMs,
              w.timing,
            ),
        },
      ],
    },
  };
}
