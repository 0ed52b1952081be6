/**
 * Progress of a migration pool on one Progress: a spinner names the guests in flight (TTY), and
 * each guest's end is one persistent line as it happens (TTY and plain stderr alike).
 */
import type { Deps } from '../../context.js';
import type { StepProgress } from '../../ui/progress.js';

/** How a line ends a guest. */
export type EndKind = 'succeed' | 'fail' | 'skip';

/** The pool's view of progress. */
export interface PoolProgress {
  started(label: string): Promise<void>;
  ended(label: string, line: string, kind: EndKind): Promise<void>;
  note(text: string): Promise<void>;
  /** resolves once every line is out */
  flush(): Promise<void>;
}

/** Progress lines for a pool moving `total` guests to `target`. */
export function poolProgress(deps: Deps, target: string, total: number): PoolProgress {
  const running = new Set<string>();
  let done = 0;
  let current: StepProgress | undefined;
  // Progress.start is async (the spinner loads on first use): keep every change in order
  let chain: Promise<void> = Promise.resolve();
  const text = () => `migrating to ${target}: ${[...running].join(', ')} (${done} of ${total} done)`;
  const enqueue = (fn: () => Promise<void>): Promise<void> => (chain = chain.then(fn));
  const persist = async (line: string, kind: EndKind): Promise<void> => {
    if (current) {
      current[kind](line);
      current = undefined;
    } else {
      (await deps.progress.start(line))[kind](line);
    }
    if (running.size > 0) current = await deps.progress.start(text());
  };
  return {
    started: (label) =>
      enqueue(async () => {
        running.add(label);
        if (current) current.update(text());
        else current = await deps.progress.start(text());
      }),
    ended: (label, line, kind) =>
      enqueue(async () => {
        running.delete(label);
        done++;
        await persist(line, kind);
      }),
    note: (line) => enqueue(async () => persist(line, 'skip')),
    flush: () => chain,
  };
}
