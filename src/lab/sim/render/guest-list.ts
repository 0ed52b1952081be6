/** `qm list` and `pct list` tables (reference §4.5; qm.pm and pct.pm printf formats). */

function sprintfS(v: unknown, width: number, left: boolean): string {
  const s = String(v ?? '');
  return left ? s.padEnd(width) : s.padStart(width);
}

/** `qm list`: nothing at all without VMs. */
export function renderQmList(records: ReadonlyArray<Record<string, unknown>>): string {
  if (records.length === 0) return '';
  const line = (a: unknown, b: unknown, c: unknown, d: unknown, e: string, f: unknown): string =>
    `${sprintfS(a, 10, false)} ${sprintfS(b, 20, true)} ${sprintfS(c, 10, true)} ${sprintfS(d, 10, true)} ${e.padStart(12)} ${sprintfS(f, 10, true)}\n`;
  let out = line('VMID', 'NAME', 'STATUS', 'MEM(MB)', 'BOOTDISK(GB)', 'PID');
  for (const r of [...records].sort((a, b) => Number(a['vmid']) - Number(b['vmid']))) {
    const mem = Number(r['maxmem'] ?? 0) / (1024 * 1024);
    const disk = Number(r['maxdisk'] ?? 0) / 1024 ** 3;
    out += line(r['vmid'], r['name'], r['qmpstatus'] ?? r['status'], perlNum(mem), disk.toFixed(2), r['pid'] ?? 0);
  }
  return out;
}

/** Perl's stringification of a number (integers without a fraction, else up to 15 significant digits). */
function perlNum(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(15)));
}

/** `pct list`: nothing at all without containers. */
export function renderPctList(records: ReadonlyArray<Record<string, unknown>>): string {
  if (records.length === 0) return '';
  const line = (a: unknown, b: unknown, c: unknown, d: unknown): string =>
    `${sprintfS(a, 10, true)} ${sprintfS(b, 10, true)} ${sprintfS(c, 12, true)} ${sprintfS(d, 20, true)}\n`;
  let out = line('VMID', 'Status', 'Lock', 'Name');
  for (const r of [...records].sort((a, b) => Number(a['vmid']) - Number(b['vmid']))) out += line(r['vmid'], r['status'], r['lock'] ?? '', r['name']);
  return out;
}
