/** Line handling and number reading shared by the text parsers. */
import { ParseError } from './errors.js';

/** Output of one finished command, as the transport reports it (exit code when known). */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode?: number;
}

/** Reject non-strings up front, so JavaScript callers get a ParseError rather than a TypeError deep inside. */
export function requireText(tool: string, text: unknown): string {
  if (typeof text !== 'string') throw new ParseError(tool, `expected text output, got ${text === null ? 'null' : typeof text}`, text);
  return text;
}

/** Lines without terminators; CRLF from pasted captures is accepted and a final newline adds no empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Non-empty, trimmed lines of a stream (stderr messages, task logs). */
export function meaningfulLines(text: string): string[] {
  return splitLines(text)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** The last meaningful line of a stream: what a failed native command says last is usually why. */
export function lastLine(text: string): string | undefined {
  return meaningfulLines(text).pop();
}

/** A decimal integer field; anything else is a ParseError naming the field. */
export function toInt(tool: string, field: string, raw: string | undefined): number {
  const v = raw?.trim() ?? '';
  if (!/^-?\d+$/.test(v)) throw new ParseError(tool, `${field}: expected an integer, got '${v}'`, v);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new ParseError(tool, `${field}: integer out of range`, v);
  return n;
}

/** A decimal number field (KiB sizes, seconds, percentages). */
export function toNumber(tool: string, field: string, raw: string | undefined): number {
  const v = raw?.trim() ?? '';
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new ParseError(tool, `${field}: expected a number, got '${v}'`, v);
  return Number(v);
}

/** A node id as corosync prints it: `0x%08x` in hex mode, plain decimal otherwise. */
export function toNodeId(tool: string, field: string, raw: string | undefined): number {
  const v = raw?.trim() ?? '';
  if (/^0x[0-9a-fA-F]{1,8}$/.test(v)) return Number.parseInt(v.slice(2), 16);
  if (/^\d{1,10}$/.test(v) && Number(v) <= 0xffffffff) return Number(v);
  throw new ParseError(tool, `${field}: expected a node id, got '${v}'`, v);
}

/** `Label: value` lines into a map (labels are letters, spaces and parentheses); the first occurrence wins. */
export function labelledValues(lines: readonly string[], pattern = /^\s*([A-Za-z][A-Za-z ()]*?)\s*:\s?(.*)$/): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    const m = pattern.exec(line);
    if (!m) continue;
    const label = m[1] ?? '';
    if (!out.has(label)) out.set(label, (m[2] ?? '').trim());
  }
  return out;
}
