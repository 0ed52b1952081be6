/** The steps that add one node to a cluster: read the join information, `pvecm add`, wait for quorum. */
import { pvecm, pveshGet, type LinkAddresses } from '../../pve/argv.js';
import { classifyPvecmAdd, type PvecmAddOutcome } from '../../pve/parse/pvecm-add-output.js';
import { isValidFingerprint, normalizeFingerprint, type JoinInfo } from '../../pve/parse/pvesh-join-info.js';
import { readJoinInfoSettled } from '../../facts/join-info.js';
import type { ExecResult } from '../../transport/types.js';
import { quorumProblem, waitForMembership, type MembershipReader, type Timing } from '../../facts/node.js';
import type { Step } from '../plan.js';

/** How the joining node proves itself to the cluster. */
export type JoinAuth =
  /** API join: root password of the member, fed to `pvecm add` on stdin */
  | { kind: 'password'; password: () => string }
  /** `--use_ssh 1`: root SSH trust from the joining node to the member already exists */
  | { kind: 'ssh' };

/** One join. */
export interface JoinRequest {
  cluster: string;
  /** the node that joins */
  node: string;
  /** the member whose join information is read and whose API `pvecm add` talks to */
  via: string;
  /**
   * The member's management address as known when planning: the address its name resolves to on it
   * (`pve_addr` of the join information). `pvecm add` reaches the member there, over its API (8006)
   * or SSH (22), as the web UI's join does; the corosync link addresses may sit on a network that
   * has neither. The join information read just before `pvecm add` gives the address that runs.
   */
  viaAddress?: string;
  /** the joining node's corosync link addresses */
  links: LinkAddresses;
  auth: JoinAuth;
  /** the member's fingerprint when it was read before planning (printed instead of a placeholder) */
  knownFingerprint?: string;
  /** members in the cluster's partition before this join; afterwards one more must be there */
  partitionBefore: number;
}

/** What the join steps learn while running (the member's fingerprint and address, read just before `pvecm add`). */
export interface JoinProgress {
  fingerprint?: string;
  /** the member's management address (`pve_addr`), which `pvecm add` is given */
  address?: string | undefined;
  info?: JoinInfo;
  outcome?: PvecmAddOutcome;
}

/** The join-information problems that stop a join before it starts. */
export function joinInfoProblem(info: JoinInfo, req: Pick<JoinRequest, 'cluster' | 'node' | 'via' | 'links'>): string | undefined {
  if (info.clusterName !== req.cluster) return `${req.via} is in cluster '${info.clusterName}', not '${req.cluster}'`;
  if (info.nodes.some((n) => n.name === req.node)) {
    return `${req.node} is already in the configuration of cluster '${req.cluster}' (a half-finished join, or an old member with the same name): remove it first with 'pvx cluster remove-node ${req.node}'`;
  }
  const via = info.nodes.find((n) => n.name === req.via);
  if (!via) return `${req.via} is not listed in the join information of cluster '${req.cluster}'`;
  if (!isValidFingerprint(via.fingerprint)) return `the certificate fingerprint of ${req.via} in the join information is malformed ('${via.fingerprint}')`;
  const missing = info.links.filter((l) => req.links[l] === undefined);
  if (missing.length > 0) {
    return `cluster '${req.cluster}' uses corosync link(s) ${info.links.join(', ')}; ${req.node} needs an address for each (missing: ${missing.map((l) => `--link${l}`).join(', ')})`;
  }
  const extra = Object.keys(req.links).map(Number).filter((l) => !info.links.includes(l));
  if (extra.length > 0) return `cluster '${req.cluster}' has no corosync link ${extra.join(', ')}; give only ${info.links.map((l) => `--link${l}`).join(', ')}`;
  return undefined;
}

function addArgv(req: JoinRequest, address: string, fingerprint: string): string[] {
  return pvecm.add(address, {
    ...(req.auth.kind === 'password' ? { fingerprint } : {}),
    links: req.links,
    useSsh: req.auth.kind === 'ssh',
  });
}

