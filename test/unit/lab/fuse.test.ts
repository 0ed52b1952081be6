/**
 * The FUSE server mounted for real on a temp dir and driven by real tools in child processes.
 * Nothing here touches the mount with a synchronous fs call: the server runs in this event loop.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMounts } from '../../../src/lab/mounts.js';
import { mountFuse, type FuseSession } from '../../../src/lab/sim/cfs/fuse.js';
import { Op } from '../../../src/lab/sim/cfs/fuse-proto.js';
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
  let opcodes: number[];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pvx-fuse-'));
    ops = new MemFuseOps();
    opErrors = [];
    opcodes = [];
    session = await mountFuse(dir, ops, { fsName: 'pvx-test', onError: (e) => opErrors.push(e), trace: (op) => opcodes.push(op) });
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

  it('returns errors as errno: ENOENT from cat, EACCES and EIO from failing operations', async () => {
    ops.put('/secret.cfg', 'x');
    ops.failWith.set('read /secret.cfg', os.constants.errno.EACCES);
    ops.put('/broken.cfg', 'y');
    ops.crashOn.set('read /broken.cfg', new Error('backing store exploded'));
    const r = await sh(dir, 'cat missing.cfg; echo "rc=$?"; cat secret.cfg; echo "rc=$?"; cat broken.cfg; echo "rc=$?"');
    expect(r.stdout).toBe('rc=1\nrc=1\nrc=1\n');
    expect(r.stderr).toBe(
      'cat: missing.cfg: No such file or directory\ncat: secret.cfg: Permission denied\ncat: broken.cfg: Input/output error\n',
    );
    expect(opErrors.map((e) => (e as Error).message)).toEqual(['backing store exploded']);
    // the server goes on serving after a failed operation
    expect(await sh(dir, 'cat secret.cfg 2>/dev/null || echo denied; echo ok > after.cfg && cat after.cfg')).toMatchObject({
      stdout: 'denied\nok\n',
    });
  });

  it('refuses a write the operations deny with EACCES and the shell says Permission denied', async () => {
    ops.put('/locked.cfg', 'old\n');
    ops.failWith.set('write /locked.cfg', os.constants.errno.EACCES);
    // cat, not the shell's printf builtin: dash reports any failed write as 'I/O error'
    const r = await sh(dir, 'echo new | cat >> locked.cfg; echo "rc=$?"');
    expect(r).toEqual({ code: 0, stdout: 'rc=1\n', stderr: 'cat: write error: Permission denied\n' });
    expect(ops.text('/locked.cfg')).toBe('old\n');
  });

  it('sees a file changed in the store behind the kernel at the next read, with its new size', async () => {
    ops.put('/nodes.cfg', 'one\n');
    expect((await sh(dir, 'cat nodes.cfg')).stdout).toBe('one\n');
    expect(await readFile(path.join(dir, 'nodes.cfg'), 'utf8')).toBe('one\n');
    ops.put('/nodes.cfg', 'two, and longer\n');
    expect((await sh(dir, 'cat nodes.cfg; stat -c %s nodes.cfg')).stdout).toBe('two, and longer\n16\n');
    expect(await readFile(path.join(dir, 'nodes.cfg'), 'utf8')).toBe('two, and longer\n');
    // appending goes to the store's end even when the kernel last saw a shorter file
    ops.put('/nodes.cfg', 'three is the longest line\n');
    expect(await sh(dir, 'echo four >> nodes.cfg && cat nodes.cfg')).toMatchObject({ code: 0, stdout: 'three is the longest line\nfour\n' });
    // a file opened for appending, then grown behind the kernel: the write still lands at the store's end
    const fh = await open(path.join(dir, 'nodes.cfg'), 'a');
    try {
      ops.put('/nodes.cfg', 'five, grown while the file was open\n');
      await fh.write('six\n');
    } finally {
      await fh.close();
    }
    expect(ops.text('/nodes.cfg')).toBe('five, grown while the file was open\nsix\n');
    ops.nodes.delete('/nodes.cfg');
    expect((await sh(dir, 'cat nodes.cfg')).stderr).toBe('cat: nodes.cfg: No such file or directory\n');
  });

  it('writes and reads back a file larger than one WRITE request', async () => {
    const data = randomBytes(300 * 1024 + 17);
    await writeFile(path.join(dir, 'big.bin'), data);
    expect(ops.nodes.get('/big.bin')?.data.equals(data)).toBe(true);
    expect(ops.calls.filter((c) => c === 'write /big.bin').length).toBeGreaterThanOrEqual(3);
    expect((await readFile(path.join(dir, 'big.bin'))).equals(data)).toBe(true);
    const sha = createHash('sha256').update(data).digest('hex');
    expect(await sh(dir, 'stat -c %s big.bin; sha256sum < big.bin; head -c 200000 /dev/zero > zeros && stat -c %s zeros')).toEqual({
      code: 0,
      stdout: `${data.length}\n${sha}  -\n200000\n`,
      stderr: '',
    });
    expect(ops.nodes.get('/zeros')?.data.equals(Buffer.alloc(200000))).toBe(true);
  });

  it('renames over an existing file and moves a directory while a shell sits inside it', async () => {
    const r = await sh(
      dir,
      'echo a > x.cfg && echo b > y.cfg && mv x.cfg y.cfg && cat y.cfg && ls && mkdir -p d/e && echo z > d/e/f && cd d/e && mv ../../d ../../d2 && cat f && echo w > g && ls ../../d2/e',
    );
    expect(r).toEqual({ code: 0, stdout: 'a\ny.cfg\nz\nf\ng\n', stderr: '' });
    expect([...ops.nodes.keys()].sort()).toEqual(['/', '/d2', '/d2/e', '/d2/e/f', '/d2/e/g', '/y.cfg']);
    // RENAME2 with RENAME_NOREPLACE (mv -n / --no-clobber) must leave the target alone
    await sh(dir, 'echo keep > k1 && echo gone > k2 && mv -n k2 k1 2>/dev/null; true');
    expect(ops.text('/k1')).toBe('keep\n');
    expect(ops.text('/k2')).toBe('gone\n');
  });

  it('lists a directory of 300 entries across several READDIR rounds', async () => {
    // 300 names of 200 bytes: about 67 KiB of fuse_dirent records, more than one getdents buffer (32 KiB)
    const names = Array.from({ length: 300 }, (_, i) => `${i + 1}-`.padEnd(195, 'x') + '.conf');
    for (const n of names) ops.put(`/qemu/${n}`, n);
    ops.nodes.set('/qemu', { mode: 0o040755, data: Buffer.alloc(0), mtimeMs: Date.now() });
    expect((await readdir(path.join(dir, 'qemu'))).sort()).toEqual([...names].sort());
    expect(opcodes.filter((o) => o === Op.READDIR).length).toBeGreaterThanOrEqual(3);
    const r = await sh(dir, 'ls qemu | wc -l; ls -a qemu | head -2; find qemu -type f | wc -l');
    expect(r).toEqual({ code: 0, stdout: '300\n.\n..\n300\n', stderr: '' });
  });

  it('works with cp -a, tar, sed -i, find, stat, truncate, ln -s, readlink, touch -d and rm -rf', async () => {
    const script = [
      'mkdir -p src/sub && echo one > src/sub/a && ln -s sub/a src/link',
      'readlink src/link && cat src/link',
      'cp -a src dst && readlink dst/link && cat dst/sub/a',
      'tar -cf - src | (mkdir t && cd t && tar -xf -) && cat t/src/sub/a && readlink t/src/link',
      'sed -i s/one/two/ src/sub/a && cat src/sub/a',
      'find src dst t | sort',
      'truncate -s 10 src/sub/a && stat -c %s src/sub/a && truncate -s 2 src/sub/a && cat src/sub/a && echo',
      'touch -d @1700000000 src/sub/a && stat -c %Y src/sub/a',
      'rm -rf src dst t && ls -A | wc -l',
    ].join(' && ');
    const r = await sh(dir, script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        'sub/a',
        'one',
        'sub/a',
        'one',
        'one',
        'sub/a',
        'two',
        'dst\ndst/link\ndst/sub\ndst/sub/a\nsrc\nsrc/link\nsrc/sub\nsrc/sub/a\nt\nt/src\nt/src/link\nt/src/sub\nt/src/sub/a',
        '10',
        'tw',
        '1700000000',
        '0',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
    expect([...ops.nodes.keys()]).toEqual(['/']);
  });

  it('answers concurrent calls from this process while they hold most of the threadpool', async () => {
    // three callers blocked in the mount plus the server's own read fill libuv's four threads:
    // replies must not need a thread of their own
    for (const n of [1, 2, 3]) ops.put(`/c${n}.cfg`, `content ${n}`);
    const texts = await Promise.all([1, 2, 3].map((n) => readFile(path.join(dir, `c${n}.cfg`), 'utf8')));
    expect(texts).toEqual(['content 1', 'content 2', 'content 3']);
  });

  it('serves fs/promises calls: stat, readdir, rm', async () => {
    await writeFile(path.join(dir, 'f.cfg'), 'hello');
    const st = await stat(path.join(dir, 'f.cfg'));
    expect({ size: st.size, mode: st.mode, uid: st.uid, gid: st.gid }).toEqual({ size: 5, mode: 0o100644, uid: 0, gid: 33 });
    expect(await readdir(dir)).toEqual(['f.cfg']);
    await rm(path.join(dir, 'f.cfg'));
    expect(ops.nodes.has('/f.cfg')).toBe(false);
  });

  it('unmounts lazily while a process sits in the mount and ends the session at once', async () => {
    ops.put('/still.cfg', 'x\n');
    const holder = spawn('sh', ['-c', 'cd "$0" && echo inside && read line; cat still.cfg', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    holder.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((resolve) => holder.on('close', () => resolve()));
    try {
      await new Promise<void>((resolve) =>
        holder.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          resolve();
        }),
      );
      const s = session!;
      session = undefined;
      await s.unmount();
      await s.closed;
      expect(await isMounted(dir)).toBe(false);
      // the shell is still in the detached tree: the connection is gone, as when pmxcfs stops
      holder.stdin.end('go\n');
      await exited;
      expect(out).toBe('inside\n');
      expect(err).toBe('cat: still.cfg: Transport endpoint is not connected\n');
    } finally {
      holder.kill();
    }
  });

  it('ends the session on unmount even when another mount namespace holds a copy of the mount', async () => {
    // unshare copies every mount into a new namespace; a private root does not propagate the umount
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'echo ready && read line'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => holder.on('close', () => resolve()));
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const s = session!;
      session = undefined;
      await s.unmount();
      await s.closed;
      expect(await isMounted(dir)).toBe(false);
    } finally {
      holder.stdin.end('\n');
      await exited;
    }
  });

  it('unmounts while idle and resolves closed', async () => {
    const s = session!;
    session = undefined;
    await s.unmount();
    await s.closed;
    expect(await isMounted(dir)).toBe(false);
  });
});
