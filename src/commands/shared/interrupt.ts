/**
 * Ctrl-C as a stop between plan steps, and an optional hold before a node's first step
 * (PVX_TEARDOWN_HOLD) so a rehearsal can break that node at an exact point.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { Hold } from '../../config/env-vars.js';
import type { Deps } from '../../context.js';

/** Ctrl-C as an AbortSignal for the executor; the first press stops at the next step boundary. */
export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

/** Listen for SIGINT while a plan runs; a node is never left in the middle of a step. */
export function listenForInterrupt(deps: Deps): Interrupt {
  const ac = new AbortController();
  const onSigint = (): void => {
    if (!ac.signal.aborted) {
      ac.abort();
      deps.progress.note('Ctrl-C: stopping after the current step, so that no node is left in the middle of one');
    } else {
      deps.progress.note('still finishing the current step; pvx stops right after it');
    }
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => void process.off('SIGINT', onSigint) };
}

/** Create the hold file and wait until someone removes it (or Ctrl-C). */
export async function waitAtHold(hold: Hold, signal: AbortSignal | undefined, note: (t: string) => void): Promise<void> {
  writeFileSync(hold.file, `${hold.node}\n`);
  note(`holding before the first step on ${hold.node} until ${hold.file} is removed`);
  while (existsSync(hold.file) && !signal?.aborted) await new Promise((r) => setTimeout(r, 100));
}
