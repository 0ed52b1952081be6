/**
 * The nodeid ↔ path table of a FUSE session. The kernel names entries by nodeid and counts how many
 * times each was handed out (LOOKUP, CREATE, MKDIR…); FORGET gives those counts back. Paths follow
 * renames; an entry removed through the mount keeps its path only for requests already in flight.
 */
import { constants } from 'node:os';
import { FuseError } from './fuse-ops.js';

/** The root directory's nodeid (FUSE_ROOT_ID). */
export const ROOT_ID = 1;

interface Node {
  id: number;
  path: string;
  /** lookups the kernel holds; 0 for entries only listed by READDIR */
  nlookup: number;
  /** false once unlinked, removed or renamed over through the mount */
  attached: boolean;
}

/** `name` inside directory `dir`. */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The parent directory of `p` ('/' for '/'). */
export function parentPath(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** Nodeids handed to the kernel, never reused within a session (so generation can stay 0). */
export class NodeTable {
  private readonly byId = new Map<number, Node>();
  private readonly byPath = new Map<string, Node>();
  private nextId = ROOT_ID + 1;
  /** entries listed by READDIR but never looked up are dropped once there are this many nodes */
  private pruneAt = 4096;

  constructor() {
    const root: Node = { id: ROOT_ID, path: '/', nlookup: 1, attached: true };
    this.byId.set(ROOT_ID, root);
    this.byPath.set('/', root);
  }

  /** The path of a nodeid the kernel sent (ESTALE when it is not known). */
  path(id: number): string {
    const n = this.byId.get(id);
    if (!n) throw new FuseError(constants.errno.ESTALE, `unknown nodeid ${id}`);
    return n.path;
  }

  /** The nodeid of `path`, counting one more lookup held by the kernel. */
  lookup(path: string): number {
    const n = this.node(path);
    n.nlookup++;
    return n.id;
  }

  /** The nodeid of `path` without counting a lookup (inode numbers of a listing). */
  ino(path: string): number {
    return this.node(path).id;
  }

  /** FORGET: the kernel drops `count` lookups of `id`. */
  forget(id: number, count: number): void {
    const n = this.byId.get(id);
    if (!n || id === ROOT_ID) return;
    n.nlookup = Math.max(0, n.nlookup - count);
    if (n.nlookup === 0) this.drop(n);
  }

  /** The entry at `path` was removed: a later entry at the same path gets a new nodeid. */
  detach(path: string): void {
    const n = this.byPath.get(path);
    if (!n || n.id === ROOT_ID) return;
    this.byPath.delete(path);
    n.attached = false;
    if (n.nlookup === 0) this.byId.delete(n.id);
  }

  /** `from` was renamed to `to`: re-key it and everything below it; what was at `to` is gone. */
  rename(from: string, to: string): void {
    if (from === to) return;
    for (const p of this.pathsUnder(to)) this.detach(p);
    const moved = this.pathsUnder(from).map((p) => this.byPath.get(p) as Node);
    for (const n of moved) this.byPath.delete(n.path);
    for (const n of moved) {
      n.path = to + n.path.slice(from.length);
      this.byPath.set(n.path, n);
    }
  }

  /** How many nodeids are known (for tests of the table's bookkeeping). */
  get size(): number {
    return this.byId.size;
  }

  private pathsUnder(dir: string): string[] {
    const prefix = `${dir}/`;
    return [...this.byPath.keys()].filter((p) => p === dir || p.startsWith(prefix));
  }

  private node(path: string): Node {
    const known = this.byPath.get(path);
    if (known) return known;
    if (this.byId.size >= this.pruneAt) this.prune();
    const n: Node = { id: this.nextId++, path, nlookup: 0, attached: true };
    this.byId.set(n.id, n);
    this.byPath.set(path, n);
    return n;
  }

  private drop(n: Node): void {
    this.byId.delete(n.id);
    if (n.attached && this.byPath.get(n.path) === n) this.byPath.delete(n.path);
  }

  private prune(): void {
    for (const n of [...this.byId.values()]) if (n.nlookup === 0 && n.id !== ROOT_ID) this.drop(n);
    this.pruneAt = Math.max(4096, this.byId.size * 2);
  }
}
