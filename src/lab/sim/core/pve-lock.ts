/**
 * PVE::HA::Env::PVE2::get_pve_lock: how an HA daemon holds a cfs lock from one round to the next.
 * The holder renews it each round (mtime set to now) while its last success is younger than the
 * lock's lifetime; anyone else tries to create it, and when that fails asks pmxcfs to unlock it
 * (utime 0), which frees it only once it has expired. One attempt per call, never a wait.
 */
import { mkdirSync, rmdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import type { SimPaths } from './paths.js';
import { errnoOf } from './errors.js';
import { requestUnlock, strerror } from './pvefs.js';

/** What the caller keeps between rounds about one lock ($last_lock_status_hash). */
export interface PveLockHold {
  /** epoch seconds of the last time the lock was got or renewed; 0 never */
  lockTime: number;
  got: boolean;
}

/** A fresh hold: never got. */
export function newPveLockHold(): PveLockHold {
  return { lockTime: 0, got: false };
}

/** The outcome of one attempt, and the log line PVE2.pm writes when it changes. */
export interface PveLockAttempt {
  got: boolean;
  log?: { level: 'info' | 'err'; text: string };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * One get_pve_lock call. `lifetimeS` is pmxcfs's lock lifetime (120 s on PVE, twice the watchdog
 * timeout; the lab scales both). The unlock request is pmxcfs's part: it removes a lock that no
 * holder renewed for the lifetime, and only such a one.
 */
export function getPveLock(paths: SimPaths, lockid: string, hold: PveLockHold, lifetimeS: number, now = Math.floor(Date.now() / 1000)): PveLockAttempt {
  const lockdir = path.join(paths.etcPve, 'priv', 'lock');
  const file = path.join(lockdir, lockid);
  let got = false;
  let err = '';
  try {
    try {
      // not recursive: without pmxcfs there is no /etc/pve/priv to create it in
      mkdirSync(lockdir);
    } catch {
      // exists, or checked below
    }
    if (!isDir(lockdir)) throw new Error("can't create '/etc/pve/priv/lock' (pmxcfs not mounted?)");
    if (now - hold.lockTime < lifetimeS) {
      try {
        utimesSync(file, 0, now);
        got = true;
      } catch (e) {
        throw new Error(`cfs lock update failed - ${strerror(errnoOf(e))}`);
      }
    } else {
      try {
        mkdirSync(file);
        got = true;
      } catch {
        // utime(0, 0): only a request, which pmxcfs grants for an expired lock alone
        requestUnlock(paths, file, lifetimeS * 1000, now * 1000);
        throw new Error("can't get cfs lock");
      }
    }
  } catch (e) {
    err = e instanceof Error ? e.message : String(e);
  }
  const was = hold.got;
  hold.got = got;
  if (got) hold.lockTime = now;
  if (got === was) return { got };
  return { got, log: got ? { level: 'info', text: `successfully acquired lock '${lockid}'` } : { level: 'err', text: `lost lock '${lockid}${err ? ` - ${err}` : ''}` } };
}

/** release_ha_manager_lock: remove the lock this daemon holds; false when that failed. */
export function releasePveLock(paths: SimPaths, lockid: string, hold: PveLockHold): boolean {
  hold.got = false;
  hold.lockTime = 0;
  try {
    rmdirSync(path.join(paths.etcPve, 'priv', 'lock', lockid));
    return true;
  } catch {
    return false;
  }
}
