/** The plan of `pvx cluster join`: one node joins the cluster of a member. */
import { pvecm, pveshGet, type LinkAddresses } from '../../pve/argv.js';
import { readJoinInfoSettled } from '../../facts/join-info.js';
import { normalizeFingerprint, type JoinInfo } from '../../pve/parse/pvesh-join-info.js';
import { joinInfoProblem, joinSteps, type JoinAuth } from './join-steps.js';
import { membershipStep, verifySteps, writeProbeSteps, type ExpectedCluster } from './verify.js';
import { describeMembership, type Membership, type ReadWiring } from '../../facts/node.js';
import type { Plan, Step } from '../plan.js';

/** What `cluster join` was asked for. */
export interface JoinCommandRequest {
  node: string;
  via: string;
  links: LinkAddresses;
  auth: JoinAuth;
}

/** What was read before planning. */
export interface JoinFacts {
  node: Membership;
  via: Membership;
  /** read from `via`; absent when it is not a member or could not be read */
  joinInfo?: JoinInfo;
  /** why the join information could not be read, when it could not */
  joinInfoProblem?: string;
}

/** What to do. */
export type JoinDecision =
  | { kind: 'unchanged'; cluster: string; members: string[] }
  /** `usage` marks problems with the request (a missing link address), not with the nodes */
  | { kind: 'refused'; problems: string[]; usage?: boolean; notQuorate?: boolean }
  /** `finishing`: the end of a join cut off after `pvecm add`, which runs no `pvecm add` */
  | { kind: 'plan'; plan: Plan; cluster: string; members: string[]; finishing?: boolean };

/**
 * The end of a join that was cut off after `pvecm add`: wait for the node as a quorate member, then
 * do what `pvecm add` does last and what was maybe never done: `pvecm updatecerts` makes the node's
 * directory in /etc/pve/nodes and its certificate there (pveproxy runs it at start too, but gives up
 * after 80 s without quorum). Only then can a file be written in that directory, and only with that
 * certificate does any member's `pvesh get /cluster/config/join` work, so no further node could join
 * without it; reading it proves the cluster can take the next one.
 */
function finishSteps(req: JoinCommandRequest, want: ExpectedCluster, w: ReadWiring): Step[] {
  const info = pveshGet('/cluster/config/join');
  return [
    membershipStep(req.via, want, w.read, w.timing),
    membershipStep(req.node, want, w.read, w.timing),
    { node: req.node, title: `make the missing files of ${req.node} in /etc/pve, its certificate among them`, argv: pvecm.updatecerts(), mutates: true, timeoutMs: 120_000 },
    ...writeProbeSteps(req.via),
    ...writeProbeSteps(req.node),
    {
      node: req.via,
      title: `check that ${req.via} can give the join information (every member's certificate is in /etc/pve)`,
      argv: info,
      mutates: false,
      run: async (t) => {
        const got = await readJoinInfoSettled(t, req.via, w.timing);
        if ('problem' in got) return { ok: false, message: `the join information of cluster '${want.cluster}' cannot be read on ${req.via}: ${got.problem}` };
        const listed = got.info.nodes.some((n) => n.name === req.node);
        return listed ? { ok: true, message: `${got.info.nodes.length} node(s), ${req.node} among them` } : { ok: false, message: `the join information on ${req.via} does not list ${req.node}` };
      },
    },
  ];
}

/** Decide and plan one join. */
export function planClusterJoin(req: JoinCommandRequest, facts: JoinFacts, w: ReadWiring): JoinDecision {
  const { via, node } = facts;
  if (req.node === req.via) return { kind: 'refused', problems: [`--via must name a member other than ${req.node}`], usage: true };
  if (via.kind !== 'member') return { kind: 'refused', problems: [`${req.via} is not a cluster member: it is ${describeMembership(via)}`] };
  if (node.kind === 'member') {
    if (node.cluster !== via.cluster) return { kind: 'refused', problems: [`${req.node} is already in another cluster, '${node.cluster}'`] };
    // done only when the member gives join information that lists the node: pvecm add cut off before
    // its last step leaves a quorate member without its files in /etc/pve, and a cluster no node can join
    const listed = facts.joinInfo?.nodes.some((n) => n.name === req.node) ?? false;
    if (node.quorate && via.configured.includes(req.node) && listed) return { kind: 'unchanged', cluster: via.cluster, members: via.configured };
    // a join that was cut off after pvecm add (a node down, a lost connection): nothing to run again,
    // but it is not done until the node is a quorate member as its cluster lists it, its files made
    const want = { cluster: via.cluster, members: [...new Set([...via.configured, req.node])].sort(), partition: via.partitionSize };
    return {
      kind: 'plan',
      plan: { title: `finish joining ${req.node} to cluster '${via.cluster}': wait until it is a quorate member`, steps: finishSteps(req, want, w) },
      cluster: via.cluster,
      members: want.members,
      finishing: true,
    };
  }
  if (node.kind !== 'standalone') return { kind: 'refused', problems: [`${req.node} ${describeMembership(node)}`] };
  if (!via.quorate) {
    return { kind: 'refused', notQuorate: true, problems: [`cluster '${via.cluster}' is not quorate as seen from ${req.via} (${via.totalVotes} of ${via.expectedVotes} votes); a node can only join a quorate cluster`] };
  }
  const info = facts.joinInfo;
  if (!info) return { kind: 'refused', problems: [`the join information of cluster '${via.cluster}' could not be read on ${req.via}${facts.joinInfoProblem ? `: ${facts.joinInfoProblem}` : ''}`] };
  const problem = joinInfoProblem(info, { cluster: via.cluster, node: req.node, via: req.via, links: req.links });
  if (problem) return { kind: 'refused', problems: [problem], usage: /needs an address|has no corosync link/.test(problem) };
  const viaInfo = info.nodes.find((n) => n.name === req.via);
  // the management address, as the web UI joins: not a corosync link address, which may be on a network without 8006 and 22
  const viaAddress = viaInfo?.pveAddr;
  if (!viaAddress) return { kind: 'refused', problems: [`the join information lists no address for ${req.via}`] };
  const members = [...new Set([...via.configured, req.node])].sort();
  const steps = [
    ...joinSteps(
      { cluster: via.cluster, node: req.node, via: req.via, viaAddress, links: req.links, auth: req.auth, partitionBefore: via.partitionSize, ...(viaInfo ? { knownFingerprint: normalizeFingerprint(viaInfo.fingerprint) } : {}) },
      w.read,
      w.timing,
    ),
    ...verifySteps([req.via, req.node], { cluster: via.cluster, members, partition: via.partitionSize + 1 }, w.read, w.timing),
  ];
  return { kind: 'plan', plan: { title: `join ${req.node} to cluster '${via.cluster}' through ${req.via}`, steps }, cluster: via.cluster, members };
}
