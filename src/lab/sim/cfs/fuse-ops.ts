/**
 * The path-based operations a FUSE file system serves (the shape of libfuse's high-level API, which
 * pmxcfs itself uses). Paths are absolute inside the mount ('/' is its root). An operation fails by
 * throwing a `FuseError` with a positive errno (ENOENT, EACCES, EROFS…); the server turns it into the
 * negative error the kernel expects.
 */

/** What a stat of an entry returns; times in milliseconds since the epoch. */
export interface FuseAttr {
  /** S_IFREG | 0o640, S_IFDIR | 0o755, S_IFLNK | 0o777 … */
  mode: number;
  size: number;
  mtimeMs: number;
  nlink: number;
  uid: number;
  gid: number;
}

/** One entry of a directory listing ('.' and '..' are added by the server). */
export interface FuseDirEntry {
  name: string;
  attr: FuseAttr;
}

/** An error with the errno an operation returns to the kernel. */
export class FuseError extends Error {
  constructor(readonly errno: number, message?: string) {
    super(message ?? `errno ${errno}`);
  }
}

/** The operations of one mounted file system. Every method may be async. */
export interface FuseOps {
  getattr(path: string): FuseAttr | Promise<FuseAttr>;
  readdir(path: string): FuseDirEntry[] | Promise<FuseDirEntry[]>;
  readlink(path: string): string | Promise<string>;
  /** the whole content of a regular file (pmxcfs files are small) */
  read(path: string): Buffer | Promise<Buffer>;
  /** write `data` at `offset`, extending the file; returns the bytes written */
  write(path: string, offset: number, data: Buffer): number | Promise<number>;
  /** create an empty regular file (O_CREAT); EEXIST when it exists and `exclusive` */
  create(path: string, mode: number, exclusive: boolean): void | Promise<void>;
  truncate(path: string, size: number): void | Promise<void>;
  mkdir(path: string, mode: number): void | Promise<void>;
  unlink(path: string): void | Promise<void>;
  rmdir(path: string): void | Promise<void>;
  /** rename(2) semantics: replaces an existing file at `to` */
  rename(from: string, to: string): void | Promise<void>;
  symlink(target: string, path: string): void | Promise<void>;
  /** utimensat: set the modification time */
  utimens(path: string, mtimeMs: number): void | Promise<void>;
  /** chmod/chown succeed without effect on pmxcfs files; the server answers them with getattr */
}
