/** The plan of `pvx cluster expected`: lower (or raise) the expected votes of a partition, with the risk stated. */
import { pvecm } from '../../pve/argv.js';
import type { ExecResult } from '../../transport/types.js';
import { describeMembership, waitForMembership, type Membership, type ReadWiring } from '../../facts/node.js';
import type { Plan } from '../plan.js';

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

type Member = Extract<Membership, { kind: 'member' }>;

/** The votes present as corosync counts them, in words: a QDevice casting its votes for this partition is one of them. */
export function votesPresentText(m: Member): string {
  const q = m.qdevice?.voting ? m.qdevice.votes : 0;
  return q > 0 ? `${m.totalVotes} vote(s) present: ${m.totalVotes - q} of the nodes, ${q} of the QDevice` : `${m.totalVotes} vote(s) present`;
}

/**
 * The values corosync accepts for `pvecm expected` (votequorum.c, setexpected): not below the votes
 * present (`Total votes`, which counts a QDevice's votes when it casts them here), and, in a quorate
 * partition, none that would make it lose quorum (quorum = expected / 2 + 1 must stay within them).
 */
export function expectedRange(m: Member): { min: number; max?: number } {
  return m.quorate ? { min: m.totalVotes, max: 2 * m.totalVotes - 1 } : { min: m.totalVotes };
}

/** The risk of `pvecm expected`, in words a person acts on. */
export function expectedVotesRisk(req: ExpectedRequest, m: Member): string {
  const absent = m.configured.filter((n) => !m.online.includes(n));
  return (
    `setting expected votes to ${req.votes} lets the partition of ${req.node} (${votesPresentText(m)}) act as the whole cluster '${m.cluster}'. ` +
    `If the other node(s)${absent.length ? ` (${absent.join(', ')})` : ''} are still running and do the same, both sides write /etc/pve and may start the same guests: split brain and data loss. ` +
    `Only do this when the missing nodes are powered off, and undo it by bringing them back (corosync then recomputes the votes).`
  );
}

/** The accepted values in words: `2 to 5`, or `2 or more`. */
export function rangeText(range: { min: number; max?: number }): string {
  return range.max !== undefined ? `${range.min} to ${range.max}` : `${range.min} or more`;
}

/** Why `pvecm expected` failed, from its output (corosync refuses values below the votes present); `range` is what it accepts. */
export function expectedFailure(r: ExecResult, range?: { min: number; max?: number }): string | undefined {
  if (r.exitCode === 0) return undefined;
  const msg = [...r.stderr.split('\n'), ...r.stdout.split('\n')].map((l) => l.trim()).filter(Boolean)[0] ?? `exit code ${r.exitCode}`;
  if (/CS_ERR_INVALID_PARAM/.test(msg)) {
    return `${msg} (the value is below the votes present, or would make a quorate partition lose quorum${range ? `: corosync accepts ${rangeText(range)} here` : ''})`;
  }
  return msg;
}

/** Decide and plan `pvecm expected <votes>` on one node. */
export function planExpected(req: ExpectedRequest, node: Membership, w: ReadWiring): ExpectedDecision {
  if (node.kind !== 'member') return { kind: 'refused', problems: [`${req.node} is ${describeMembership(node)}`] };
  if (node.expectedVotes === req.votes) return { kind: 'unchanged', cluster: node.cluster };
  const range = expectedRange(node);
  const argv = pvecm.expected(req.votes);
  return {
    kind: 'plan',
    cluster: node.cluster,
    risk: `${expectedVotesRisk(req, node)} corosync accepts ${rangeText(range)} here.`,
    plan: {
      title: `set expected votes of '${node.cluster}' to ${req.votes} on ${req.node}`,
      steps: [
        {
          node: req.node,
          title: `set expected votes to ${req.votes} (was ${node.expectedVotes})`,
          argv,
          mutates: true,
          judge: (r) => expectedFailure(r, range),
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
