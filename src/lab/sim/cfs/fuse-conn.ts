/**
 * Ending a FUSE connection from the server's side through the fuse control file system
 * (/sys/fs/fuse/connections/<N>/abort). An unmount alone does not end it while another mount
 * namespace still holds a copy of the mount (one created while it was mounted, e.g. by
 * `ip netns exec`, under a private root), nor while a lazily unmounted tree is still in use.
 */
import { mkdtemp, readFile, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

const CONTROL_DIR = '/sys/fs/fuse/connections';

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The connection number of the FUSE mount at `mountPoint` in this mount namespace (the kernel's dev_t
 * of its superblock: anonymous devices have major 0, so it is the minor), or undefined.
 */
export async function fuseConnectionOf(mountPoint: string): Promise<number | undefined> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  let found: number | undefined;
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    if (!right?.startsWith('fuse') || f.length < 5 || unescapeOctal(f[4] ?? '') !== mountPoint) continue;
    const [major, minor] = (f[2] ?? '').split(':').map(Number);
    if (major === undefined || minor === undefined || Number.isNaN(major) || Number.isNaN(minor)) continue;
    found = major * 2 ** 20 + minor; // the last one wins: it is the mount on top
  }
  return found;
}

function run(cmd: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

async function writeAbort(dir: string, conn: number): Promise<boolean> {
  try {
    await writeFile(path.join(dir, String(conn), 'abort'), '1');
    return true;
  } catch (err) {
    // ENOENT: no such connection (any more), or the control file system is not mounted there
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Abort FUSE connection `conn`: its pending and future requests fail with ENOTCONN and the server's
 * read of /dev/fuse returns ENODEV. Mounts the control file system on a scratch dir when it is not
 * mounted at /sys/fs/fuse/connections. False when the connection no longer exists.
 */
export async function abortFuseConnection(conn: number): Promise<boolean> {
  if (await writeAbort(CONTROL_DIR, conn)) return true;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvx-fusectl-'));
  try {
    if (!(await run('mount', ['-t', 'fusectl', 'fusectl', dir]))) return false;
    try {
      return await writeAbort(dir, conn);
    } finally {
      await run('umount', [dir]);
    }
  } finally {
    await rmdir(dir).catch(() => undefined);
  }
}
