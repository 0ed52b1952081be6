/**
 * A FUSE file system server that speaks the kernel protocol on /dev/fuse itself (no libfuse, no native
 * addon): mounts with `mount -i -t fuse.<type> -o fd=3,…`, then serves path-based `FuseOps`.
 *
 * Every open file is direct I/O and every entry and attribute timeout is 0, so each read and stat goes
 * to the operations: the tree changes behind the kernel's back (other nodes' writes arrive through the
 * cluster) and must be seen at once.
 *
 * The server runs in this process's event loop, so this process must never touch the mount with a
 * synchronous call, nor spawn a child with its cwd (or its executable) inside the mount: Node's spawn
 * waits for the child's exec, and the child's chdir waits for this server — a deadlock that only
 * `/sys/fs/fuse/connections/N/abort` can break.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { constants } from 'node:os';
import { readMounts } from '../../mounts.js';
import { abortFuseConnection, fuseConnectionOf } from './fuse-conn.js';
import { FuseError, type FuseAttr, type FuseOps } from './fuse-ops.js';
import { NodeTable, childPath, parentPath } from './fuse-nodes.js';
import {
  FATTR_MTIME,
  FATTR_MTIME_NOW,
  FATTR_SIZE,
  FOPEN_DIRECT_IO,
  FUSE_KERNEL_VERSION,
  FUSE_MAX_MINOR,
  Op,
  RENAME_NOREPLACE,
  cString,
  decodeInitIn,
  decodeRequest,
  direntSize,
  encodeAttrOut,
  encodeEntryOut,
  encodeInitOut,
  encodeOpenOut,
  encodeReply,
  encodeStatfsOut,
  encodeWriteOut,
  encodeXattrSizeOut,
  writeDirent,
  type FuseRequest,
} from './fuse-proto.js';

const E = constants.errno;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;

/** Largest WRITE the kernel may send; a read of /dev/fuse needs room for it plus the request headers. */
const MAX_WRITE = 131072;
const READ_BUFFER_SIZE = MAX_WRITE + 4096;

/** A mounted FUSE file system. */
export interface FuseSession {
  readonly mountPoint: string;
  /** resolves when the kernel ends the session (after an unmount) and the device is closed */
  readonly closed: Promise<void>;
  /** end the session: abort the connection, unmount (lazily when busy), and wait for the device to close */
  unmount(): Promise<void>;
}

/** Options of `mountFuse`. */
export interface MountFuseOptions {
  /** the mount's source as mount(8) and /proc/mounts show it */
  fsName?: string;
  /** the part after 'fuse.' in the file system type (default 'pmxcfs'; '' mounts as plain 'fuse') */
  subtype?: string;
  /** told about operation failures that are not a FuseError (answered EIO) and about device errors */
  onError?: (err: unknown) => void;
  /** called with each request's opcode (see `Op`) and nodeid as it arrives, to trace what the kernel asks */
  trace?: (opcode: number, nodeid: number) => void;
}

