/** JSON as Perl's JSON module writes it for PVE: canonical (sorted keys), optionally pretty (3-space indent). */

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** `to_json($data, { canonical => 1 })` plus the newline pvesh prints. */
export function perlJson(v: unknown): string {
  return `${JSON.stringify(sortKeys(v) ?? null)}\n`;
}

function pretty(v: unknown, indent: string): string {
  const inner = `${indent}   `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + pretty(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)} : ${pretty((v as Record<string, unknown>)[k], inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v ?? null);
}

/** `to_json($data, { canonical => 1, pretty => 1 })`: JSON::XS's pretty layout, newline-terminated. */
export function perlJsonPretty(v: unknown): string {
  return `${pretty(sortKeys(v), '')}\n`;
}
