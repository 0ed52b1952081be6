/**
 * `pvx cluster qdevice add|remove`: the rules `pvecm qdevice setup|remove` applies (PVE/CLI/pvecm.pm),
 * checked before anything changes, the plans, and the vote check corosync-quorumtool proves them by.
 */
import { pvecm, quorumtoolStatus, QNETD_PORT } from '../../pve/argv.js';
import { ParseError } from '../../pve/parse/errors.js';
import { parseQuorumtoolStatus } from '../../pve/parse/quorumtool.js';
import type { Membership, Timing } from '../../facts/node.js';
import type { ExecResult, Transport } from '../../transport/types.js';
import type { Plan, Step } from '../plan.js';

/** One preflight check of a QDevice change, as the result and the refusal list them. */
export interface QdeviceCheck {
  id: string;
  node: string;
  status: 'ok' | 'fail';
  message: string;
}

/** The votes corosync-quorumtool showed on one node after the change. */
export interface QdeviceVotes {
  node: string;
  expectedVotes: number;
  totalVotes: number;
  /** the `Qdevice` flag of the votequorum block */
  qdevice: boolean;
}

/** What the votes must be once the change took. */
export interface VotesWanted {
  expectedVotes: number;
  qdevice: boolean;
}

/**
 * The votes a QDevice brings (pvecm.pm setup_qdevice): an even node count gets algorithm ffsplit
 * with `votes: 1`; an odd count (only with --force) gets lms, for which corosync gives the device
 * the node votes minus one (votequorum.c).
 */
export function qdeviceVotes(nodeCount: number): { algorithm: 'ffsplit' | 'lms'; votes: number } {
  return nodeCount % 2 === 1 ? { algorithm: 'lms', votes: Math.max(nodeCount - 1, 0) } : { algorithm: 'ffsplit', votes: 1 };
}

/** pvecm.pm's refusal of an odd node count without --force, word for word. */
export const ODD_COUNT_MESSAGE = 'Clusters with an odd node count are not officially supported!';

type Member = Extract<Membership, { kind: 'member' }>;

/** The membership checks both directions share: every cluster node readable, a member of the same cluster, quorate, online (pvecm: "All nodes must be online!"). */
export function membershipChecks(anchor: Member, views: ReadonlyMap<string, Membership>): QdeviceCheck[] {
  const checks: QdeviceCheck[] = [];
  for (const n of anchor.configured) {
    const v = views.get(n);
    if (!v) {
      checks.push({ id: 'node-reachable', node: n, status: 'fail', message: `${n} is a node of '${anchor.cluster}' but not in the inventory: pvx cannot check it` });
      continue;
    }
    if (v.kind === 'unreachable') checks.push({ id: 'node-reachable', node: n, status: 'fail', message: `${n} is unreachable: ${v.message}` });
    else if (v.kind !== 'member') checks.push({ id: 'node-quorate', node: n, status: 'fail', message: `${n} is not a cluster member it can be checked as: ${v.kind === 'standalone' ? 'standalone' : v.message}` });
    else if (v.cluster !== anchor.cluster) checks.push({ id: 'node-quorate', node: n, status: 'fail', message: `${n} is in cluster '${v.cluster}', not '${anchor.cluster}'` });
    else if (!v.quorate) checks.push({ id: 'node-quorate', node: n, status: 'fail', message: `${n} is not quorate (${v.totalVotes} of ${v.expectedVotes} votes)` });
    else checks.push({ id: 'node-quorate', node: n, status: 'ok', message: `${n} is a quorate member of '${anchor.cluster}'` });
  }
  const offline = anchor.configured.filter((n) => !anchor.online.includes(n));
  checks.push(
    offline.length > 0
      ? { id: 'all-online', node: anchor.node, status: 'fail', message: `All nodes must be online (pvecm refuses otherwise): ${offline.join(', ')} ${offline.length === 1 ? 'is' : 'are'} offline` }
      : { id: 'all-online', node: anchor.node, status: 'ok', message: `all ${anchor.configured.length} node(s) online` },
  );
  return checks;
}

/** The node-count rule of pvecm qdevice setup: an odd count is refused unless --force. */
export function nodeCountCheck(anchor: Member, force: boolean): QdeviceCheck {
  const n = anchor.configured.length;
  if (n % 2 === 0) return { id: 'node-count', node: anchor.node, status: 'ok', message: `${n} nodes: an even count, algorithm ffsplit` };
  if (force) return { id: 'node-count', node: anchor.node, status: 'ok', message: `${n} nodes: an odd count, set up anyway (--force; algorithm lms)` };
  return { id: 'node-count', node: anchor.node, status: 'fail', message: `${ODD_COUNT_MESSAGE} (${n} nodes; --force sets it up anyway with algorithm lms)` };
}

