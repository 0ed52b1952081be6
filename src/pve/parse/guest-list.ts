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

const QM_HEADER = /^\s*VMID\s+NAME\s+STATUS\s+MEM\(MB\)\s+BOOTDISK\(GB\)\s+PID\s*$/;
// the name is free text between VMID and STATUS; the four columns on the right never contain spaces
const QM_ROW = /^\s*(\d+) (.*?)\s+(\S+)\s+(\d+)\s+(\d+(?:\.\d+)?)\s+(\d+)\s*$/;
const PCT_HEADER = /^\s*VMID\s+Status\s+Lock\s+Name\s*$/;

function rowsAfter(tool: string, text: string, header: RegExp): string[] | undefined {
  const lines = splitLines(requireText(tool, text));
  if (lines.every((l) => l.trim() === '')) return undefined;
  const at = lines.findIndex((l) => header.test(l));
  if (at < 0) throw new ParseError(tool, 'header line not found', text);
  return lines.slice(at + 1).filter((l) => l.trim() !== '');
}

/** Parse `qm list`; empty output means no VMs on this node. */
export function parseQmList(text: string): QmListEntry[] {
  const tool = 'qm list';
  const rows = rowsAfter(tool, text, QM_HEADER);
  if (!rows) return [];
  return rows.map((line) => {
    const m = QM_ROW.exec(line);
    if (!m) throw new ParseError(tool, 'unexpected row', line);
    return {
      vmid: toInt(tool, 'VMID', m[1]),
      name: (m[2] ?? '').trim(),
      status: m[3] ?? '',
      memMb: toInt(tool, 'MEM(MB)', m[4]),
      bootDiskGb: toNumber(tool, 'BOOTDISK(GB)', m[5]),
      pid: toInt(tool, 'PID', m[6]),
    };
  });
}

/** Parse `pct list`; empty output means no containers. CT names never contain spaces (pct strips them). */
export function parsePctList(text: string): PctListEntry[] {
  const tool = 'pct list';
  const rows = rowsAfter(tool, text, PCT_HEADER);
  if (!rows) return [];
  return rows.map((line) => {
    const t = line.trim().split(/\s+/);
    if ((t.length !== 3 && t.length !== 4) || !/^\d+$/.test(t[0] ?? '')) throw new ParseError(tool, 'unexpected row', line);
    const entry: PctListEntry = { vmid: toInt(tool, 'VMID', t[0]), status: t[1] ?? '', name: t[t.length - 1] ?? '' };
    if (t.length === 4) entry.lock = t[2] ?? '';
    return entry;
  });
}
