/** The member names of a (gzipped) tar archive, read without running tar: backups are checked on both sides. */
import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

/** Why an archive could not be read. */
export class TarFormatError extends Error {}

function field(h: Buffer, at: number, len: number): string {
  const raw = h.subarray(at, at + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? len : end).toString('utf8');
}

function octal(h: Buffer, at: number, len: number): number {
  // GNU tar writes sizes beyond 8 GiB in base-256 (high bit set); backups of cluster files never get there
  if ((h[at] ?? 0) & 0x80) throw new TarFormatError('archive member too large');
  const text = field(h, at, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad size field '${text}'`);
  return parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = octal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
  return sum === stored;
}

/** A member name as tar lists it, without a leading `./` or a trailing `/`. */
export function normalizeEntry(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function paxPath(data: Buffer): string | undefined {
  // records are "<len> key=value\n"
  let rest = data.toString('utf8');
  while (rest.length > 0) {
    const m = /^(\d+) /.exec(rest);
    if (!m) return undefined;
    const len = Number(m[1]);
    const record = rest.slice(m[0].length, len - 1);
    if (record.startsWith('path=')) return record.slice('path='.length);
    rest = rest.slice(len);
  }
  return undefined;
}

/** One member of an archive. */
export interface TarMember {
  name: string;
  /** `0` (or NUL) file, `5` directory, `2` symlink, … */
  type: string;
  data: Buffer;
}

/** The members of an uncompressed tar (ustar, GNU long names and pax paths understood). */
export function tarMembers(tar: Buffer): TarMember[] {
  const members: TarMember[] = [];
  let off = 0;
  let longName: string | undefined;
  let ended = false;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) {
      ended = true;
      break;
    }
    if (!checksumOk(h)) throw new TarFormatError(`bad header checksum at byte ${off}`);
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156] ?? 0);
    const dataStart = off + BLOCK;
    const data = tar.subarray(dataStart, dataStart + size);
    if (data.length < size) throw new TarFormatError('archive is truncated');
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === 'g') continue;
    const prefix = field(h, 257, 6).startsWith('ustar') ? field(h, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    const n = normalizeEntry(name);
    if (n !== '' && n !== '.') members.push({ name: n, type: type === '\0' ? '0' : type, data });
  }
  // tar ends with zero blocks; without them the archive was cut short
  if (!ended) throw new TarFormatError('archive is truncated (no end-of-archive marker)');
  return members;
}

/** Names of the members of an uncompressed tar. */
export function tarNames(tar: Buffer): string[] {
  return tarMembers(tar).map((m) => m.name);
}

/** The content of one regular file of a gzipped tar, or undefined when it has no such member. */
export function tarGzFile(gz: Buffer, name: string): Buffer | undefined {
  return gunzipTar(gz).find((m) => m.name === normalizeEntry(name) && m.type === '0')?.data;
}

function gunzipTar(gz: Buffer): TarMember[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz);
  } catch (e) {
    throw new TarFormatError(`not a gzip archive: ${e instanceof Error ? e.message : String(e)}`);
  }
  return tarMembers(tar);
}

/** Names of the members of a gzipped tar; TarFormatError when it is not one. */
export function tarGzNames(gz: Buffer): string[] {
  return gunzipTar(gz).map((m) => m.name);
}
