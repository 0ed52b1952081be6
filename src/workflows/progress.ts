/**
 * The one progress adapter of the executors: a plan's steps (one at a time) and a pool's guests
 * (several side by side) show the same way. A spinner names what is in flight (TTY), and each
 * item's end is one persistent line as it happens (TTY and plain stderr alike).
 */
import type { Progress, StepProgress } from '../ui/progress.js';

/** How a line ends an item. */
export type EndKind = 'succeed' | 'fail' | 'skip';

/** What an executor tells the progress as it goes. */
export interface WorkProgress {
  /** an item started: the spinner names it among the others in flight */
  started(label: string): Promise<void>;
  /** an item ended: its line persists (an item that never started counts as done too) */
  ended(label: string, line: string, kind: EndKind): Promise<void>;
  /** a persistent information line between the items' own */
  note(text: string): Promise<void>;
  /** a plain line without a symbol (what was undone after a failure) */
  aside(text: string): Promise<void>;
  /** resolves once every line is out */
  flush(): Promise<void>;
}

/** The spinner's text for the items in flight, in the order they started, and how many ended. */
export type InFlightText = (running: readonly string[], done: number) => string;

/** Progress lines on `progress`; `inFlight` words the spinner. */
export function workProgress(progress: Progress, inFlight: InFlightText): WorkProgress {
  const running = new Set<string>();
  let done = 0;
  let current: StepProgress | undefined;
  // Progress.start is async (the spinner loads on first use): keep every change in order
  let chain: Promise<void> = Promise.resolve();
  const text = () => inFlight([...running], done);
  const enqueue = (fn: () => Promise<void>): Promise<void> => (chain = chain.then(fn));
  const persist = async (line: string, kind: EndKind): Promise<void> => {
    if (current) {
      current[kind](line);
      current = undefined;
    } else {
      (await progress.start(line))[kind](line);
    }
    if (running.size > 0) current = await progress.start(text());
  };
  return {
    started: (label) =>
      enqueue(async () => {
        running.add(label);
        if (current) current.update(text());
        else current = await progress.start(text());
      }),
    ended: (label, line, kind) =>
      enqueue(async () => {
        running.delete(label);
        done++;
        await persist(line, kind);
      }),
    note: (line) => enqueue(async () => persist(line, 'skip')),
    aside: (line) => enqueue(async () => progress.note(line)),
    flush: () => chain,
  };
}
