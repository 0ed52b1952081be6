/** `qm list` and `pct list` text (reference §4.5). Both print nothing at all when there are no guests. */
import { ParseError } from './errors.js';
import { requireText, splitLines, toInt, toNumber } from './text.js';

/** One row of `qm list`. */
export interface QmListEntry {
  vmid: number;
  /** `VM <vmid>` when the VM has no name, so names may contain a space */
  name: string;
  /** running | stopped; with --full the QMP state (paused, prelaunch, ...) */
  status: string;
  /** configured memory in MiB */
  memMb: number;
  bootDiskGb: number;
  /** 0 when stopped */
  pid: number;
}

/** One row of `pct list`. */
export interface PctListEntry {
  vmid: number;
  status: string;
  lock?: string;
  name: string;
}

/** Parsed `qm list`. */
export interface QmList {
  vms: QmListEntry[];
  /** rows that could not be read; a caller that must see every guest treats a non-empty list as unreadable */
  unrecognized: string[];
}

/** Parsed `pct list`. */
export interface PctList {
  containers: PctListEntry[];
  /** rows that could not be read; a caller that must see every guest treats a non-empty list as unreadable */
  unrecognized: string[];
}

const QM_HEADER = /^\s*VMID\s+NAME\s+STATUS\s+MEM\(MB\)\s+BOOTDISK\(GB\)\s+PID\s*$/;
// the name is free text between VMID and STATUS; the four columns on the right never contain spaces
const QM_ROW = /^\s*(\d+) (.*?)\s+(\S+)\s+(\d+)\s+(\d+(?:\.\d+)?)\s+(\d+)\s*$/;
const PCT_HEADER = /^\s*VMID\s+Status\s+Lock\s+Name\s*$/;
// PVE's pve-vmid format
const VMID = /^[1-9][0-9]{2,8}$/;

function rowsAfter(tool: string, text: string, header: RegExp): string[] {
  const lines = splitLines(requireText(tool, text));
  if (lines.every((l) => l.trim() === '')) return [];
  const at = lines.findIndex((l) => header.test(l));
  if (at < 0) throw new ParseError(tool, 'header line not found', text);
  return lines.slice(at + 1).filter((l) => l.trim() !== '');
}

/** Read each row; a row `read` throws a ParseError for goes to `unrecognized`. */
function readRows<T>(lines: readonly string[], read: (line: string) => T): { rows: T[]; unrecognized: string[] } {
  const rows: T[] = [];
  const unrecognized: string[] = [];
  for (const line of lines) {
    try {
      rows.push(read(line));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      unrecognized.push(line);
    }
  }
  return { rows, unrecognized };
}

/** Parse `qm list`; empty output means no VMs on this node. Only output without the header throws. */
export function parseQmList(text: string): QmList {
  const tool = 'qm list';
  const { rows, unrecognized } = readRows(rowsAfter(tool, text, QM_HEADER), (line) => {
    const m = QM_ROW.exec(line);
    if (!m || !VMID.test(m[1] ?? '')) throw new ParseError(tool, 'unexpected row', line);
    return {
      vmid: toInt(tool, 'VMID', m[1]),
      name: (m[2] ?? '').trim(),
      status: m[3] ?? '',
      memMb: toInt(tool, 'MEM(MB)', m[4]),
      bootDiskGb: toNumber(tool, 'BOOTDISK(GB)', m[5]),
      pid: toInt(tool, 'PID', m[6]),
    };
  });
  return { vms: rows, unrecognized };
}

/** Parse `pct list`; empty output means no containers. CT names never contain spaces (pct strips them). */
export function parsePctList(text: string): PctList {
  const tool = 'pct list';
  const { rows, unrecognized } = readRows(rowsAfter(tool, text, PCT_HEADER), (line) => {
    const t = line.trim().split(/\s+/);
    if ((t.length !== 3 && t.length !== 4) || !VMID.test(t[0] ?? '')) throw new ParseError(tool, 'unexpected row', line);
    const entry: PctListEntry = { vmid: toInt(tool, 'VMID', t[0]), status: t[1] ?? '', name: t[t.length - 1] ?? '' };
    if (t.length === 4) entry.lock = t[2] ?? '';
    return entry;
  });
  return { containers: rows, unrecognized };
}
