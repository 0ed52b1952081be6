/** PVE::CLIFormatter::print_api_result: text tables, json, json-pretty, yaml. */
import { perlJson, perlJsonPretty } from './json.js';

/** Return-schema property of an API item (only what the formatter looks at). */
export interface PropSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  optional?: boolean;
  renderer?: 'bytes' | 'duration' | 'fraction_as_percentage' | 'timestamp';
  title?: string;
}

/** Result schema of an API call. */
export interface ResultSchema {
  type: 'array' | 'object' | 'string' | 'integer' | 'null';
  /** item (array) or object properties */
  props?: Record<string, PropSchema>;
}

/** Standard output options. */
export interface OutputOptions {
  'output-format'?: string;
  noborder?: number;
  noheader?: number;
  quiet?: number;
  'human-readable'?: number;
}

/** Terminal facts: width when stdout is a terminal, UTF-8 locale. */
export interface Terminal {
  columns?: number;
  utf8: boolean;
}

function renderBytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0;
  let x = v;
  if (x > 1023) {
    u = Math.floor(Math.log(x) / Math.log(1024));
    x /= 1024 ** u;
  }
  return `${x.toFixed(2)} ${units[u]}`;
}

function renderDuration(secs: number, limit: boolean): string {
  let rest = Math.round(secs);
  if (!rest) return '0s';
  let text = '';
  const step = (unit: string, len: number): boolean => {
    const v = Math.floor(rest / len);
    if (v > 0) {
      text += `${text ? ' ' : ''}${v}${unit}`;
      rest -= v * len;
      return true;
    }
    return false;
  };
  const weeks = step('w', 7 * 24 * 3600);
  const days = step('d', 24 * 3600) || weeks;
  step('h', 3600);
  if (!limit || !weeks) step('m', 60);
  if (!limit || !days) step('s', 1);
  return text;
}

/** data_to_text. */
export function dataToText(v: unknown, p: PropSchema | undefined, opts: OutputOptions): string {
  if (v === undefined || v === null) return '';
  const human = opts['human-readable'] ?? 1;
  if (human && p) {
    if (p.type === 'boolean') return v ? '1' : '0';
    if (p.renderer === 'bytes') return renderBytes(Number(v));
    if (p.renderer === 'duration') return renderDuration(Number(v), true);
    if (p.renderer === 'fraction_as_percentage') return `${(Number(v) * 100).toFixed(2)}%`;
  }
  if (typeof v === 'object') return perlJson(v).trimEnd();
  return String(v);
}

function cmp(a: unknown, b: unknown, numeric: boolean): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (numeric) return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** print_text_table. */
export function textTable(data: Array<Record<string, unknown>>, props: Record<string, PropSchema>, cols: string[], opts: OutputOptions & { sort_key?: string | 0 }, term: Terminal): string {
  const showBorder = !opts.noborder;
  const showHeader = !opts.noheader;
  const sortKey = opts.sort_key ?? cols[0];
  const rows = [...data];
  if (sortKey !== undefined && sortKey !== 0) {
    const t = props[sortKey]?.type ?? 'string';
    rows.sort((a, b) => cmp(a[sortKey], b[sortKey], t === 'integer' || t === 'number'));
  }
  const table = rows.map((entry) => {
    let height = 1;
    const cells: Record<string, string[]> = {};
    for (const c of cols) {
      const lines = dataToText(entry[c], props[c], opts).split('\n');
      if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
      height = Math.max(height, lines.length);
      cells[c] = lines;
    }
    return { height, cells };
  });
  const u = term.utf8;
  const width: Record<string, number> = {};
  const fmt: Array<(s: string) => string> = [];
  const border = { t: '', h: '', m: '', b: '' };
  cols.forEach((c, i) => {
    const p = props[c] ?? {};
    const right = p.type === 'integer' || p.type === 'number';
    const title = p.title ?? c;
    let longest = title.length;
    for (const r of table) for (const l of r.cells[c] ?? []) longest = Math.max(longest, l.length);
    width[c] = longest;
    const w = longest;
    const pad = (s: string): string => (right ? s.padStart(w) : s.padEnd(w));
    const last = i === cols.length - 1;
    const first = i === 0;
    const bar = (ch: string): string => ch.repeat(w);
    if (showBorder) {
      const v = u ? '│' : '|';
      if (first && last) {
        fmt.push((s) => `${v} ${pad(s)} ${v}`);
        if (u) {
          border.t += `┌─${bar('─')}─┐`;
          border.h += `╞═${bar('═')}═╡`;
          border.m += `├─${bar('─')}─┤`;
          border.b += `└─${bar('─')}─┘`;
        } else {
          border.m += `+-${bar('-')}-+`;
          border.h += `+=${bar('=')}=`;
        }
      } else if (first) {
        fmt.push((s) => `${v} ${pad(s)} `);
        if (u) {
          border.t += `┌─${bar('─')}─`;
          border.h += `╞═${bar('═')}═`;
          border.m += `├─${bar('─')}─`;
          border.b += `└─${bar('─')}─`;
        } else {
          border.m += `+-${bar('-')}-`;
          border.h += `+=${bar('=')}=`;
        }
      } else if (last) {
        fmt.push((s) => `${v} ${pad(s)} ${v}`);
        if (u) {
          border.t += `┬─${bar('─')}─┐`;
          border.h += `╪═${bar('═')}═╡`;
          border.m += `┼─${bar('─')}─┤`;
          border.b += `┴─${bar('─')}─┘`;
        } else {
          border.m += `+-${bar('-')}-+`;
          border.h += `+=${bar('=')}=+`;
        }
      } else {
        fmt.push((s) => `${v} ${pad(s)} `);
        if (u) {
          border.t += `┬─${bar('─')}─`;
          border.h += `╪═${bar('═')}═`;
          border.m += `┼─${bar('─')}─`;
          border.b += `┴─${bar('─')}─`;
        } else {
          border.m += `+-${bar('-')}-`;
          border.h += `+=${bar('=')}=`;
        }
      }
    } else {
      fmt.push(last ? (s) => s : (s) => `${pad(s)} `);
    }
  });
  if (!border.t) border.t = border.m;
  if (!border.b) border.b = border.m;
  let out = '';
  const writeln = (t: string): void => {
    out += `${term.columns ? t.slice(0, term.columns) : t}\n`;
  };
  const line = (vals: string[]): string => vals.map((v, i) => (fmt[i] as (s: string) => string)(v)).join('');
  if (showBorder) writeln(border.t);
  let sep = border.m;
  if (showHeader) {
    writeln(line(cols.map((c) => props[c]?.title ?? c)));
    sep = border.h;
  }
  table.forEach((r, idx) => {
    if (showBorder && (idx !== 0 || showHeader)) {
      writeln(sep);
      sep = border.m;
    }
    for (let i = 0; i < r.height; i++) writeln(line(cols.map((c) => (r.cells[c]?.[i] ?? '').slice(0, width[c]))));
  });
  if (showBorder) writeln(border.b);
  return out;
}

