/**
 * The root `--help` rendered ahead of time: `pvx --help` is the first thing people run, and
 * bin/pvx.js prints this text (written at build time) without loading commander and every
 * command's definition. Two renders: at the help width of a pipe or a classic terminal (80), and
 * at every width from which nothing wraps any more; another width, or a stale file, takes the
 * live path.
 */
import { renderRootHelp } from './program.js';

/** One text and the help widths it is right for (`max` null: every width from `min` up). */
export interface RootHelpRender {
  min: number;
  max: number | null;
  text: string;
}

/** The help width commander uses when stdout is no terminal. */
export const DEFAULT_WIDTH = 80;
// wider than any line of the root help: the render of a width where nothing wraps
const UNBOUNDED = 10_000;

/** The root help at the default width, and at every width where it no longer wraps. */
export function rootHelpRenders(version: string): RootHelpRender[] {
  const wide = renderRootHelp(version, UNBOUNDED);
  const atDefault = renderRootHelp(version, DEFAULT_WIDTH);
  if (atDefault === wide) return [{ min: DEFAULT_WIDTH, max: null, text: wide }];
  let from = DEFAULT_WIDTH + 1;
  while (renderRootHelp(version, from) !== wide) from++;
  return [
    { min: DEFAULT_WIDTH, max: DEFAULT_WIDTH, text: atDefault },
    { min: from, max: null, text: wide },
  ];
}
