/**
 * The FUSE kernel protocol's numbers and wire structs (linux/fuse.h, protocol 7.31, little-endian):
 * the opcode table, request header decoding and reply body encoding.
 */
import type { FuseAttr } from './fuse-ops.js';

/** Request opcodes (enum fuse_opcode). */
export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  RENAME2: 45,
  STATX: 52,
} as const;

/** The protocol version this server speaks; the kernel adapts to an older minor. */
export const FUSE_KERNEL_VERSION = 7;
/** Highest minor whose struct layouts this module encodes. */
export const FUSE_MAX_MINOR = 31;

/** fuse_setattr_in.valid bits. */
export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_ATIME = 1 << 4;
export const FATTR_MTIME = 1 << 5;
export const FATTR_MTIME_NOW = 1 << 8;

/** fuse_open_out.open_flags: no page cache for this open file. */
export const FOPEN_DIRECT_IO = 1 << 0;

/** RENAME2 flags (linux/fs.h). */
export const RENAME_NOREPLACE = 1 << 0;

/** Header sizes. */
export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
/** fuse_attr and the replies built around it. */
export const ATTR_SIZE = 88;
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
export const OPEN_OUT_SIZE = 16;
/** fuse_dirent without its name. */
export const DIRENT_HEADER_SIZE = 24;

/** struct fuse_in_header plus the request's argument bytes. */
export interface FuseRequest {
  opcode: number;
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
  /** the bytes after the header (the request's arguments) */
  arg: Buffer;
}

/** Decode one request as read from /dev/fuse (one read returns exactly one request). */
export function decodeRequest(buf: Buffer): FuseRequest {
  if (buf.length < IN_HEADER_SIZE) throw new Error(`short FUSE request (${buf.length} bytes)`);
  const len = buf.readUInt32LE(0);
  return {
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: Number(buf.readBigUInt64LE(16)),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
    arg: buf.subarray(IN_HEADER_SIZE, Math.min(len, buf.length)),
  };
}

/** struct fuse_out_header followed by `body`; `errno` > 0 sends an error (and no body). */
export function encodeReply(unique: bigint, errno: number, body?: Buffer): Buffer {
  const b = errno ? undefined : body;
  const out = Buffer.alloc(OUT_HEADER_SIZE + (b?.length ?? 0));
  out.writeUInt32LE(out.length, 0);
  out.writeInt32LE(-errno, 4);
  out.writeBigUInt64LE(unique, 8);
  if (b) b.copy(out, OUT_HEADER_SIZE);
  return out;
}

/** A NUL-terminated string at `off`, and the offset just past its NUL. */
export function cString(buf: Buffer, off = 0): { value: string; next: number } {
  let end = buf.indexOf(0, off);
  if (end < 0) end = buf.length;
  return { value: buf.toString('utf8', off, end), next: end + 1 };
}

/** struct fuse_init_in (the fields this server reads). */
export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
}

/** Decode struct fuse_init_in. */
export function decodeInitIn(arg: Buffer): InitIn {
  return { major: arg.readUInt32LE(0), minor: arg.readUInt32LE(4), maxReadahead: arg.readUInt32LE(8), flags: arg.readUInt32LE(12) };
}

/** struct fuse_init_out (64 bytes); flags 0: no optional kernel feature is asked for. */
export function encodeInitOut(minor: number, maxReadahead: number, maxWrite: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(FUSE_KERNEL_VERSION, 0);
  b.writeUInt32LE(minor, 4);
  b.writeUInt32LE(maxReadahead, 8);
  b.writeUInt32LE(0, 12); // flags
  b.writeUInt16LE(0, 16); // max_background: kernel default
  b.writeUInt16LE(0, 18); // congestion_threshold: kernel default
  b.writeUInt32LE(maxWrite, 20);
  b.writeUInt32LE(0, 24); // time_gran
  return b;
}

