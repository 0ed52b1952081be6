/** `pvesm status` (reference §8.2). The text has no shared flag; use /cluster/resources for that. */
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

const HEADER = /^\s*Name\s+Type\s+Status\s+Total\b/;

/** Parse `pvesm status`; lines before the header (warnings about unreachable storages) are skipped. */
export function parsePvesmStatus(text: string): PvesmStorage[] {
  const lines = splitLines(requireText(TOOL, text));
  if (lines.every((l) => l.trim() === '')) return [];
  const at = lines.findIndex((l) => HEADER.test(l));
  if (at < 0) throw new ParseError(TOOL, 'header line not found', text);
  return lines
    .slice(at + 1)
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const t = line.trim().split(/\s+/);
      const pct = t[6] ?? '';
      if (t.length !== 7 || !(/^\d+(\.\d+)?%$/.test(pct) || pct === 'N/A')) throw new ParseError(TOOL, 'unexpected row', line);
      const row: PvesmStorage = {
        name: t[0] ?? '',
        type: t[1] ?? '',
        status: t[2] ?? '',
        totalKiB: toInt(TOOL, 'Total', t[3]),
        usedKiB: toInt(TOOL, 'Used', t[4]),
        availableKiB: toInt(TOOL, 'Available', t[5]),
      };
      if (pct !== 'N/A') row.usedPercent = toNumber(TOOL, '%', pct.slice(0, -1));
      return row;
    });
}
