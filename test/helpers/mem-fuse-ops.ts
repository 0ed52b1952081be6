/** An in-memory FuseOps with rename(2)-like semantics, to mount in tests. */
import { constants } from 'node:os';
import { FuseError, type FuseAttr, type FuseDirEntry, type FuseOps } from '../../src/lab/sim/cfs/fuse-ops.js';

const E = constants.errno;

interface MemNode {
  mode: number;
  data: Buffer;
  target?: string;
  mtimeMs: number;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** A tree of files, directories and symlinks held in a Map; `failWith` and `crashOn` make chosen operations fail. */
export class MemFuseOps implements FuseOps {
  readonly nodes = new Map<string, MemNode>([['/', { mode: 0o040755, data: Buffer.alloc(0), mtimeMs: Date.now() }]]);
  /** errno thrown by operations on a path: keyed by 'op path' (one operation) or by the path alone (all) */
  readonly failWith = new Map<string, number>();
  /** a plain Error (not a FuseError) thrown by one operation on one path, keyed by 'op path' */
  readonly crashOn = new Map<string, Error>();
  /** operation names in call order */
  readonly calls: string[] = [];

  /** Put a file straight into the store, as a write arriving from elsewhere would. */
  put(p: string, content: string | Buffer): void {
    this.nodes.set(p, { mode: 0o100640, data: Buffer.from(content), mtimeMs: Date.now() });
  }

  /** The content of a file in the store. */
  text(p: string): string | undefined {
    return this.nodes.get(p)?.data.toString();
  }

  private check(op: string, p: string): void {
    this.calls.push(`${op} ${p}`);
    const errno = this.failWith.get(`${op} ${p}`) ?? this.failWith.get(p);
    if (errno !== undefined) throw new FuseError(errno);
    const crash = this.crashOn.get(`${op} ${p}`);
    if (crash) throw crash;
  }

  private get(p: string): MemNode {
    const n = this.nodes.get(p);
    if (!n) throw new FuseError(E.ENOENT, p);
    return n;
  }

  private file(p: string): MemNode {
    const n = this.get(p);
    if ((n.mode & 0o170000) === 0o040000) throw new FuseError(E.EISDIR, p);
    return n;
  }

  private newEntry(p: string, n: MemNode): void {
    const parent = this.nodes.get(parentOf(p));
    if (!parent) throw new FuseError(E.ENOENT, parentOf(p));
    if ((parent.mode & 0o170000) !== 0o040000) throw new FuseError(E.ENOTDIR, parentOf(p));
    if (this.nodes.has(p)) throw new FuseError(E.EEXIST, p);
    this.nodes.set(p, n);
  }

  private children(p: string): string[] {
    const prefix = p === '/' ? '/' : `${p}/`;
    return [...this.nodes.keys()].filter((k) => k !== p && k.startsWith(prefix) && !k.slice(prefix.length).includes('/'));
  }

  async getattr(p: string): Promise<FuseAttr> {
    this.check('getattr', p);
    const n = this.get(p);
    const size = n.target !== undefined ? Buffer.byteLength(n.target) : n.data.length;
    const isDir = (n.mode & 0o170000) === 0o040000;
    return { mode: n.mode, size: isDir ? 0 : size, mtimeMs: n.mtimeMs, nlink: isDir ? 2 : 1, uid: 0, gid: 33 };
  }

  async readdir(p: string): Promise<FuseDirEntry[]> {
    this.check('readdir', p);
    this.get(p);
    return Promise.all(this.children(p).map(async (c) => ({ name: c.slice(c.lastIndexOf('/') + 1), attr: await this.getattr(c) })));
  }

  readlink(p: string): string {
    this.check('readlink', p);
    const n = this.get(p);
    if (n.target === undefined) throw new FuseError(E.EINVAL, p);
    return n.target;
  }

  async read(p: string): Promise<Buffer> {
    this.check('read', p);
    return Buffer.from(this.file(p).data);
  }

  write(p: string, offset: number, data: Buffer): number {
    this.check('write', p);
    const n = this.file(p);
    const end = offset + data.length;
    const out = Buffer.alloc(Math.max(n.data.length, end));
    n.data.copy(out);
    data.copy(out, offset);
    n.data = out;
    n.mtimeMs = Date.now();
    return data.length;
  }

  create(p: string, mode: number, exclusive: boolean): void {
    this.check('create', p);
    if (this.nodes.has(p) && !exclusive) return;
    this.newEntry(p, { mode: 0o100000 | (mode & 0o7777), data: Buffer.alloc(0), mtimeMs: Date.now() });
  }

  truncate(p: string, size: number): void {
    this.check('truncate', p);
    const n = this.file(p);
    const out = Buffer.alloc(size);
    n.data.copy(out, 0, 0, Math.min(size, n.data.length));
    n.data = out;
    n.mtimeMs = Date.now();
  }

  mkdir(p: string, mode: number): void {
    this.check('mkdir', p);
    this.newEntry(p, { mode: 0o040000 | (mode & 0o7777), data: Buffer.alloc(0), mtimeMs: Date.now() });
  }

  unlink(p: string): void {
    this.check('unlink', p);
    this.file(p);
    this.nodes.delete(p);
  }

  rmdir(p: string): void {
    this.check('rmdir', p);
    const n = this.get(p);
    if ((n.mode & 0o170000) !== 0o040000) throw new FuseError(E.ENOTDIR, p);
    if (this.children(p).length) throw new FuseError(E.ENOTEMPTY, p);
    this.nodes.delete(p);
  }

  rename(from: string, to: string): void {
    this.check('rename', from);
    this.check('rename-to', to);
    const n = this.get(from);
    const existing = this.nodes.get(to);
    const isDir = (n.mode & 0o170000) === 0o040000;
    if (existing) {
      const targetIsDir = (existing.mode & 0o170000) === 0o040000;
      if (targetIsDir && !isDir) throw new FuseError(E.EISDIR, to);
      if (!targetIsDir && isDir) throw new FuseError(E.ENOTDIR, to);
      if (targetIsDir && this.children(to).length) throw new FuseError(E.ENOTEMPTY, to);
    } else if (!this.nodes.has(parentOf(to))) throw new FuseError(E.ENOENT, parentOf(to));
    const moved = [...this.nodes.entries()].filter(([k]) => k === from || k.startsWith(`${from}/`));
    for (const [k] of moved) this.nodes.delete(k);
    this.nodes.delete(to);
    for (const [k, v] of moved) this.nodes.set(to + k.slice(from.length), v);
  }

  symlink(target: string, p: string): void {
    this.check('symlink', p);
    this.newEntry(p, { mode: 0o120777, data: Buffer.alloc(0), target, mtimeMs: Date.now() });
  }

  utimens(p: string, mtimeMs: number): void {
    this.check('utimens', p);
    this.get(p).mtimeMs = mtimeMs;
  }
}
