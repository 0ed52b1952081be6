/** The plan of `pvx cluster remove-node` (reference §1.6, §2.1): delnode from a quorate member, then clean up. */
import { files, pveNodeDir, pvecm } from '../../pve/argv.js';
import { classifyPvecmDelnode, type PvecmDelnodeOutcome } from '../../pve/parse/pvecm-add-output.js';
import type { GuestResource } from '../../pve/parse/pvesh-resources.js';
import type { ExecResult } from '../../transport/types.js';
import { clusterProblem } from './verify.js';
import { describeMembership, waitForMembership, type Membership, type ReadWiring } from '../../facts/node.js';
import type { Plan, Step } from '../plan.js';

/** What `cluster remove-node` was asked for. */
export interface RemoveRequest {
  node: string;
  /** the quorate member that runs `pvecm delnode` */
  via: string;
  /** the user says the node is powered off for good */
  offlineConfirmed: boolean;
}

/** What was read before planning. */
export interface RemoveFacts {
  via: Membership;
  /** the node's own view, when pvx can reach it (absent when it is not in the inventory) */
  target?: Membership;
  /** guests the cluster places on the node */
  guests: readonly GuestResource[];
  /** /etc/pve/nodes/<node> exists (delnode leaves it behind) */
  nodeDirExists: boolean;
  /** a QDevice the cluster has (its corosync.conf, or pvecm status on `via`) */
  qdevice?: { host?: string };
}

/** What `pvecm delnode` said, for the summary (CS_ERR_NOT_EXIST is explained there). */
export interface RemoveProgress {
  delnode?: PvecmDelnodeOutcome;
}

/** What to do. */
export type RemoveDecision =
  | { kind: 'unchanged'; cluster: string; members: string[] }
  | { kind: 'refused'; problems: string[]; notQuorate?: boolean; usage?: boolean; hint?: string }
  | { kind: 'plan'; plan: Plan; cluster: string; members: string[]; cleanupOnly: boolean; warnings: string[]; progress: RemoveProgress };

/** Why a `pvecm delnode` run did not remove the node, or undefined. */
export function delnodeFailure(o: PvecmDelnodeOutcome): string | undefined {
  switch (o.kind) {
    case 'removed':
      return undefined;
    case 'self':
      return `${o.message} (run it from another member)`;
    case 'no-quorum':
      return `${o.message} (the member lost quorum)`;
    case 'unknown-node':
      return o.message;
    case 'failed':
      return `pvecm delnode failed: ${o.message}`;
    case 'unknown':
      return `pvecm delnode printed nothing recognisable${o.message ? ` (${o.message})` : ''}`;
  }
}

/** Decide and plan a node removal. */
export function planRemoveNode(req: RemoveRequest, facts: RemoveFacts, w: ReadWiring): RemoveDecision {
  const { via } = facts;
  if (req.node === req.via) return { kind: 'refused', usage: true, problems: [`${req.node} cannot remove itself: pass --via <another member>`] };
  if (via.kind !== 'member') return { kind: 'refused', problems: [`${req.via} is not a cluster member: it is ${describeMembership(via)}`] };
  const dir = pveNodeDir(req.node);
  const remaining = via.configured.filter((n) => n !== req.node);
  const cleanup: Step = { node: req.via, title: `remove the stale directory ${dir}`, argv: files.removeTree(dir), mutates: true };
  if (!via.configured.includes(req.node)) {
    if (!facts.nodeDirExists) return { kind: 'unchanged', cluster: via.cluster, members: via.configured };
    if (!via.quorate) return { kind: 'refused', notQuorate: true, problems: [`${req.via} is not quorate, so /etc/pve is read-only there`] };
    return { kind: 'plan', plan: { title: `remove the stale ${dir}`, steps: [cleanup] }, cluster: via.cluster, members: via.configured, cleanupOnly: true, warnings: [], progress: {} };
  }
  const problems: string[] = [];
  if (!via.quorate) {
    return {
      kind: 'refused',
      notQuorate: true,
      problems: [`cluster '${via.cluster}' is not quorate as seen from ${req.via} (${via.totalVotes} of ${via.expectedVotes} votes); pvecm delnode needs quorum`],
    };
  }
  if (facts.qdevice) {
    // pve-docs pvecm.adoc: "If you want to add a new node or remove an existing one from a cluster with a QDevice setup, you need to remove the QDevice first."
    const host = facts.qdevice.host;
    return {
      kind: 'refused',
      problems: [`cluster '${via.cluster}' has a QDevice${host ? ` (QNetd host ${host})` : ''}: Proxmox asks to remove it before a node is removed (pvecm.adoc, "Adding/Deleting Nodes After QDevice Setup")`],
      hint: `run 'pvx cluster qdevice remove' first (every node must be online), then this again; once the node count is even, add it again: pvx cluster qdevice add ${host ?? '<QNetd address>'}`,
    };
  }
  if (facts.guests.length > 0) {
    const list = facts.guests.map((g) => `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}${g.name ? ` (${g.name})` : ''}`).join(', ');
    problems.push(`${req.node} still hosts ${facts.guests.length} guest(s): ${list}; migrate or remove them first (pvx migrate … --to <node>)`);
  }
  const live = via.online.includes(req.node) || facts.target?.kind === 'member';
  const warnings: string[] = [];
  if (live && !req.offlineConfirmed) {
    problems.push(`${req.node} still answers as a live member of '${via.cluster}'; power it off first (reference: never remove a running node), then pass --offline-confirmed`);
  } else if (live) {
    warnings.push(`${req.node} still looks like a live member; removing it on your word (--offline-confirmed): keep it off this network until it is reinstalled`);
  } else if (facts.target && facts.target.kind !== 'unreachable') {
    warnings.push(`${req.node} is still reachable over SSH with its old cluster configuration; do not let its corosync start again on this network (reinstall it before reuse)`);
  }
  if (problems.length > 0) return { kind: 'refused', problems };

  const progress: RemoveProgress = {};
  const delnode: Step = {
    node: req.via,
    title: `remove ${req.node} from cluster '${via.cluster}'`,
    argv: pvecm.delnode(req.node),
    mutates: true,
    timeoutMs: 120_000,
    judge: (r: ExecResult) => {
      const o = classifyPvecmDelnode(r);
      progress.delnode = o;
      return delnodeFailure(o);
    },
    verify: (t) =>
      waitForMembership(
        t,
        req.via,
        w.read,
        (m) => (m.kind === 'member' && !m.configured.includes(req.node) ? undefined : `${req.via} still lists ${req.node} after pvecm delnode`),
        w.timing.settleTimeoutMs,
        w.timing,
      ),
  };
  const want = { cluster: via.cluster, members: remaining, partition: Math.min(via.partitionSize, remaining.length) };
  const check: Step = {
    node: req.via,
    title: `check that ${req.via} sees ${remaining.length} member(s) and is quorate`,
    argv: pvecm.status(),
    mutates: false,
    run: async (t) => {
      const problem = await waitForMembership(t, req.via, w.read, (m) => clusterProblem(m, want), w.timing.settleTimeoutMs, w.timing);
      return problem ? { ok: false, message: problem } : { ok: true, message: `members ${remaining.join(', ')}` };
    },
  };
  const steps = [delnode, ...(facts.nodeDirExists ? [cleanup] : []), check];
  return { kind: 'plan', plan: { title: `remove ${req.node} from cluster '${via.cluster}'`, steps }, cluster: via.cluster, members: remaining, cleanupOnly: false, warnings, progress };
}
