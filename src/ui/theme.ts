/** Colours and symbols, decided once from the IO's colour flag. */
import { Chalk, type ChalkInstance } from 'chalk';

/** The styling functions renderers use. */
export interface Theme {
  c: ChalkInstance;
  ok: string;
  warn: string;
  fail: string;
  info: string;
}

/** A theme with colour on or off. */
export function makeTheme(color: boolean): Theme {
  const c = new Chalk({ level: color ? 1 : 0 });
  return { c, ok: c.green('✔'), warn: c.yellow('!'), fail: c.red('✖'), info: c.cyan('•') };
}
