/** `pvesm status` (reference §8.2). The text has no shared flag; use /cluster/resources for that. */
import { isStorageId } from '../names.js';
import { ParseError } from './errors.js';
import { requireText, splitLines, toInt, toNumber } from './text.js';

const TOOL = 'pvesm status';

/** One storage as seen from the local node; sizes in KiB. */
export interface PvesmStorage {
  name: string;
  type: string;
  /** active | inactive | disabled */
  status: string;
  totalKiB: number;
  usedKiB: number;
  availableKiB: number;
  /** absent for disabled storages, which print `N/A` */
  usedPercent?: number;
}

/** Parsed `pvesm status`. */
export interface PvesmStatus {
  storages: PvesmStorage[];
  /** rows that could not be read, kept rather than failing; a storage there is unknown to the caller */
  unrecognized: string[];
}

const HEADER = /^\s*Name\s+Type\s+Status\s+Total\b/;

function readRow(line: string): PvesmStorage {
  const t = line.trim().split(/\s+/);
  const pct = t[6] ?? '';
  if (t.length !== 7 || !(/^\d+(\.\d+)?%$/.test(pct) || pct === 'N/A')) throw new ParseError(TOOL, 'unexpected row', line);
  const name = t[0] ?? '';
  if (!isStorageId(name)) throw new ParseError(TOOL, `'${name}' is not a storage ID`, line);
  const row: PvesmStorage = {
    name,
    type: t[1] ?? '',
    status: t[2] ?? '',
    totalKiB: toInt(TOOL, 'Total', t[3]),
    usedKiB: toInt(TOOL, 'Used', t[4]),
    availableKiB: toInt(TOOL, 'Available', t[5]),
  };
  if (pct !== 'N/A') row.usedPercent = toNumber(TOOL, '%', pct.slice(0, -1));
  return row;
}

/**
 * Parse `pvesm status`; lines before the header (warnings about unreachable storages) are skipped,
 * output without the header throws, and a row that cannot be read is kept in `unrecognized`.
 */
export function parsePvesmStatus(text: string): PvesmStatus {
  const lines = splitLines(requireText(TOOL, text));
  const out: PvesmStatus = { storages: [], unrecognized: [] };
  if (lines.every((l) => l.trim() === '')) return out;
  const at = lines.findIndex((l) => HEADER.test(l));
  if (at < 0) throw new ParseError(TOOL, 'header line not found', text);
  for (const line of lines.slice(at + 1).filter((l) => l.trim() !== '')) {
    try {
      out.storages.push(readRow(line));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.unrecognized.push(line);
    }
  }
  return out;
}
