/**
 * Outcome of `pvecm add`, `pvecm create` and `pvecm delnode` from their output (reference §1.3,
 * §1.4, §1.6). `pvecm add`/`create` exit 0 even when their worker task failed, so the text decides.
 */
import { meaningfulLines, type CommandOutput } from './text.js';

/** Failures recognised by their message; anything else has no reason. */
export type PvecmFailureReason =
  | 'invalid-parameters'
  | 'cwd-in-etc-pve'
  | 'no-password'
  | 'api-join-unsupported'
  | 'pmxcfs-not-mounted'
  | 'hostname-lookup'
  | 'no-quorum';

/** A failure with the most telling line of output. */
export interface PvecmFailed {
  kind: 'failed';
  message: string;
  reason?: PvecmFailureReason;
}

/** What a `pvecm add` run did. */
export type PvecmAddOutcome =
  | {
      kind: 'joined';
      node: string;
      /** `--force` pushed past failed local checks */
      forced: boolean;
      /** forced-past check failures, `cluster: ...` warnings, database backup failure */
      warnings: string[];
    }
  | { kind: 'refused'; reasons: string[] }
  | { kind: 'cluster-error'; message: string; details: string[] }
  | { kind: 'auth-failed'; message: string }
  | { kind: 'fingerprint-rejected'; message: string }
  | PvecmFailed
  | { kind: 'unknown'; message?: string };

/** What a `pvecm create` run did. */
export type PvecmCreateOutcome =
  | { kind: 'created'; authkeyGenerated: boolean }
  | { kind: 'already-exists'; message: string }
  | PvecmFailed
  | { kind: 'unknown'; message?: string };

/** What a `pvecm delnode` run did. */
export type PvecmDelnodeOutcome =
  | {
      kind: 'removed';
      killedNodeId?: number;
      /** corosync reported CS_ERR_NOT_EXIST: the node was already down, which is harmless */
      nodeWasDown: boolean;
    }
  | { kind: 'self'; message: string }
  | { kind: 'no-quorum'; message: string }
  | { kind: 'unknown-node'; node: string; message: string }
  | PvecmFailed
  | { kind: 'unknown'; message?: string };

const KNOWN_FAILURES: Array<[RegExp, PvecmFailureReason]> = [
  [/^400 Parameter verification failed\.$/, 'invalid-parameters'],
  [/^400 (not enough arguments|too many arguments|unable to parse)/, 'invalid-parameters'],
  [/^Navigate out of \S+ before running 'pvecm add'/, 'cwd-in-etc-pve'],
  [/^EOF while reading password/, 'no-password'],
  [/^Remote side is not able to use API for Cluster join!/, 'api-join-unsupported'],
  [/^pve configuration filesystem \(pmxcfs\) not mounted/, 'pmxcfs-not-mounted'],
  [/^(address lookup for '.*' did not find any IP address|hostname lookup '.*' failed)/, 'hostname-lookup'],
  [/^cluster not ready - no quorum\?/, 'no-quorum'],
];

function streams(out: CommandOutput): { stdout: string[]; stderr: string[]; all: string[] } {
  const stdout = meaningfulLines(typeof out?.stdout === 'string' ? out.stdout : '');
  const stderr = meaningfulLines(typeof out?.stderr === 'string' ? out.stderr : '');
  return { stdout, stderr, all: [...stdout, ...stderr] };
}

/** Parameter-verification errors read as one message: `<param>: <problem>` lines after the 400 line. */
function describeFailure(lines: readonly string[]): PvecmFailed | undefined {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    for (const [re, reason] of KNOWN_FAILURES) {
      if (!re.test(line)) continue;
      if (reason === 'invalid-parameters' && line.startsWith('400 Parameter verification failed')) {
        const params = lines.slice(i + 1).filter((l) => /^[a-z][\w-]*: /.test(l));
        return { kind: 'failed', reason, message: params.length > 0 ? params.join('; ') : line };
      }
      return { kind: 'failed', reason, message: line };
    }
  }
  return undefined;
}

/** The `* ...` lines that follow `detected the following error(s):`. */
function listedErrors(lines: readonly string[]): string[] {
  const at = lines.indexOf('detected the following error(s):');
  if (at < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('* ')) break;
    out.push(line.slice(2));
  }
  return out;
}

