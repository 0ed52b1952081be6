/** Final output of a command: the JSON envelope (schemaVersion 1) or human text, and errors. */
import { PvxError, type ExitCode } from '../errors.js';
import type { IO } from './io.js';
import type { Theme } from './theme.js';

/** What a command hands back to be rendered. */
export interface Outcome<T = unknown> {
  command: string;
  result: T;
  /** one of EXIT, or (lab exec) the exit code of the user's own command */
  exitCode: ExitCode | number;
  warnings: string[];
  /** set when exitCode is not 0: why */
  error?: PvxError;
}

/** The JSON document of CLI.md. */
export interface Envelope {
  schemaVersion: 1;
  command: string;
  ok: boolean;
  result?: unknown;
  error?: { code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown> };
  warnings: string[];
}

/** The envelope of an outcome (a failing outcome keeps its result: scripts want the data too). */
export function envelopeOf(o: Outcome): Envelope {
  const env: Envelope = { schemaVersion: 1, command: o.command, ok: o.exitCode === 0, result: o.result, warnings: o.warnings };
  if (o.error) env.error = errorBody(o.error);
  return env;
}

/** The envelope of a thrown error. */
export function errorEnvelope(command: string, err: unknown, warnings: string[] = []): Envelope {
  return { schemaVersion: 1, command, ok: false, error: errorBody(err), warnings };
}

function errorBody(err: unknown): NonNullable<Envelope['error']> {
  if (err instanceof PvxError) {
    const body: NonNullable<Envelope['error']> = { code: err.code, exitCode: err.exitCode, message: err.message };
    if (err.hint) body.hint = err.hint;
    if (err.details) body.details = err.details;
    return body;
  }
  return { code: 'INTERNAL', exitCode: 1, message: err instanceof Error ? err.message : String(err) };
}

/** Write exactly one JSON document to stdout. */
export function writeJson(io: IO, env: Envelope): void {
  io.out(JSON.stringify(env, null, 2) + '\n');
}

/** Write an error for a person: message, hint, on stderr. */
export function writeHumanError(io: IO, theme: Theme, err: unknown, verbose: boolean): void {
  if (err instanceof PvxError) {
    io.err(`${theme.c.red('error:')} ${err.message}\n`);
    if (err.hint) io.err(`${theme.c.dim('hint:')} ${err.hint}\n`);
    return;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  io.err(`${theme.c.red('internal error:')} ${e.message}\n`);
  if (verbose && e.stack) io.err(`${e.stack}\n`);
  else io.err(`${theme.c.dim('hint:')} run again with --verbose for details; please report it with the journal excerpt\n`);
}

/** Write warnings for a person, on stderr. */
export function writeWarnings(io: IO, theme: Theme, warnings: readonly string[]): void {
  for (const w of warnings) io.err(`${theme.warn} ${w}\n`);
}
