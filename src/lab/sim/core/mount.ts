/** Putting a database directory at /etc/pve: a bind mount on a node, a symlink under a test root. */
import { lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cfsMounted, roMarker } from './cfs.js';
import { Die } from './errors.js';
import { BIN, run } from './exec.js';
import type { SimPaths } from './paths.js';

async function mustRun(args: string[]): Promise<void> {
  const r = await run(args[0] as string, args.slice(1), { timeoutMs: 20_000 });
  if (r.exitCode !== 0) throw new Die(`${args.join(' ')} failed: ${r.stderr.trim() || `exit code ${r.exitCode}`}\n`);
}

/** Replace whatever is at /etc/pve by `db`, writable. */
export async function mountPve(paths: SimPaths, db: string, nodeName: string): Promise<void> {
  await unmountPve(paths);
  if (paths.root) {
    mkdirSync(path.dirname(paths.etcPve), { recursive: true });
    rmSync(paths.etcPve, { recursive: true, force: true });
    symlinkSync(db, paths.etcPve);
  } else {
    mkdirSync(paths.etcPve, { recursive: true });
    await mustRun([BIN.mount, '--bind', db, paths.etcPve]);
  }
  mkdirSync(path.dirname(paths.localNodeLink), { recursive: true });
  rmSync(paths.localNodeLink, { force: true });
  symlinkSync(path.join(paths.etcPve, 'nodes', nodeName), paths.localNodeLink);
}

/** Make /etc/pve read-only (no quorum) or writable again. */
export async function setPveReadOnly(paths: SimPaths, ro: boolean): Promise<void> {
  if (paths.root) {
    mkdirSync(paths.simRun, { recursive: true });
    if (ro) writeFileSync(roMarker(paths), '');
    else rmSync(roMarker(paths), { force: true });
    return;
  }
  await mustRun([BIN.mount, '-o', `remount,bind,${ro ? 'ro' : 'rw'}`, paths.etcPve]);
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