/** TCP to the QNetd port from one node, judged by the probe's exit code. */
export function tcpCheck(node: string, host: string, r: ExecResult): QdeviceCheck {
  const target = `${host}:${QNETD_PORT}`;
  if (r.exitCode === 0) return { id: 'qnetd-tcp', node, status: 'ok', message: `${node} reaches ${target}` };
  const why = r.exitCode === 124 ? 'timed out after 5 s' : r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`;
  return { id: 'qnetd-tcp', node, status: 'fail', message: `${node} cannot open TCP ${target}: ${why}` };
}

/** corosync-qdevice installed on one node (dpkg-query's Status). */
export function packageCheck(node: string, pkg: string, r: ExecResult): QdeviceCheck {
  if (r.exitCode === 0 && r.stdout.trim() === 'install ok installed') return { id: 'qdevice-package', node, status: 'ok', message: `${pkg} is installed on ${node}` };
  return { id: 'qdevice-package', node, status: 'fail', message: `${pkg} is not installed on ${node} (apt install ${pkg})` };
}

/** Root ssh from the setup node to the QNetd host, and corosync-qnetd answering there. */
export function qnetdCheck(node: string, host: string, r: ExecResult): QdeviceCheck {
  const last = r.stderr.trim().split('\n').pop() || r.stdout.trim().split('\n').pop() || `exit code ${r.exitCode}`;
  if (r.exitCode === 0) return { id: 'qnetd-running', node, status: 'ok', message: `root ssh from ${node} to ${host} works and corosync-qnetd runs there` };
  if (r.exitCode === 255) {
    return { id: 'qnetd-ssh', node, status: 'fail', message: `root ssh from ${node} to ${host} failed without a prompt (pvecm qdevice setup needs it): ${last}` };
  }
  if (r.exitCode === 127) return { id: 'qnetd-running', node, status: 'fail', message: `corosync-qnetd is not installed on ${host} (apt install corosync-qnetd there)` };
  return { id: 'qnetd-running', node, status: 'fail', message: `corosync-qnetd does not run on ${host}: ${last}` };
}

/** Why a `corosync-quorumtool -s` answer does not show the wanted votes, or undefined. */
export function votesProblem(node: string, r: ExecResult, want: VotesWanted): { problem?: string; votes?: QdeviceVotes } {
  // the tool exits 2 while the node is not quorate, still printing its view
  if (r.stdout.trim() === '') return { problem: `${node}: corosync-quorumtool -s printed nothing (${r.stderr.trim() || `exit code ${r.exitCode}`})` };
  let st;
  try {
    st = parseQuorumtoolStatus(r.stdout);
  } catch (e) {
    if (e instanceof ParseError) return { problem: `${node}: ${e.message}` };
    throw e;
  }
  const votes: QdeviceVotes = { node, expectedVotes: st.quorum.expectedVotes, totalVotes: st.quorum.totalVotes, qdevice: st.quorum.flags.includes('Qdevice') };
  const wrong: string[] = [];
  if (votes.expectedVotes !== want.expectedVotes) wrong.push(`${votes.expectedVotes} expected votes, not ${want.expectedVotes}`);
  if (votes.qdevice !== want.qdevice) wrong.push(want.qdevice ? 'no Qdevice flag' : 'still the Qdevice flag');
  if (want.qdevice && votes.totalVotes < want.expectedVotes) wrong.push(`${votes.totalVotes} of ${want.expectedVotes} votes present (the QDevice does not vote yet)`);
  if (!st.quorum.quorate) wrong.push('not quorate');
  return wrong.length > 0 ? { problem: `${node} shows ${wrong.join(', ')}`, votes } : { votes };
}

/** A step that polls `corosync-quorumtool -s` on `node` until the votes are as wanted; `seen` keeps the last reading. */
export function votesStep(t: Transport, node: string, want: VotesWanted, timeoutMs: number, timing: Timing, seen: Map<string, QdeviceVotes>): Step {
  return {
    node,
    title: `check the votes on ${node}: ${want.expectedVotes} expected${want.qdevice ? ', the Qdevice flag' : ', no Qdevice flag'}`,
    argv: quorumtoolStatus(),
    mutates: false,
    run: async () => {
      const deadline = timing.now() + timeoutMs;
      for (;;) {
        const r = await t.exec(node, quorumtoolStatus(), { timeoutMs: 30_000, title: `read the votes on ${node}` });
        const v = votesProblem(node, r, want);
        if (v.votes) seen.set(node, v.votes);
        if (!v.problem) return { ok: true, message: `${v.votes?.totalVotes} of ${v.votes?.expectedVotes} votes` };
        if (timing.now() + timing.pollMs > deadline) return { ok: false, message: v.problem };
        await timing.sleep(timing.pollMs);
      }
    },
  };
}

/** The plan of `qdevice add`: pvecm qdevice setup on one node, then the votes checked on every node. */
export function planQdeviceAdd(o: { setupNode: string; host: string; force: boolean; nodes: readonly string[]; cluster: string }, verify: (node: string) => Step): Plan {
  return {
    title: `add the QDevice ${o.host} to cluster '${o.cluster}'`,
    steps: [
      {
        node: o.setupNode,
        title: `set up the QDevice on ${o.host} (certificate exchange over root ssh: may take minutes)`,
        argv: pvecm.qdeviceSetup(o.host, o.force),
        mutates: true,
        timeoutMs: 900_000,
      },
      ...o.nodes.map(verify),
    ],
  };
}

/** The plan of `qdevice remove`: pvecm qdevice remove on one node, then the votes checked on every node. */
export function planQdeviceRemove(o: { node: string; host: string | undefined; nodes: readonly string[]; cluster: string }, verify: (node: string) => Step): Plan {
  return {
    title: `remove the QDevice${o.host ? ` ${o.host}` : ''} from cluster '${o.cluster}'`,
    steps: [
      { node: o.node, title: 'remove the QDevice (pvecm qdevice remove)', argv: pvecm.qdeviceRemove(), mutates: true, timeoutMs: 300_000 },
      ...o.nodes.map(verify),
    ],
  };
}
