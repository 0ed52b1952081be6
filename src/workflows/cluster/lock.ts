/**
 * The cluster lock: one changing pvx run per cluster at a time.
 *
 * Where it lives. PVE's own cluster-wide locks are folders under /etc/pve/priv/lock (mkdir is atomic
 * in pmxcfs, and pmxcfs expires them after 120 s unless touched), but pvx changes clusters exactly
 * where /etc/pve cannot be trusted: a teardown takes pmxcfs apart (local mode, read-only without
 * quorum), and create and join run on nodes that have no cluster yet. So the lock is a folder in a
 * node-local path on every node the run involves, `/run/lock/pvx-cluster` (mkdir is atomic on any
 * local file system; /run is a tmpfs, so a reboot, which ends every run on that node, clears it).
 * Its `owner.json` says who holds it: workstation host, user, pid, the pvx command line, a random
 * token of the run, and `since`/`heartbeat` in seconds of the NODE's clock (the script writes them,
 * so runs from workstations with different clocks judge ages alike).
 *
 * How it is taken. A run locks every node it reads or changes and every other online member it
 * knows of, in sorted order, one round trip per node (`sh -c` of the script below), all or nothing:
 * when one node refuses, the nodes already taken are released and the run stops before its first
 * change (exit 1, naming the holder). Sorted order means two runs over the same cluster meet at the
 * same first node, and since a held lock is refused, never waited for, they cannot deadlock.
 *
 * How it expires. The holder renews its heartbeat every minute; a lock whose heartbeat is older than
 * ten minutes is stale and the next acquirer takes it over (under a second folder, `<lock>.break`,
 * so that of two acquirers only one breaks it; a breaker that died leaves that folder, which counts
 * as abandoned after 60 s). A holder on the same workstation whose pid is gone is stale at once: the
 * runner asks again with that holder's token, and the script breaks the lock only if it still holds
 * that token. Release removes the folder only when it still holds the run's own token.
 */
import { z } from 'zod';
import { ParseError, excerptOf } from '../../pve/parse/errors.js';

/** The lock folder on every node. */
export const CLUSTER_LOCK_DIR = '/run/lock/pvx-cluster';
/** A holder whose heartbeat is older than this (seconds) has lost the lock. */
export const LOCK_STALE_SECONDS = 600;
/** How often a holder renews its heartbeat. */
export const LOCK_HEARTBEAT_MS = 60_000;
/** The `$0` of the script, so the lock commands are recognisable in a process list and the journal. */
export const LOCK_SCRIPT_NAME = 'pvx-lock';

/**
 * The lock script (POSIX sh, coreutils and sed only). `$1` is the action and `$2` the lock folder:
 *   acquire <dir> <owner JSON without its closing brace> <token> <stale seconds> [<token to break>]
 *   refresh <dir> <owner JSON without its closing brace> <token> <since>
 *   release <dir> <token>
 * It answers one line `pvx-lock <taken|took-over|held|refreshed|released|lost> <node's now>`, then
 * for took-over, held and lost the owner file as it was (nothing when there is none); exit 0. Any
 * other exit status is an error, told on stderr.
 */
