import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cfsLock, releaseHeldLock, type HeldLock } from '../../../src/lab/sim/core/pvefs.js';
import { simPaths } from '../../../src/lab/sim/core/paths.js';
import { tmpDir } from '../../helpers/tmp.js';
import { recordingCtx } from './ctx.js';

/** /etc/pve as a plain folder: a lock whose directory holds a file cannot be removed, as a read-only /etc/pve refuses it. */
function setup(): { paths: ReturnType<typeof simPaths>; lock: string } {
  const dir = tmpDir('pvx-sim-lock-');
  const root = path.join(dir, 'root');
  const labRoot = path.join(dir, 'labs', 'unit');
  mkdirSync(labRoot, { recursive: true });
  const paths = simPaths(recordingCtx({ labRoot, root }).ctx.node, { PVX_SIM_ROOT: root });
  mkdirSync(path.join(paths.etcPve, 'priv', 'lock'), { recursive: true });
  return { paths, lock: path.join(paths.etcPve, 'priv', 'lock', 'ha_manager_lock') };
}
const pin = (lock: string): void => writeFileSync(path.join(lock, 'pin'), '');
const unpin = (lock: string): void => rmSync(path.join(lock, 'pin'));

describe('cfsLock with a held lock (the CRM manager lock)', () => {
  it('keeps a lock whose release failed, renews it on the next call and frees it then', async () => {
    const { paths, lock } = setup();
    const held: HeldLock = {};
    await cfsLock(paths, 'ha_manager_lock', async () => pin(lock), () => undefined, 1, held);
    expect(existsSync(lock)).toBe(true);
    expect(held.since).toBeTypeOf('number');
    // a caller without the hold waits and gives up, as another node would
    await expect(cfsLock(paths, 'ha_manager_lock', async () => undefined, () => undefined, 1)).rejects.toThrow("cfs-lock 'ha_manager_lock' error:");
    // the holder gets it at once
    let ran = false;
    await cfsLock(paths, 'ha_manager_lock', async () => {
      ran = true;
      unpin(lock);
    }, () => undefined, 1, held);
    expect(ran).toBe(true);
    expect(existsSync(lock)).toBe(false);
    expect(held.since).toBeUndefined();
  });

  it('a daemon that stops frees the lock it still holds', async () => {
    const { paths, lock } = setup();
    const held: HeldLock = {};
    await cfsLock(paths, 'ha_manager_lock', async () => pin(lock), () => undefined, 1, held);
    unpin(lock);
    releaseHeldLock(paths, 'ha_manager_lock', held);
    expect(existsSync(lock)).toBe(false);
    expect(held.since).toBeUndefined();
  });
});
