/** Reading answers from stdin the way PVE's tools do: a line at a time, or a password on a TTY. */
import type { SimContext } from '../types.js';
import { Die } from './errors.js';

/** Successive lines of stdin. */
export interface LineReader {
  /** the next line without its newline; undefined at end of input */
  next(): Promise<string | undefined>;
}

function ttyRead(prompt: string, out: (t: string) => void, echo: 'star' | 'plain'): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let buf = '';
    out(prompt);
    const wasRaw = stdin.isRaw;
    if (echo === 'star') stdin.setRawMode(true);
    stdin.resume();
    const done = (v: string | undefined, err?: Error): void => {
      stdin.off('data', onData);
      if (echo === 'star') stdin.setRawMode(wasRaw);
      stdin.pause();
      if (err) reject(err);
      else resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        const c = ch.charCodeAt(0);
        if (c === 4) return done(buf === '' ? undefined : buf);
        if (c === 3) return done(undefined, new Die('password input aborted\n'));
        if (c === 10 || c === 13) {
          if (echo === 'star') out('\r\n');
          return done(buf);
        }
        if (c === 0x7f) {
          if (buf.length) {
            buf = buf.slice(0, -1);
            if (echo === 'star') out('\b \b');
          }
          continue;
        }
        buf += ch;
        if (echo === 'star') out('*');
      }
    };
    stdin.on('data', onData);
  });
}

/** A reader over the tool's stdin: whole-input lines when piped, interactive reads on a TTY. */
export function lineReader(ctx: SimContext): LineReader & { password(prompt: string): Promise<string> } {
  let lines: string[] | undefined;
  const piped = async (): Promise<string | undefined> => {
    lines ??= (await ctx.readStdin()).split('\n');
    if (lines.length === 0 || (lines.length === 1 && lines[0] === '')) return undefined;
    return lines.shift();
  };
  return {
    next: async () => (ctx.stdinIsTTY ? ttyRead('', ctx.out, 'plain') : piped()),
    password: async (prompt) => {
      const v = ctx.stdinIsTTY ? await ttyRead(prompt, ctx.out, 'star') : await piped();
      if (v === undefined) throw new Die('EOF while reading password\n');
      return v;
    },
  };
}
