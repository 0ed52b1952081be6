/** An in-memory IO with chosen TTY flags, for asserting exactly what each stream got. */
import { PassThrough, Writable } from 'node:stream';
import type { IO } from '../../src/ui/io.js';

/** IO plus accessors of what was written. */
export interface TestIO extends IO {
  stdoutText(): string;
  stderrText(): string;
}

/** Build a TestIO; `tty` sets every TTY flag, colour off unless asked. */
export function testIO(opts: { tty?: boolean; color?: boolean } = {}): TestIO {
  let out = '';
  let err = '';
  const mk = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  const stdout = mk((s) => (out += s));
  const stderr = mk((s) => (err += s));
  const tty = Boolean(opts.tty);
  return {
    stdout,
    stderr,
    stdin: new PassThrough(),
    stdoutIsTTY: tty,
    stderrIsTTY: false, // spinners draw only on a real terminal; tests read plain progress lines
    stdinIsTTY: tty,
    color: Boolean(opts.color),
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    stdoutText: () => out,
    stderrText: () => err,
  };
}
