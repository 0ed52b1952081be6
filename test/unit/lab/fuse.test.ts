/**
 * The FUSE server mounted for real on a temp dir and driven by real tools in child processes.
 * Nothing here touches the mount with a synchronous fs call: the server runs in this event loop.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMounts } from '../../../src/lab/mounts.js';
import { mountFuse, type FuseSession } from '../../../src/lab/sim/cfs/fuse.js';
import { MemFuseOps } from '../../helpers/mem-fuse-ops.js';

const canMount = process.getuid?.() === 0 && existsSync('/dev/fuse');

interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a shell script inside the mount. The shell changes directory itself: a spawn with `cwd` on the
 * mount would make the child chdir while this process (the server) waits for its exec.
 */
function sh(cwd: string, script: string): Promise<ShResult> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', `cd "$0" && ${script}`, cwd], { maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function umountLazy(dir: string): Promise<void> {
  return new Promise((resolve) => execFile('umount', ['-l', dir], () => resolve()));
}

async function isMounted(dir: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === dir);
}

describe.skipIf(!canMount)('FUSE server on a real mount (needs root and /dev/fuse)', () => {
  let dir: string;
  let ops: MemFuseOps;
  let session: FuseSession | undefined;
  let opErrors: unknown[];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pvx-fuse-'));
    ops = new MemFuseOps();
    opErrors = [];
    session = await mountFuse(dir, ops, { fsName: 'pvx-test', onError: (e) => opErrors.push(e) });
  });

  afterEach(async () => {
    try {
      await session?.unmount();
    } finally {
      if (await isMounted(dir)) await umountLazy(dir);
      session = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is mounted as fuse.pmxcfs with the given source', async () => {
    const m = (await readMounts()).find((e) => e.mountPoint === dir);
    expect(m).toMatchObject({ fsType: 'fuse.pmxcfs', source: 'pvx-test' });
  });

  it('writes, appends and reads files and makes directories through shell tools', async () => {
    const r = await sh(dir, "printf 'first\\n' > a.cfg && echo second >> a.cfg && cat a.cfg && mkdir -p x/y/z && ls -A && ls x/y");
    expect(r).toEqual({ code: 0, stdout: 'first\nsecond\na.cfg\nx\nz\n', stderr: '' });
    expect(ops.text('/a.cfg')).toBe('first\nsecond\n');
    expect(ops.nodes.get('/x/y/z')?.mode).toBe(0o040755);
  });
});
