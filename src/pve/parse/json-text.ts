/**
 * JSON decoding and the helpers of pvesh parsers that do not load zod themselves: a parser on the
 * path of every membership read builds its zod schemas only for a document its quick check did
 * not accept (json.ts holds the zod-built scalars the other parsers use).
 */
import type { z as Zod } from 'zod';
import { ParseError } from './errors.js';
import { requireText } from './text.js';

/** The lenient scalar schemas `pvesh --output-format json` needs, built with the zod given. */
export function jsonScalarsOf(z: typeof Zod) {
  return {
    /** Integers arrive as numbers or, when they come from corosync.conf, as numeric strings. */
    zInt: z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]),
    /** Sizes and fractions: numbers, occasionally numeric strings. */
    zNum: z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/).transform(Number)]),
    /** Perl booleans: 0/1 or "0"/"1"; true/false and null are accepted so odd producers do not break us. */
    zFlag: z
      .union([z.literal(0), z.literal(1), z.literal('0'), z.literal('1'), z.boolean(), z.null()])
      .transform((v) => v === 1 || v === '1' || v === true),
  };
}

/** Decode JSON text; pvesh may print a trailing newline or leading login noise, neither of which is JSON. */
export function parseJsonText(tool: string, text: string): unknown {
  const src = requireText(tool, text).trim();
  if (src === '') throw new ParseError(tool, 'empty output where JSON was expected', text);
  try {
    return JSON.parse(src) as unknown;
  } catch (err) {
    // login-shell noise before the document: retry from the first line that opens JSON
    const start = src.search(/^[[{]/m);
    if (start > 0) {
      try {
        return JSON.parse(src.slice(start)) as unknown;
      } catch {
        // fall through to the original error
      }
    }
    throw new ParseError(tool, 'output is not valid JSON', text, { cause: err });
  }
}

/** Validate with zod and turn a failure into a ParseError naming the first offending path. */
export function validate<T extends Zod.ZodType>(tool: string, schema: T, value: unknown, what: string): Zod.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new ParseError(tool, `${what}: ${path}: ${issue?.message ?? 'invalid'}`, JSON.stringify(value) ?? String(value));
}

/** The `type` field of a pvesh array entry, or undefined for entries that are not objects. */
export function entryType(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const t = (entry as Record<string, unknown>)['type'];
  return typeof t === 'string' ? t : undefined;
}
