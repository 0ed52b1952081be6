/** Plain aligned tables for human output (stable text, no box drawing). */

// ANSI colour codes take no columns on screen
const ANSI = /\x1b\[[0-9;]*m/g;

/** Visible width of a string that may hold colour codes. */
export function visibleWidth(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

/** Render rows under a header, columns padded to the widest cell, two spaces apart. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleWidth(cell))))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
