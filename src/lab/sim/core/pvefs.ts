/** File access in /etc/pve with PVE's semantics: atomic writes, pmxcfs errors, cfs locks. */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cfsQuorate } from './cfs.js';
import { Die, errnoOf } from './errors.js';
import type { SimPaths } from './paths.js';
import { sleep } from './time.js';

/** The path a user would see (the test root stripped). */
export function shown(paths: SimPaths, abs: string): string {
  return paths.root && abs.startsWith(paths.root) ? abs.slice(paths.root.length) || '/' : abs;
}

/** Text of a file, or undefined when it does not exist. */
export function readText(abs: string): string | undefined {
  try {
    return readFileSync(abs, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** strerror of the errors a write into pmxcfs can meet; a read-only pmxcfs answers EACCES. */
function strerror(code: string | undefined): string {
  switch (code) {
    case 'EROFS':
    case 'EACCES':
      return 'Permission denied';
    case 'ENOENT':
      return 'No such file or directory';
    case 'EEXIST':
      return 'File exists';
    case 'ENOTCONN':
      return 'Transport endpoint is not connected';
    default:
      return code ?? 'Input/output error';
  }
}

/** PVE::File::file_set_contents: write `<file>.tmp.<pid>`, then rename over the file. */
export function writeAtomic(paths: SimPaths, abs: string, data: string | Buffer, mode = 0o644): void {
  const tmp = `${abs}.tmp.${process.pid}`;
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') {
      unlinkSync(tmp);
      writeFileSync(tmp, data, { mode, flag: 'wx' });
    } else {
      throw new Die(`unable to open file '${shown(paths, tmp)}' - ${strerror(errnoOf(e))}\n`);
    }
  }
  renameSync(tmp, abs);
}

/** mkdir -p that reports pmxcfs errors like PVE's tools do. */
export function mkdirPve(paths: SimPaths, abs: string): void {
  try {
    mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new Die(`unable to create directory '${shown(paths, abs)}' - ${strerror(errnoOf(e))}\n`);
  }
}

/** Remove a file, ignoring a missing one. */
export function unlinkQuiet(abs: string): void {
  try {
    unlinkSync(abs);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

/** Names in a directory (empty when it does not exist). */
export function listDir(abs: string): string[] {
  try {
    return readdirSync(abs);
  } catch {
    return [];
  }
}

const LOCK_LIFETIME_MS = 120_000;

/**
 * A lock a daemon may still hold from an earlier call: its release failed (/etc/pve was read-only
 * for a moment), so the directory is its own. `since` is when it was taken (ms).
 */
export interface HeldLock {
  since?: number | undefined;
}

/**
 * PVE::Cluster cfs_lock: a directory under /etc/pve/priv/lock, 10 s to get it, expiring after 120 s.
 * With `held`, a lock whose release failed stays this caller's: the next call renews it with a
 * forward mtime (as PVE::HA::Env::PVE2::get_pve_lock renews the manager lock, `utime(0, now)`,
 * within the lock's lifetime) instead of waiting for it to expire, and `releaseHeldLock` frees it.
 */
export async function cfsLock<T>(paths: SimPaths, lockid: string, fn: () => Promise<T>, err: (t: string) => void, timeoutS = 10, held?: HeldLock): Promise<T> {
  const lockdir = path.join(paths.etcPve, 'priv', 'lock');
  const file = path.join(lockdir, lockid);
  let got = false;
  if (held?.since !== undefined && Date.now() - held.since < LOCK_LIFETIME_MS) {
    try {
      const now = new Date();
      utimesSync(file, now, now);
      got = true;
      held.since = now.getTime();
    } catch {
      // gone or taken over: get it as anyone would
    }
  }
  if (!got && held) held.since = undefined;
  try {
    try {
      mkdirSync(lockdir, { recursive: true });
    } catch {
      // checked below
    }
    try {
      statSync(lockdir);
    } catch {
      throw new Die('pve cluster filesystem not online.\n');
    }
    const started = Date.now();
    let lastLog = 0;
    for (; !got; ) {
      try {
        mkdirSync(file);
        got = true;
        if (held) held.since = Date.now();
        break;
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') throw new Die('got lock request timeout\n');
      }
      let expired: boolean;
      try {
        expired = Date.now() - statSync(file).mtimeMs > LOCK_LIFETIME_MS;
      } catch {
        // gone since: try again at once
        continue;
      }
      if (expired) {
        try {
          rmdirSync(file);
          continue;
        } catch {
          // not removable now (/etc/pve read-only): wait as for a live lock, never spin
        }
      }
      const slept = Math.floor((Date.now() - started) / 1000);
      if (slept >= timeoutS) throw new Die('got lock request timeout\n');
      if (slept > lastLog) {
        err(`trying to acquire cfs lock '${lockid}' ...\n`);
        lastLog = slept;
      }
      try {
        utimesSync(file, 0, 0);
      } catch {
        // an unlock request is only a hint
      }
      await sleep(100);
    }
  } catch (e) {
    const msg = !got && !cfsQuorate(paths) ? 'no quorum!\n' : e instanceof Error ? e.message : String(e);
    throw new Die(`cfs-lock '${lockid}' error: ${msg}`);
  }
  try {
    return await fn();
  } finally {
    try {
      rmdirSync(file);
      if (held) held.since = undefined;
    } catch {
      // already expired, or /etc/pve read-only for now: a holder (`held`) keeps it and renews it
    }
  }
}

/** Free a lock `held` still holds (a daemon that stops, as the CRM releases its manager lock). */
export function releaseHeldLock(paths: SimPaths, lockid: string, held: HeldLock): void {
  if (held.since === undefined) return;
  try {
    rmdirSync(path.join(paths.etcPve, 'priv', 'lock', lockid));
  } catch {
    // expired and gone, or still read-only: pmxcfs frees it after its lifetime
  }
  held.since = undefined;
}
