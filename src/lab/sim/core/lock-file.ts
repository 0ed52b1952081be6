/**
 * PVE::Tools::lock_file on a node: one holder at a time, re-entrant within a process, waiting up to
 * a timeout. A directory under the node's private /run stands for the flock'ed file; a holder that
 * died leaves it behind and is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pidAlive } from './daemon.js';
import { Die, errnoOf } from './errors.js';
import type { SimPaths } from './paths.js';
import { sleep } from './time.js';

const held = new Map<string, number>();

/** Run `fn` holding the lock PVE names `shownPath` (e.g. /var/lock/pvesr.lck); `can't lock file … - got timeout` after `timeoutS`. */
export async function lockFile<T>(paths: SimPaths, shownPath: string, timeoutS: number, fn: () => Promise<T>): Promise<T> {
  const dir = path.join(paths.root || '/', 'run', 'lock', 'pvx-lab', shownPath.replace(/^\/+/, '').replace(/\//g, '_'));
  if (held.has(dir)) {
    held.set(dir, (held.get(dir) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      held.set(dir, (held.get(dir) ?? 1) - 1);
    }
  }
  mkdirSync(path.dirname(dir), { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
    } catch {
      holder = 0;
    }
    if (holder > 0 && !pidAlive(holder)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if ((Date.now() - started) / 1000 >= timeoutS) throw new Die(`can't lock file '${shownPath}' - got timeout\n`);
    await sleep(100);
  }
  held.set(dir, 1);
  try {
    return await fn();
  } finally {
    held.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PVE::GuestHelpers::guest_migration_lock: replication runs and migrations of one guest exclude each other. */
export function guestMigrationLock<T>(paths: SimPaths, vmid: number, timeoutS: number, fn: () => Promise<T>): Promise<T> {
  return lockFile(paths, `/var/lock/pve-manager/pve-migrate-${vmid}`, timeoutS, fn);
}
