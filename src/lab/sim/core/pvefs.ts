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
export function strerror(code: string | undefined): string {
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
 * Under a test root, where a plain folder stands for /etc/pve and no pmxcfs runs: the expired-lock
 * rule played on the folder's mtime (`file` goes once nobody moved its mtime for `lifetimeMs`). True
 * when it is gone now, removed here or before; false while it lives, or when it could not be removed.
 */
export function removeExpiredLock(file: string, lifetimeMs: number, nowMs = Date.now()): boolean {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return true;
  }
  if (nowMs - mtimeMs <= lifetimeMs) return false;
  try {
    rmdirSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * utime(0, 0) on a lock directory: an unlock request, which pmxcfs grants only for a lock that
 * stayed unchanged for its lifetime, by its own clock (the lab's pmxcfs does so, cfs/node.ts).
 * Under a test root no pmxcfs runs: the folder's mtime stands in for what it saw.
 */
export function requestUnlock(paths: SimPaths, file: string, lifetimeMs: number, nowMs = Date.now()): void {
  if (paths.root) {
    removeExpiredLock(file, lifetimeMs, nowMs);
    return;
  }
  try {
    utimesSync(file, 0, 0);
  } catch {
    // refused as an mtime going back, or the lock gone: only a request
  }
}

/** PVE::Cluster cfs_lock: a directory under /etc/pve/priv/lock, 10 s to get it, expiring after 120 s. */
export async function cfsLock<T>(paths: SimPaths, lockid: string, fn: () => Promise<T>, err: (t: string) => void, timeoutS = 10): Promise<T> {
  const lockdir = path.join(paths.etcPve, 'priv', 'lock');
  const file = path.join(lockdir, lockid);
  let got = false;
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
        break;
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') throw new Die('got lock request timeout\n');
      }
      // under a test root, gone since or expired and removed: try again at once; otherwise wait, never spin
      if (paths.root && removeExpiredLock(file, LOCK_LIFETIME_MS)) continue;
      const slept = Math.floor((Date.now() - started) / 1000);
      if (slept >= timeoutS) throw new Die('got lock request timeout\n');
      if (slept > lastLog) {
        err(`trying to acquire cfs lock '${lockid}' ...\n`);
        lastLog = slept;
      }
      // PVE::Cluster: utime(0, 0), the unlock request pmxcfs grants to an expired lock
      requestUnlock(paths, file, LOCK_LIFETIME_MS);
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
    } catch {
      // already expired, or /etc/pve read-only for now: pmxcfs frees it after its lifetime
    }
  }
}

