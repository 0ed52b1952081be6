/** What a command definition gets from the entry: a dispatcher that wires dependencies and renders, and a printer for commands that only print. */
import type { Command } from 'commander';
import type { Deps } from '../../context.js';
import type { Outcome } from '../../ui/report.js';

/** Runs a command's implementation with wired dependencies and renders its outcome. */
export type Dispatch = <R>(
  name: string,
  cmd: Command,
  action: (deps: Deps) => Promise<Outcome<R>>,
  render?: () => Promise<(o: Outcome<R>, deps: Deps) => string>,
) => Promise<void>;

/** What a command that only prints text and needs no node (completion, schema) gets from the entry. */
export interface PrintContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** write to stdout */
  out(text: string): void;
}