/** Classify `pvecm add` output (stdout carries the worker log, stderr the final error). */
export function classifyPvecmAdd(out: CommandOutput): PvecmAddOutcome {
  const { stderr, all } = streams(out);
  const forced = all.includes('WARNING : detected error but forced to continue!');
  const success = all.map((l) => /^successfully added node '(.+)' to cluster\.$/.exec(l)).find((m) => m !== null);
  if (success) {
    const warnings = [
      ...(forced ? listedErrors(all) : []),
      ...all.filter((l) => l.startsWith('cluster: ') || l.startsWith('failed to create backup of pre-join config database')),
    ];
    return { kind: 'joined', node: success[1] ?? '', forced, warnings };
  }

  const clusterErr = all.findIndex((l) => l.startsWith('An error occurred on the cluster node: '));
  if (clusterErr >= 0) {
    const details: string[] = [];
    for (const l of all.slice(clusterErr + 1)) {
      if (!/^[!*] /.test(l)) break;
      details.push(l);
    }
    return { kind: 'cluster-error', message: (all[clusterErr] ?? '').slice('An error occurred on the cluster node: '.length), details };
  }
  if (all.includes('Check if node may join a cluster failed!') || (all.includes('detected the following error(s):') && !forced)) {
    return { kind: 'refused', reasons: listedErrors(all) };
  }
  const auth = all.find((l) => /401\b.*authentication failure/.test(l));
  if (auth) return { kind: 'auth-failed', message: auth };
  const fp = all.find((l) => /fingerprint .*not verified, abort!$/i.test(l));
  if (fp) return { kind: 'fingerprint-rejected', message: fp };
  const known = describeFailure(all);
  if (known) return known;
  // without the success line, whatever the task printed last on stderr is why it stopped
  const last = stderr[stderr.length - 1];
  if (last !== undefined) return { kind: 'failed', message: last };
  return { kind: 'unknown' };
}

/** The lines a successful `pvecm create` prints (the first three come from corosync-keygen). */
const CREATE_PROGRESS = new Set([
  'Corosync Cluster Engine Authentication key generator.',
  'Gathering 2048 bits for key from /dev/urandom.',
  'Writing corosync key to /etc/corosync/authkey.',
  'Writing corosync config to /etc/pve/corosync.conf',
  'Restart corosync and cluster filesystem',
]);

/** Classify `pvecm create` output. */
export function classifyPvecmCreate(out: CommandOutput): PvecmCreateOutcome {
  const { stderr, all } = streams(out);
  const exists = all.find((l) => /^cluster config '.*corosync\.conf' already exists$/.test(l));
  if (exists) return { kind: 'already-exists', message: exists };
  const known = describeFailure(all);
  if (known) return known;
  // the progress lines may reach either stream depending on how the task output was captured
  const problems = stderr.filter((l) => !CREATE_PROGRESS.has(l));
  const last = problems[problems.length - 1];
  if (last !== undefined) return { kind: 'failed', message: last };
  if (all.includes('Restart corosync and cluster filesystem')) {
    return { kind: 'created', authkeyGenerated: all.some((l) => l.startsWith('Writing corosync key to ')) };
  }
  return { kind: 'unknown' };
}

/** Classify `pvecm delnode` output; `Could not kill node (error = CS_ERR_NOT_EXIST)` counts as success. */
export function classifyPvecmDelnode(out: CommandOutput): PvecmDelnodeOutcome {
  const { stderr, all } = streams(out);
  const self = all.find((l) => l === 'Cannot delete myself from cluster!');
  if (self) return { kind: 'self', message: self };
  const noQuorum = all.find((l) => l.startsWith('cluster not ready - no quorum?'));
  if (noQuorum) return { kind: 'no-quorum', message: noQuorum };
  const unknownNode = all.map((l) => /^Node\/IP: (.*) is not a known host of the cluster\.$/.exec(l)).find((m) => m !== null);
  if (unknownNode) return { kind: 'unknown-node', node: unknownNode[1] ?? '', message: unknownNode[0] };
  const known = describeFailure(all);
  if (known) return known;

  const killed = all.map((l) => /^Killing node (\d+)$/.exec(l)).find((m) => m !== null);
  const notExist = all.some((l) => l === 'Could not kill node (error = CS_ERR_NOT_EXIST)');
  const otherErrors = stderr.filter((l) => l !== 'Could not kill node (error = CS_ERR_NOT_EXIST)');
  const failedExit = out.exitCode !== undefined && out.exitCode !== 0;
  if (failedExit || (otherErrors.length > 0 && !killed)) {
    const message = otherErrors[otherErrors.length - 1];
    if (message !== undefined) return { kind: 'failed', message };
    if (failedExit) return { kind: 'failed', message: `exit code ${out.exitCode}` };
  }
  if (killed || notExist || out.exitCode === 0) {
    const res: PvecmDelnodeOutcome = { kind: 'removed', nodeWasDown: notExist };
    if (killed) res.killedNodeId = Number(killed[1]);
    return res;
  }
  return { kind: 'unknown' };
}