/** Why a `pvecm add` run did not join `node`, judged from its output alone (its exit code says nothing). */
export function joinFailure(outcome: PvecmAddOutcome, node: string, via: string, exitCode: number): string | undefined {
  switch (outcome.kind) {
    case 'joined':
      return outcome.node === node ? undefined : `pvecm add reports it added '${outcome.node}', not '${node}'`;
    case 'refused':
      return `${node} refused to join: ${outcome.reasons.join('; ') || 'its own checks failed'}`;
    case 'cluster-error':
      return `the cluster refused the join: ${[outcome.message, ...outcome.details].join(' ')}`;
    case 'auth-failed':
      return `login to ${via} failed, wrong root password? (${outcome.message})`;
    case 'fingerprint-rejected':
      return `the certificate of ${via} did not match the pinned fingerprint (${outcome.message})`;
    case 'failed':
      return `pvecm add failed${exitCode === 0 ? ' (though it exited 0)' : ''}: ${outcome.message}`;
    case 'unknown':
      return `pvecm add exited ${exitCode} without reporting that ${node} was added${outcome.message ? ` (${outcome.message})` : ''}: the join did not finish`;
  }
}

/** Read the join information, run `pvecm add` on the joining node, then wait until it is part of a quorate partition. */
export function joinSteps(req: JoinRequest, read: MembershipReader, timing: Timing, progress: JoinProgress = {}): Step[] {
  const infoArgv = pveshGet('/cluster/config/join');
  const readInfo: Step = {
    node: req.via,
    title: `read the join information of cluster '${req.cluster}'`,
    argv: infoArgv,
    mutates: false,
    run: async (t) => {
      // right after another join the newest member's certificate may not have reached req.via yet
      const got = await readJoinInfoSettled(t, req.via, timing);
      if ('problem' in got) return { ok: false, message: `could not read the join information on ${req.via}: ${got.problem}` };
      const info = got.info;
      const problem = joinInfoProblem(info, req);
      if (problem) return { ok: false, message: problem };
      const via = info.nodes.find((n) => n.name === req.via);
      const fp = normalizeFingerprint(via?.fingerprint ?? '');
      progress.info = info;
      progress.fingerprint = fp;
      progress.address = via?.pveAddr;
      return { ok: true, message: `cluster '${info.clusterName}', ${info.nodes.length} node(s), ${req.via} at ${via?.pveAddr ?? '?'} with fingerprint ${fp}` };
    },
  };

  const add: Step = {
    node: req.node,
    title: `join cluster '${req.cluster}' through ${req.via}`,
    argv: addArgv(req, req.viaAddress ?? `<address of ${req.via}>`, req.knownFingerprint ?? `<fingerprint of ${req.via}>`),
    argvAtRun: () => {
      if (!progress.fingerprint) throw new Error(`the fingerprint of ${req.via} was not read`);
      const address = progress.address ?? req.viaAddress;
      if (!address) throw new Error(`the address of ${req.via} was not read`);
      return addArgv(req, address, progress.fingerprint);
    },
    mutates: true,
    // a join restarts pve-cluster and waits for quorum itself; minutes are normal on a busy cluster
    timeoutMs: 600_000,
    ...(req.auth.kind === 'password' ? { input: passwordLine(req.auth.password) } : {}),
    judge: (r: ExecResult) => {
      const outcome = classifyPvecmAdd(r);
      progress.outcome = outcome;
      const failure = joinFailure(outcome, req.node, req.via, r.exitCode);
      // pvecm never echoes the password; should some version do so, it must not reach a message
      const secret = req.auth.kind === 'password' ? req.auth.password() : '';
      const echoed = secret.length > 0 && `${r.stdout}${r.stderr}`.includes(secret);
      return failure !== undefined && echoed ? failure.split(secret).join('********') : failure;
    },
    verify: (t) =>
      waitForMembership(
        t,
        req.via,
        read,
        (m) => (m.kind === 'member' && m.configured.includes(req.node) ? undefined : `pvecm add reported success, but ${req.via} does not list ${req.node} as a member`),
        timing.settleTimeoutMs,
        timing,
      ),
  };

  const target = req.partitionBefore + 1;
  const quorum: Step = {
    node: req.node,
    title: `wait until ${req.node} is quorate with ${target} member(s)`,
    argv: pvecm.status(),
    mutates: false,
    run: async (t) => {
      const started = timing.now();
      const problem = await waitForMembership(t, req.node, read, (m) => quorumProblem(m, req.cluster, target), timing.quorumTimeoutMs, timing);
      if (problem) return { ok: false, message: `no quorum with ${target} member(s) after ${Math.round(timing.quorumTimeoutMs / 1000)} s: ${problem}` };
      return { ok: true, message: `quorate with ${target} member(s) after ${((timing.now() - started) / 1000).toFixed(1)} s` };
    },
  };
  return [readInfo, add, quorum];
}

/** pvecm reads exactly one line from a non-terminal stdin as the password. */
function passwordLine(password: () => string): () => string {
  return () => `${password()}\n`;
}