function propsToPrint(props: Record<string, PropSchema>): string[] {
  const req = Object.keys(props).filter((k) => !props[k]?.optional).sort();
  const opt = Object.keys(props).filter((k) => props[k]?.optional).sort();
  return [...req, ...opt];
}

function yamlScalar(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const s = String(v);
  return /^[A-Za-z0-9_./@-][A-Za-z0-9 _./@:-]*$/.test(s) && !/^(true|false|null|~|yes|no|on|off|\d.*)$/i.test(s) ? s : `'${s.replace(/'/g, "''")}'`;
}

function yaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]\n';
    return v.map((x) => (typeof x === 'object' && x ? `${indent}- ${yaml(x, `${indent}  `).trimStart()}` : `${indent}- ${yamlScalar(x)}\n`)).join('');
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    if (keys.length === 0) return '{}\n';
    return keys
      .map((k) => {
        const x = (v as Record<string, unknown>)[k];
        if (x && typeof x === 'object') return `${indent}${k}:\n${yaml(x, `${indent}  `)}`;
        return `${indent}${k}: ${yamlScalar(x)}\n`;
      })
      .join('');
  }
  return `${yamlScalar(v)}\n`;
}

/** print_api_result. */
export function apiResult(data: unknown, schema: ResultSchema, opts: OutputOptions, term: Terminal, cols?: string[]): string {
  if (opts.quiet) return '';
  if (schema.type === 'null') return '';
  const format = opts['output-format'] ?? 'text';
  if (format === 'json') return perlJson(data);
  if (format === 'json-pretty') return perlJsonPretty(data);
  if (format === 'yaml') return `---\n${yaml(data)}`;
  if (schema.type === 'object') {
    const obj = (data ?? {}) as Record<string, unknown>;
    let keys = cols ?? propsToPrint(schema.props ?? {});
    if (keys.length === 0) keys = Object.keys(obj).sort();
    const kv = keys.filter((k) => obj[k] !== undefined).map((k) => ({ key: k, value: dataToText(obj[k], schema.props?.[k], opts) }));
    return textTable(kv, {}, ['key', 'value'], opts, term);
  }
  if (schema.type === 'array') {
    const arr = (Array.isArray(data) ? data : []) as Array<Record<string, unknown>>;
    if (arr.length === 0) return '';
    let keys = cols ?? propsToPrint(schema.props ?? {});
    if (keys.length === 0) keys = [...new Set(arr.flatMap((o) => Object.keys(o)))].sort();
    return textTable(arr, schema.props ?? {}, keys, opts, term);
  }
  return `${String(data)}\n`;
}

/** The terminal the tool writes to. */
export function terminalOf(env: NodeJS.ProcessEnv): Terminal {
  const lang = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  const t: Terminal = { utf8: /utf-?8/i.test(lang) };
  if (process.stdout.isTTY && process.stdout.columns) t.columns = process.stdout.columns;
  return t;
}