/** Mount `ops` on `mountPoint` and serve it until unmounted. Needs root and /dev/fuse. */
export async function mountFuse(mountPointArg: string, ops: FuseOps, opts: MountFuseOptions = {}): Promise<FuseSession> {
  // the form /proc/self/mountinfo shows, to find this mount again at unmount
  const mountPoint = await fs.promises.realpath(mountPointArg);
  const fd = await new Promise<number>((resolve, reject) => fs.open('/dev/fuse', 'r+', (err, f) => (err ? reject(err) : resolve(f))));
  const server = new FuseServer(fd, mountPoint, ops, opts);
  try {
    const type = opts.subtype === '' ? 'fuse' : `fuse.${opts.subtype ?? 'pmxcfs'}`;
    const o = 'fd=3,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions';
    await runTool('mount', ['-i', '-t', type, '-o', o, opts.fsName ?? 'pmxcfs', mountPoint], fd);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  server.conn = await fuseConnectionOf(mountPoint);
  server.start();
  try {
    await server.initialized;
  } catch (err) {
    await runTool('umount', ['-l', mountPoint]).catch(() => undefined);
    throw err;
  }
  return server;
}

/** Run a tool to completion; rejects with its stderr when it fails. `fd` becomes the child's fd 3. */
function runTool(cmd: string, args: string[], fd?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
    if (fd !== undefined) stdio.push(fd);
    const child = spawn(cmd, args, { stdio });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout?.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr.trim()}`));
    });
  });
}

interface OpenFile {
  append: boolean;
}

interface OpenDir {
  /** the listing taken at the first READDIR, so later rounds continue in the same list */
  entries?: Array<{ name: string; ino: number; mode: number }>;
}

class FuseServer implements FuseSession {
  readonly closed: Promise<void>;
  readonly initialized: Promise<void>;
  private resolveClosed!: () => void;
  private initDone!: (err?: Error) => void;
  private readonly nodes = new NodeTable();
  private readonly files = new Map<number, OpenFile>();
  private readonly dirs = new Map<number, OpenDir>();
  private nextFh = 1;
  private ended = false;
  /** the kernel's number for this connection (/sys/fs/fuse/connections/N), read right after mounting */
  conn: number | undefined;

  constructor(
    private readonly fd: number,
    readonly mountPoint: string,
    private readonly ops: FuseOps,
    private readonly opts: MountFuseOptions,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.initialized = new Promise((resolve, reject) => (this.initDone = (err) => (err ? reject(err) : resolve())));
  }

  start(): void {
    void this.loop();
  }

  /**
   * Abort the connection first (while the mount is still ours to name), then unmount, lazily when busy.
   * Aborting makes the session end now even when another mount namespace holds a copy of the mount or
   * a process still sits in it (it then gets ENOTCONN, as it would when pmxcfs stops).
   */
  async unmount(): Promise<void> {
    if (this.ended) return this.closed;
    const conn = await fuseConnectionOf(this.mountPoint);
    // only the connection recorded at mount time and still mounted here: a dev number is reused once freed
    if (conn !== undefined && conn === this.conn) await abortFuseConnection(conn);
    try {
      await runTool('umount', [this.mountPoint]);
    } catch (err) {
      const still = (await readMounts()).some((m) => m.mountPoint === this.mountPoint && m.fsType.startsWith('fuse'));
      if (still) {
        await runTool('umount', ['-l', this.mountPoint]).catch(() => {
          throw err;
        });
      }
    }
    // unmounted elsewhere before: nothing here can end the session, so do not wait for it
    if (conn === undefined) return;
    return this.closed;
  }

  /** One read of /dev/fuse outstanding at a time, on the libuv threadpool; each request is served concurrently. */
  private async loop(): Promise<void> {
    const buf = Buffer.alloc(READ_BUFFER_SIZE);
    for (;;) {
      let n: number;
      try {
        n = await new Promise<number>((resolve, reject) =>
          fs.read(this.fd, buf, 0, buf.length, null, (err, bytes) => (err ? reject(err) : resolve(bytes))),
        );
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ENOENT: the request was interrupted before it could be read
        if (code === 'EINTR' || code === 'EAGAIN' || code === 'ENOENT') continue;
        if (code !== 'ENODEV') this.opts.onError?.(err);
        break;
      }
      let req: FuseRequest;
      try {
        req = decodeRequest(Buffer.from(buf.subarray(0, n)));
      } catch (err) {
        this.opts.onError?.(err);
        continue;
      }
      void this.dispatch(req);
    }
    this.ended = true;
    this.initDone(new Error('the FUSE session ended before INIT'));
    fs.close(this.fd, () => this.resolveClosed());
  }

  /**
   * Replies are written synchronously: a write to /dev/fuse never waits (it hands the answer to the
   * waiting request), and an async write would need a free threadpool thread, which callers blocked in
   * this very mount can all be holding.
   */
  private send(unique: bigint, errno: number, body?: Buffer): void {
    try {
      fs.writeSync(this.fd, encodeReply(unique, errno, body));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: the request was interrupted or aborted meanwhile; ENODEV: the session is gone
      if (code !== 'ENOENT' && code !== 'ENODEV') this.opts.onError?.(err);
    }
  }

  private async dispatch(req: FuseRequest): Promise<void> {
    this.opts.trace?.(req.opcode, req.nodeid);
    if (req.opcode === Op.FORGET) return this.nodes.forget(req.nodeid, Number(req.arg.readBigUInt64LE(0)));
    if (req.opcode === Op.BATCH_FORGET) {
      const count = req.arg.readUInt32LE(0);
      for (let i = 0; i < count; i++) {
        const off = 8 + i * 16;
        this.nodes.forget(Number(req.arg.readBigUInt64LE(off)), Number(req.arg.readBigUInt64LE(off + 8)));
      }
      return;
    }
    // the kernel still waits for the interrupted request's own reply, which it gets when the op ends
    if (req.opcode === Op.INTERRUPT) return;
    let body: Buffer | undefined;
    try {
      body = await this.handle(req);
    } catch (err) {
      if (err instanceof FuseError && Number.isInteger(err.errno) && err.errno > 0) return this.send(req.unique, err.errno);
      this.opts.onError?.(err);
      return this.send(req.unique, E.EIO);
    }
    this.send(req.unique, 0, body);
  }

  /** Serve one request; the body of its reply (none for a bare success). */
  private async handle(req: FuseRequest): Promise<Buffer | undefined> {
    const { arg } = req;
    switch (req.opcode) {
      case Op.INIT:
        return this.init(arg);
      case Op.LOOKUP:
        return this.entry(childPath(this.nodes.path(req.nodeid), cString(arg).value));
      case Op.GETATTR:
        return this.attr(req.nodeid);
      case Op.SETATTR:
        return this.setattr(req.nodeid, arg);
      case Op.READLINK:
        return Buffer.from(await this.ops.readlink(this.nodes.path(req.nodeid)));
      case Op.SYMLINK: {
        const name = cString(arg);
        const target = cString(arg, name.next).value;
        const p = childPath(this.nodes.path(req.nodeid), name.value);
        await this.ops.symlink(target, p);
        return this.entry(p);
      }
      case Op.MKNOD: {
        const mode = arg.readUInt32LE(0);
        const p = childPath(this.nodes.path(req.nodeid), cString(arg, 16).value);
        if ((mode & S_IFMT) !== S_IFREG) throw new FuseError(E.EPERM, 'only regular files can be made');
        await this.ops.create(p, mode & 0o7777, true);
        return this.entry(p);
      }
      case Op.MKDIR: {
        const p = childPath(this.nodes.path(req.nodeid), cString(arg, 8).value);
        await this.ops.mkdir(p, arg.readUInt32LE(0) & 0o7777);
        return this.entry(p);
      }
      case Op.UNLINK:
      case Op.RMDIR: {
        const p = childPath(this.nodes.path(req.nodeid), cString(arg).value);
        await (req.opcode === Op.UNLINK ? this.ops.unlink(p) : this.ops.rmdir(p));
        this.nodes.detach(p);
        return undefined;
      }
      case Op.RENAME:
        return this.rename(req.nodeid, Number(arg.readBigUInt64LE(0)), arg, 8, 0);
      case Op.RENAME2:
        return this.rename(req.nodeid, Number(arg.readBigUInt64LE(0)), arg, 16, arg.readUInt32LE(8));
      case Op.OPEN:
        return this.open(req.nodeid, arg.readUInt32LE(0));
      case Op.READ: {
        const offset = Number(arg.readBigUInt64LE(8));
        const size = arg.readUInt32LE(16);
        const data = await this.ops.read(this.nodes.path(req.nodeid));
        return data.subarray(Math.min(offset, data.length), Math.min(offset + size, data.length));
      }
      case Op.WRITE:
        return this.write(req.nodeid, arg);
      case Op.STATFS:
        return encodeStatfsOut({ blocks: 32768, bfree: 30720, files: 65536, ffree: 60000, bsize: 4096, namelen: 255 });
      case Op.RELEASE:
        this.files.delete(Number(arg.readBigUInt64LE(0)));
        return undefined;
      case Op.RELEASEDIR:
        this.dirs.delete(Number(arg.readBigUInt64LE(0)));
        return undefined;
      case Op.FLUSH:
      case Op.FSYNC:
      case Op.FSYNCDIR:
      case Op.ACCESS:
      case Op.DESTROY:
        return undefined;
      case Op.OPENDIR: {
        const fh = this.nextFh++;
        this.dirs.set(fh, {});
        return encodeOpenOut(fh, 0);
      }
      case Op.READDIR:
        return this.readdir(req.nodeid, arg);
      case Op.CREATE:
        return this.create(req.nodeid, arg);
      case Op.GETXATTR:
      case Op.REMOVEXATTR:
        throw new FuseError(E.ENODATA);
      case Op.SETXATTR:
        throw new FuseError(E.ENOTSUP);
      case Op.LISTXATTR:
        // an empty list: with size 0 the caller asks how large the list is
        return arg.readUInt32LE(0) === 0 ? encodeXattrSizeOut(0) : Buffer.alloc(0);
      default:
        // STATX among them: the kernel then falls back to GETATTR
        throw new FuseError(E.ENOSYS);
    }
  }

  private init(arg: Buffer): Buffer {
    const k = decodeInitIn(arg);
    if (k.major !== FUSE_KERNEL_VERSION) {
      const err = new Error(`kernel FUSE protocol ${k.major}.${k.minor} is not ${FUSE_KERNEL_VERSION}.x`);
      this.initDone(err);
      throw new FuseError(E.EPROTO, err.message);
    }
    this.initDone();
    return encodeInitOut(Math.min(k.minor, FUSE_MAX_MINOR), k.maxReadahead, MAX_WRITE);
  }

  private async entry(p: string): Promise<Buffer> {
    const a = await this.ops.getattr(p);
    // counted only once the reply is certain: the kernel forgets exactly what it was given
    return encodeEntryOut(this.nodes.lookup(p), 0, a);
  }

  private async attr(nodeid: number, a?: FuseAttr): Promise<Buffer> {
    return encodeAttrOut(nodeid, a ?? (await this.ops.getattr(this.nodes.path(nodeid))));
  }

  private async setattr(nodeid: number, arg: Buffer): Promise<Buffer> {
    const p = this.nodes.path(nodeid);
    const valid = arg.readUInt32LE(0);
    if (valid & FATTR_SIZE) await this.ops.truncate(p, Number(arg.readBigUInt64LE(16)));
    if (valid & FATTR_MTIME_NOW) await this.ops.utimens(p, Date.now());
    else if (valid & FATTR_MTIME) await this.ops.utimens(p, Number(arg.readBigInt64LE(40)) * 1000 + arg.readUInt32LE(60) / 1e6);
    // mode, uid, gid and atime are accepted without effect, as pmxcfs does
    return this.attr(nodeid);
  }

  private async rename(dirId: number, newDirId: number, arg: Buffer, namesAt: number, flags: number): Promise<undefined> {
    if (flags & ~RENAME_NOREPLACE) throw new FuseError(E.EINVAL, 'only RENAME_NOREPLACE is supported');
    const oldName = cString(arg, namesAt);
    const from = childPath(this.nodes.path(dirId), oldName.value);
    const to = childPath(this.nodes.path(newDirId), cString(arg, oldName.next).value);
    if (flags & RENAME_NOREPLACE && (await this.exists(to))) throw new FuseError(E.EEXIST);
    await this.ops.rename(from, to);
    this.nodes.rename(from, to);
    return undefined;
  }

  private async exists(p: string): Promise<boolean> {
    try {
      await this.ops.getattr(p);
      return true;
    } catch (err) {
      if (err instanceof FuseError && err.errno === E.ENOENT) return false;
      throw err;
    }
  }

  private async open(nodeid: number, flags: number): Promise<Buffer> {
    const p = this.nodes.path(nodeid);
    // without FUSE_ATOMIC_O_TRUNC the kernel truncates by SETATTR; kept for kernels that pass it anyway
    if (flags & O_TRUNC) await this.ops.truncate(p, 0);
    else await this.ops.getattr(p);
    return this.newFile(flags);
  }

  private newFile(flags: number): Buffer {
    const fh = this.nextFh++;
    this.files.set(fh, { append: (flags & O_APPEND) !== 0 });
    return encodeOpenOut(fh, FOPEN_DIRECT_IO);
  }

  private async create(dirId: number, arg: Buffer): Promise<Buffer> {
    const flags = arg.readUInt32LE(0);
    const mode = arg.readUInt32LE(4);
    const p = childPath(this.nodes.path(dirId), cString(arg, 16).value);
    const exclusive = (flags & O_EXCL) !== 0;
    await this.ops.create(p, mode & 0o7777, exclusive);
    if (!exclusive && flags & O_TRUNC) await this.ops.truncate(p, 0);
    const entry = await this.entry(p);
    return Buffer.concat([entry, this.newFile(flags)]);
  }

  private async write(nodeid: number, arg: Buffer): Promise<Buffer> {
    const fh = Number(arg.readBigUInt64LE(0));
    const size = arg.readUInt32LE(16);
    const data = arg.subarray(40, 40 + size);
    const p = this.nodes.path(nodeid);
    // the kernel's idea of the end of file may be stale: the file can change behind its back
    const offset = this.files.get(fh)?.append ? (await this.ops.getattr(p)).size : Number(arg.readBigUInt64LE(8));
    return encodeWriteOut(await this.ops.write(p, offset, data));
  }

  private async readdir(nodeid: number, arg: Buffer): Promise<Buffer> {
    const fh = Number(arg.readBigUInt64LE(0));
    const offset = Number(arg.readBigUInt64LE(8));
    const size = arg.readUInt32LE(16);
    const dir = this.dirs.get(fh) ?? {};
    if (!dir.entries || offset === 0) {
      const p = this.nodes.path(nodeid);
      const list = await this.ops.readdir(p);
      dir.entries = [
        { name: '.', ino: nodeid, mode: S_IFDIR },
        { name: '..', ino: this.nodes.ino(parentPath(p)), mode: S_IFDIR },
        ...list.map((e) => ({ name: e.name, ino: this.nodes.ino(childPath(p, e.name)), mode: e.attr.mode })),
      ];
    }
    const out = Buffer.alloc(size);
    let pos = 0;
    for (let i = offset; i < dir.entries.length; i++) {
      const e = dir.entries[i]!;
      if (pos + direntSize(e.name) > size) break;
      pos = writeDirent(out, pos, e.ino, i + 1, e.mode, e.name);
    }
    return out.subarray(0, pos);
  }
}
