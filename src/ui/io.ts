/** One IO object: the streams, their TTY flags and the colour decision. */
import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';

/** Streams and terminal facts a command's output depends on. */
export interface IO {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  stdinIsTTY: boolean;
  color: boolean;
  /** write data (results) */
  out(text: string): void;
  /** write diagnostics, progress, warnings */
  err(text: string): void;
}

/** Colour on or off: --no-color wins, then FORCE_COLOR, then NO_COLOR, then whether stdout is a TTY. */
export function decideColor(noColorFlag: boolean, env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): boolean {
  if (noColorFlag) return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  return stdoutIsTTY;
}

/** The process's own streams. */
export function systemIO(noColorFlag: boolean, env: NodeJS.ProcessEnv = process.env): IO {
  const stdoutIsTTY = Boolean(process.stdout.isTTY);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // made on first use: Node builds process.stdin when it is first read, a few ms for a pipe,
    // which most commands never touch
    get stdin(): Readable {
      return process.stdin;
    },
    stdoutIsTTY,
    stderrIsTTY: Boolean(process.stderr.isTTY),
    stdinIsTTY: isatty(0),
    color: decideColor(noColorFlag, env, stdoutIsTTY),
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
  };
}

/** True when pvx may ask the user something: a person at a terminal and no --json. */
export function canPrompt(io: IO, json: boolean): boolean {
  return io.stdinIsTTY && io.stdoutIsTTY && !json;
}