export const CLUSTER_LOCK_SCRIPT = `set -u
act=$1 dir=$2
f=$dir/owner.json
now=$(date +%s) || exit 3
say() { printf 'pvx-lock %s %s\\n' "$1" "$now"; }
owner() { cat -- "$f" 2>/dev/null; }
age() {
  hb=$(sed -n 's/.*"heartbeat":\\([0-9][0-9]*\\).*/\\1/p' "$1/owner.json" 2>/dev/null | head -n 1)
  [ -n "$hb" ] || hb=$(date -r "$1" +%s 2>/dev/null) || hb=$now
  echo $((now - hb))
}
write() {
  printf '%s,"since":%s,"heartbeat":%s}\\n' "$1" "$2" "$now" >"$dir/owner.tmp" && mv -f -- "$dir/owner.tmp" "$f" && return 0
  rm -f -- "$dir/owner.tmp"
  return 1
}
mine() { grep -qF -- "\\"token\\":\\"$1\\"" "$f" 2>/dev/null; }
token() { case $1 in ''|*[!0-9a-f]*) echo "pvx-lock: bad token" >&2; exit 2;; esac; }
number() { case $1 in ''|*[!0-9]*) echo "pvx-lock: bad number '$1'" >&2; exit 2;; esac; }
case $act in
acquire)
  own=$3 tok=$4 stale=$5 brk=\${6:-}
  token "$tok"; number "$stale"; [ -z "$brk" ] || token "$brk"
  mkdir -p -- "\${dir%/*}" || exit 3
  if mkdir -- "$dir" 2>/dev/null; then
    write "$own" "$now" || { rmdir -- "$dir"; exit 3; }
    say taken; exit 0
  fi
  gone() { [ "$(age "$dir")" -gt "$stale" ] || { [ -n "$brk" ] && mine "$brk"; }; }
  if ! gone; then say held; owner; exit 0; fi
  b=$dir.break
  if ! mkdir -- "$b" 2>/dev/null; then
    if [ "$(age "$b")" -gt 60 ]; then rmdir -- "$b" 2>/dev/null; fi
    say held; owner; exit 0
  fi
  if mkdir -- "$dir" 2>/dev/null; then
    write "$own" "$now" || { rmdir -- "$dir" "$b"; exit 3; }
    rmdir -- "$b"; say taken; exit 0
  fi
  if ! gone; then rmdir -- "$b"; say held; owner; exit 0; fi
  prev=$(owner)
  rm -f -- "$f" "$dir/owner.tmp"
  rmdir -- "$dir" 2>/dev/null
  if ! mkdir -- "$dir" 2>/dev/null; then rmdir -- "$b"; say held; owner; exit 0; fi
  write "$own" "$now" || { rmdir -- "$dir" "$b"; exit 3; }
  rmdir -- "$b"
  say took-over
  [ -z "$prev" ] || printf '%s\\n' "$prev"
  exit 0;;
refresh)
  own=$3 tok=$4 since=$5
  token "$tok"; number "$since"
  if mine "$tok"; then write "$own" "$since" || exit 3; say refreshed; else say lost; owner; fi
  exit 0;;
release)
  tok=$3
  token "$tok"
  if mine "$tok"; then
    rm -f -- "$f" "$dir/owner.tmp"
    rmdir -- "$dir" || exit 3
    say released
  else
    say lost; owner
  fi
  exit 0;;
*) echo "pvx-lock: unknown action '$act'" >&2; exit 2;;
esac
`;

/** Who takes the lock: this run, as its owner file records it. */
export interface LockOwner {
  /** the workstation's host name */
  host: string;
  user: string;
  pid: number;
  /** the pvx command line */
  command: string;
  /** random per run: only the run holding it may refresh or release the lock */
  token: string;
}

/** The holder of a lock, read from its owner file. */
export interface LockHolder extends LockOwner {
  /** node clock, seconds since the epoch: when it was taken */
  since: number;
  /** node clock, seconds since the epoch: the holder's last sign of life */
  heartbeat: number;
}

/** What an owner file said: a holder, or the text pvx could not read (absent: `undefined`). */
export type HolderReading = { ok: true; holder: LockHolder } | { ok: false; text: string; problem: string };

/** A node's answer to one lock command. `now` is the node's clock. */
export type LockAnswer =
  | { kind: 'taken'; now: number }
  | { kind: 'took-over'; now: number; previous: HolderReading | undefined }
  | { kind: 'held'; now: number; holder: HolderReading | undefined }
  | { kind: 'refreshed'; now: number }
  | { kind: 'released'; now: number }
  | { kind: 'lost'; now: number; holder: HolderReading | undefined };

const HolderSchema = z.object({
  host: z.string().min(1).max(255),
  user: z.string().max(64),
  pid: z.number().int().positive(),
  command: z.string().max(8192),
  token: z.string().regex(/^[0-9a-f]{8,64}$/),
  since: z.number().int().nonnegative(),
  heartbeat: z.number().int().nonnegative(),
});

/** Where the lock lives and when it is stale (tests point it at a scratch folder). */
export interface LockPlace {
  dir?: string;
  staleSeconds?: number;
}

function ownerPrefix(o: LockOwner): string {
  // the script appends `,"since":…,"heartbeat":…}`; key order is fixed so the file reads the same everywhere
  const json = JSON.stringify({ host: o.host, user: o.user, pid: o.pid, command: o.command, token: o.token });
  return json.slice(0, -1);
}