function writeAttr(b: Buffer, off: number, ino: number, a: FuseAttr): void {
  const sec = Math.floor(a.mtimeMs / 1000);
  const nsec = Math.max(0, Math.min(999_999_999, Math.round((a.mtimeMs - sec * 1000) * 1e6)));
  b.writeBigUInt64LE(BigInt(ino), off);
  b.writeBigUInt64LE(BigInt(a.size), off + 8);
  b.writeBigUInt64LE(BigInt(Math.ceil(a.size / 512)), off + 16);
  for (const o of [24, 32, 40]) b.writeBigInt64LE(BigInt(sec), off + o); // atime, mtime, ctime
  for (const o of [48, 52, 56]) b.writeUInt32LE(nsec, off + o);
  b.writeUInt32LE(a.mode >>> 0, off + 60);
  b.writeUInt32LE(a.nlink >>> 0, off + 64);
  b.writeUInt32LE(a.uid >>> 0, off + 68);
  b.writeUInt32LE(a.gid >>> 0, off + 72);
  b.writeUInt32LE(0, off + 76); // rdev
  b.writeUInt32LE(4096, off + 80); // blksize
  b.writeUInt32LE(0, off + 84); // flags
}

/** struct fuse_entry_out with zero entry and attr timeouts (the tree changes behind the kernel). */
export function encodeEntryOut(nodeid: number, generation: number, a: FuseAttr): Buffer {
  const b = Buffer.alloc(ENTRY_OUT_SIZE);
  b.writeBigUInt64LE(BigInt(nodeid), 0);
  b.writeBigUInt64LE(BigInt(generation), 8);
  // entry_valid, attr_valid and their nsec stay 0
  writeAttr(b, 40, nodeid, a);
  return b;
}

/** struct fuse_attr_out with a zero timeout. */
export function encodeAttrOut(nodeid: number, a: FuseAttr): Buffer {
  const b = Buffer.alloc(ATTR_OUT_SIZE);
  writeAttr(b, 16, nodeid, a);
  return b;
}

/** struct fuse_open_out. */
export function encodeOpenOut(fh: number, openFlags: number): Buffer {
  const b = Buffer.alloc(OPEN_OUT_SIZE);
  b.writeBigUInt64LE(BigInt(fh), 0);
  b.writeUInt32LE(openFlags, 8);
  return b;
}

/** struct fuse_write_out. */
export function encodeWriteOut(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(size, 0);
  return b;
}

/** struct fuse_getxattr_out (the size answer of GETXATTR/LISTXATTR when the caller asked with size 0). */
export function encodeXattrSizeOut(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(size, 0);
  return b;
}

/** The numbers STATFS reports. */
export interface StatfsNumbers {
  blocks: number;
  bfree: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
}

/** struct fuse_statfs_out (struct fuse_kstatfs, 80 bytes). */
export function encodeStatfsOut(s: StatfsNumbers): Buffer {
  const b = Buffer.alloc(80);
  b.writeBigUInt64LE(BigInt(s.blocks), 0);
  b.writeBigUInt64LE(BigInt(s.bfree), 8);
  b.writeBigUInt64LE(BigInt(s.bfree), 16); // bavail
  b.writeBigUInt64LE(BigInt(s.files), 24);
  b.writeBigUInt64LE(BigInt(s.ffree), 32);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(s.namelen, 44);
  b.writeUInt32LE(s.bsize, 48); // frsize
  return b;
}

/** Bytes one fuse_dirent with this name takes (padded to 8). */
export function direntSize(name: string): number {
  return (DIRENT_HEADER_SIZE + Buffer.byteLength(name) + 7) & ~7;
}

/** Append one struct fuse_dirent at `off` of `b`; `nextOff` is the offset the kernel passes to continue after it. */
export function writeDirent(b: Buffer, off: number, ino: number, nextOff: number, mode: number, name: string): number {
  const n = Buffer.byteLength(name);
  b.writeBigUInt64LE(BigInt(ino), off);
  b.writeBigUInt64LE(BigInt(nextOff), off + 8);
  b.writeUInt32LE(n, off + 16);
  b.writeUInt32LE((mode & 0o170000) >>> 12, off + 20); // DT_* == S_IFMT >> 12
  b.write(name, off + DIRENT_HEADER_SIZE, 'utf8');
  const size = direntSize(name);
  b.fill(0, off + DIRENT_HEADER_SIZE + n, off + size);
  return off + size;
}
