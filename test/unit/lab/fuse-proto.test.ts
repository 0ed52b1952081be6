/** FUSE wire structs and the nodeid table, checked against linux/fuse.h offsets written out by hand. */
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { FuseError } from '../../../src/lab/sim/cfs/fuse-ops.js';
import { NodeTable, ROOT_ID } from '../../../src/lab/sim/cfs/fuse-nodes.js';
import {
  decodeRequest,
  encodeAttrOut,
  encodeEntryOut,
  encodeInitOut,
  encodeOpenOut,
  encodeReply,
  writeDirent,
} from '../../../src/lab/sim/cfs/fuse-proto.js';

const attr = { mode: 0o100640, size: 1000, mtimeMs: 1_700_000_000_250, nlink: 1, uid: 0, gid: 33 };

describe('FUSE wire structs', () => {
  it('decodes fuse_in_header and keeps the argument bytes', () => {
    const b = Buffer.alloc(45);
    b.writeUInt32LE(45, 0); // len
    b.writeUInt32LE(1, 4); // opcode LOOKUP
    b.writeBigUInt64LE(0x1_0000_0002n, 8); // unique
    b.writeBigUInt64LE(7n, 16); // nodeid
    b.writeUInt32LE(1000, 24); // uid
    b.writeUInt32LE(33, 28); // gid
    b.writeUInt32LE(4242, 32); // pid
    b.write('a.cf\0', 40);
    const r = decodeRequest(b);
    expect({ ...r, arg: r.arg.toString() }).toEqual({ opcode: 1, unique: 0x1_0000_0002n, nodeid: 7, uid: 1000, gid: 33, pid: 4242, arg: 'a.cf\0' });
  });

  it('encodes fuse_out_header: error replies carry -errno and no body', () => {
    expect(encodeReply(5n, 2, Buffer.from('ignored')).toString('hex')).toBe('10000000' + 'feffffff' + '0500000000000000');
    expect(encodeReply(6n, 0, Buffer.from('ab')).toString('hex')).toBe('12000000' + '00000000' + '0600000000000000' + '6162');
  });

  it('encodes fuse_entry_out (128 bytes) with zero timeouts and fuse_attr at offset 40', () => {
    const b = encodeEntryOut(9, 0, attr);
    expect(b.length).toBe(128);
    expect(b.readBigUInt64LE(0)).toBe(9n); // nodeid
    expect(b.subarray(8, 40).equals(Buffer.alloc(32))).toBe(true); // generation, entry/attr valid (+nsec)
    expect(b.readBigUInt64LE(40)).toBe(9n); // attr.ino
    expect(b.readBigUInt64LE(48)).toBe(1000n); // size
    expect(b.readBigUInt64LE(56)).toBe(2n); // blocks of 512
    expect(b.readBigUInt64LE(72)).toBe(1_700_000_000n); // mtime
    expect(b.readUInt32LE(92)).toBe(250_000_000); // mtimensec
    expect(b.readUInt32LE(100)).toBe(0o100640); // mode
    expect(b.readUInt32LE(104)).toBe(1); // nlink
    expect(b.readUInt32LE(112)).toBe(33); // gid
    expect(b.readUInt32LE(120)).toBe(4096); // blksize
  });

  it('encodes fuse_attr_out (104 bytes) with fuse_attr at offset 16', () => {
    const b = encodeAttrOut(3, attr);
    expect(b.length).toBe(104);
    expect(b.readBigUInt64LE(0)).toBe(0n); // attr_valid
    expect(b.readBigUInt64LE(16)).toBe(3n);
    expect(b.readUInt32LE(16 + 60)).toBe(0o100640);
  });

  it('encodes fuse_init_out (64 bytes) and fuse_open_out', () => {
    const i = encodeInitOut(31, 131072, 131072);
    expect(i.length).toBe(64);
    expect([i.readUInt32LE(0), i.readUInt32LE(4), i.readUInt32LE(8), i.readUInt32LE(12), i.readUInt32LE(20)]).toEqual([7, 31, 131072, 0, 131072]);
    expect(encodeOpenOut(4, 1).toString('hex')).toBe('0400000000000000' + '01000000' + '00000000');
  });

  it('writes fuse_dirent records padded to 8 bytes with DT_* from the mode', () => {
    const b = Buffer.alloc(64, 0xff);
    const end = writeDirent(b, 0, 12, 3, 0o100640, 'ab');
    expect(end).toBe(32);
    expect(b.subarray(0, 32).toString('hex')).toBe(
      '0c00000000000000' + '0300000000000000' + '02000000' + '08000000' + '6162' + '000000000000',
    );
    expect(writeDirent(b, 32, 1, 4, 0o040755, '..')).toBe(64);
    expect(b.readUInt32LE(32 + 20)).toBe(4); // DT_DIR
  });
});

describe('nodeid table', () => {
  it('hands out one nodeid per path, counts lookups and drops it when all are forgotten', () => {
    const t = new NodeTable();
    const a = t.lookup('/a');
    expect(t.lookup('/a')).toBe(a);
    t.forget(a, 1);
    expect(t.path(a)).toBe('/a');
    t.forget(a, 1);
    expect(() => t.path(a)).toThrow(FuseError);
    const again = t.lookup('/a');
    expect(again).not.toBe(a);
    t.forget(ROOT_ID, 5);
    expect(t.path(ROOT_ID)).toBe('/');
  });

  it('answers ESTALE for an unknown nodeid', () => {
    try {
      new NodeTable().path(99);
      expect.unreachable();
    } catch (err) {
      expect((err as FuseError).errno).toBe(constants.errno.ESTALE);
    }
  });

  it('re-keys a renamed directory and everything below it; what was at the target is detached', () => {
    const t = new NodeTable();
    const d = t.lookup('/d');
    const c = t.lookup('/d/e/c');
    const other = t.lookup('/dd/x');
    const old = t.lookup('/z');
    t.rename('/d', '/z');
    expect([t.path(d), t.path(c), t.path(other)]).toEqual(['/z', '/z/e/c', '/dd/x']);
    expect(t.lookup('/z/e/c')).toBe(c);
    expect(t.lookup('/z')).toBe(d);
    // the replaced entry keeps its old path for requests in flight, but the path now names the moved one
    expect(t.path(old)).toBe('/z');
    expect(t.lookup('/d')).not.toBe(d);
  });

  it('gives a path created again after an unlink a new nodeid', () => {
    const t = new NodeTable();
    const f = t.lookup('/f');
    t.detach('/f');
    expect(t.path(f)).toBe('/f');
    const g = t.lookup('/f');
    expect(g).not.toBe(f);
    t.forget(f, 1);
    expect(t.path(g)).toBe('/f');
  });

  it('numbers listed entries without counting a lookup', () => {
    const t = new NodeTable();
    const i = t.ino('/listed');
    expect(t.lookup('/listed')).toBe(i);
    t.forget(i, 1);
    expect(() => t.path(i)).toThrow(FuseError);
  });
});