/** argv that takes the lock on a node (or breaks it when it still holds `breakToken`). */
export function lockAcquireArgv(owner: LockOwner, place: LockPlace = {}, breakToken?: string): string[] {
  return [
    'sh', '-c', CLUSTER_LOCK_SCRIPT, LOCK_SCRIPT_NAME, 'acquire', place.dir ?? CLUSTER_LOCK_DIR,
    ownerPrefix(owner), owner.token, String(place.staleSeconds ?? LOCK_STALE_SECONDS),
    ...(breakToken !== undefined ? [breakToken] : []),
  ];
}

/** argv that renews the heartbeat of a lock this run holds since `since` (node clock). */
export function lockRefreshArgv(owner: LockOwner, since: number, place: LockPlace = {}): string[] {
  return ['sh', '-c', CLUSTER_LOCK_SCRIPT, LOCK_SCRIPT_NAME, 'refresh', place.dir ?? CLUSTER_LOCK_DIR, ownerPrefix(owner), owner.token, String(since)];
}

/** argv that releases the lock if this run (its token) still holds it. */
export function lockReleaseArgv(token: string, place: LockPlace = {}): string[] {
  return ['sh', '-c', CLUSTER_LOCK_SCRIPT, LOCK_SCRIPT_NAME, 'release', place.dir ?? CLUSTER_LOCK_DIR, token];
}

/** True for an argv of the lock script (any action). */
export function isLockArgv(argv: readonly string[]): boolean {
  return argv[0] === 'sh' && argv[1] === '-c' && argv[2] === CLUSTER_LOCK_SCRIPT && argv[3] === LOCK_SCRIPT_NAME;
}

/** Read an owner file's text (the node wrote it; another version or a person may have too). */
export function parseHolder(text: string): HolderReading | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { ok: false, text: trimmed, problem: 'not JSON' };
  }
  const r = HolderSchema.safeParse(value);
  if (!r.success) return { ok: false, text: trimmed, problem: r.error.issues.map((i) => `${i.path.join('.') || 'owner'}: ${i.message}`).join('; ') };
  return { ok: true, holder: r.data };
}

const KINDS = new Set(['taken', 'took-over', 'held', 'refreshed', 'released', 'lost']);

/** Parse the script's answer (lines a login shell printed before it are passed over); ParseError when it is not one. */
export function parseLockAnswer(stdout: string): LockAnswer {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => /^pvx-lock [a-z-]+ [0-9]{1,12}$/.test(l.trim()));
  const first = at < 0 ? '' : (lines[at] ?? '').trim();
  const rest = at < 0 ? '' : lines.slice(at + 1).join('\n');
  const m = /^pvx-lock ([a-z-]+) ([0-9]{1,12})$/.exec(first);
  if (!m || !KINDS.has(m[1] ?? '')) throw new ParseError(LOCK_SCRIPT_NAME, `not an answer of the lock script: '${excerptOf(stdout.trim().split('\n')[0])}'`, stdout);
  const kind = m[1] as LockAnswer['kind'];
  const now = Number(m[2]);
  switch (kind) {
    case 'took-over':
      return { kind, now, previous: parseHolder(rest) };
    case 'held':
    case 'lost':
      return { kind, now, holder: parseHolder(rest) };
    default:
      if (rest.trim() !== '') throw new ParseError(LOCK_SCRIPT_NAME, `unexpected text after '${first}'`, rest);
      return { kind, now };
  }
}

/** A duration in seconds, in words a person reads at a glance. */
export function ageText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** Who holds a lock and since when, in one line (`now` is the node's clock). */
export function describeHolder(h: HolderReading | undefined, now: number): string {
  if (!h) return 'a run that has not written its owner file yet (or a folder made by hand)';
  if (!h.ok) return `a holder pvx cannot identify (its owner file: '${excerptOf(h.text)}', ${h.problem})`;
  const x = h.holder;
  const since = new Date(x.since * 1000).toISOString().replace(/\.000Z$/, 'Z');
  return `'${excerptOf(x.command)}' run by ${excerptOf(x.user) || '?'} on ${excerptOf(x.host)} (pid ${x.pid}) since ${since} (${ageText(now - x.since)} ago; last heartbeat ${ageText(now - x.heartbeat)} ago)`;
}
