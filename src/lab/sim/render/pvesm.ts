/** `pvesm status` table (reference §8.2; pvesm.pm $print_status). */

/** One storage of /nodes/<node>/storage. */
export interface StorageStatusRow {
  storage: string;
  type: string;
  active: number;
  enabled: number;
  total: number;
  used: number;
  avail: number;
}

function perlSpaceFloat(v: number, width: number): string {
  // printf "% 7.2f": a blank where the sign of a positive number would go
  const s = v < 0 ? v.toFixed(2) : ` ${v.toFixed(2)}`;
  return s.padStart(width);
}

/** The table; rows sorted by storage id, sizes in KiB. */
export function renderPvesmStatus(rows: readonly StorageStatusRow[]): string {
  const maxlen = Math.max(0, ...rows.map((r) => r.storage.length)) + 1;
  let out = `${'Name'.padEnd(maxlen)} ${'Type'.padStart(10)} ${'Status'.padStart(10)} ${'Total (KiB)'.padStart(15)} ${'Used (KiB)'.padStart(15)} ${'Available (KiB)'.padStart(15)} ${'%'.padStart(8)}\n`;
  for (const r of [...rows].sort((a, b) => (a.storage < b.storage ? -1 : a.storage > b.storage ? 1 : 0))) {
    let status = r.active ? 'active' : 'inactive';
    let per = perlSpaceFloat(r.total > 0 ? (r.used * 100) / r.total : 0, 7) + '%';
    if (!r.enabled) {
      status = 'disabled';
      per = 'N/A'.padStart(8);
    }
    const k = (b: number): string => String(Math.trunc(b / 1024)).padStart(15);
    out += `${r.storage.padEnd(maxlen)} ${r.type.padStart(10)} ${status.padStart(10)} ${k(r.total)} ${k(r.used)} ${k(r.avail)} ${per}\n`;
  }
  return out;
}

/** One volume of `pvesm list`. */
export interface ContentRow {
  volid: string;
  format: string;
  content: string;
  size: number;
  vmid?: number;
}

/** `pvesm list` (pvesm.pm $print_content): guests' volumes in list order, then the others by format. */
export function renderPvesmList(list: readonly ContentRow[]): string {
  const maxName = Math.max(0, ...list.map((i) => i.volid.length));
  const maxSize = Math.max(0, ...list.map((i) => i.size));
  const digits = String(maxSize).length;
  const base = (a: string, b: string, c: string, d: string): string => `${a.padEnd(maxName)} ${b.padEnd(7)} ${c.padEnd(9)} ${d.padStart(digits)}`;
  let out = `${base('Volid', 'Format', 'Type', 'Size')} VMID\n`;
  for (const i of list) if (i.vmid) out += `${base(i.volid, i.format, i.content, String(i.size))} ${i.vmid}\n`;
  for (const i of [...list].filter((x) => !x.vmid).sort((a, b) => (a.format < b.format ? -1 : a.format > b.format ? 1 : 0))) out += `${base(i.volid, i.format, i.content, String(i.size))}\n`;
  return out;
}
