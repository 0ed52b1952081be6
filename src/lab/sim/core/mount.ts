/**
 * /etc/pve under a test root: a symlink to the node's folder, and a marker for a read-only one.
 * On a lab node pmxcfs serves /etc/pve through FUSE (src/lab/sim/cfs); here only its removal.
 */
import { lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cfsMounted, roMarker } from './cfs.js';
import { Die } from './errors.js';
import { BIN, run } from './exec.js';
import type { SimPaths } from './paths.js';

/** Under a test root: put the folder `db` at /etc/pve, writable. */
export async function mountPve(paths: SimPaths, db: string): Promise<void> {
  if (!paths.root) throw new Die('/etc/pve is served by pmxcfs on a node\n');
  await unmountPve(paths);
  mkdirSync(path.dirname(paths.etcPve), { recursive: true });
  rmSync(paths.etcPve, { recursive: true, force: true });
  symlinkSync(db, paths.etcPve);
}

/** Under a test root: make /etc/pve read-only (no quorum) or writable again. */
export async function setPveReadOnly(paths: SimPaths, ro: boolean): Promise<void> {
  mkdirSync(paths.simRun, { recursive: true });
  if (ro) writeFileSync(roMarker(paths), '');
  else rmSync(roMarker(paths), { force: true });
}

/** Take /etc/pve away (pmxcfs stopped). */
export async function unmountPve(paths: SimPaths): Promise<void> {
  if (paths.root) {
    try {
      if (lstatSync(paths.etcPve).isSymbolicLink()) rmSync(paths.etcPve, { force: true });
    } catch {
      // nothing there
    }
    rmSync(roMarker(paths), { force: true });
    return;
  }
  // a crashed pmxcfs leaves its mount behind; lazy so a shell sitting in /etc/pve does not block it
  while (cfsMounted(paths)) {
    const r = await run(BIN.umount, ['-l', paths.etcPve], { timeoutMs: 20_000 });
    if (r.exitCode !== 0) throw new Die(`umount ${paths.etcPve} failed: ${r.stderr.trim()}\n`);
  }
}
