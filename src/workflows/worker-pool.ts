/** A streaming worker pool (items start in order, at most N at once) and a retry with back-off. */

/** Sleep for `ms` milliseconds (injected so tests need not wait). */
export type Sleep = (ms: number) => Promise<void>;

/** The real clock's sleep. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The real clock's sleep, cut short once `signal` aborts (Ctrl-C ends a wait, never a command). */
export function abortableSleep(signal: AbortSignal): Sleep {
  return (ms) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const wake = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      signal.addEventListener('abort', wake, { once: true });
    });
}

/**
 * Run `work` over the items, starting them in input order with at most `concurrency` running;
 * a new item starts as soon as any running one ends (no waves), or as soon as it calls `release`
 * (its slot is free while it only finishes up, e.g. reads back what it did). `onDone` is told of
 * each result as it ends; the returned array is in input order. `work` must not throw: failures
 * are results.
 */
export async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number, release: () => void) => Promise<R>,
  onDone?: (result: R, item: T, index: number) => void | Promise<void>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const finishing: Array<Promise<void>> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const finished = work(item, index, release).then(async (r) => {
        results[index] = r;
        await onDone?.(r, item, index);
      });
      finishing.push(finished);
      await Promise.race([finished, released]);
    }
  };
  const width = Math.max(1, Math.min(Math.floor(concurrency), items.length));
  await Promise.all(Array.from({ length: width }, worker));
  await Promise.all(finishing);
  return results;
}

/** How retryWithBackoff waits and reports. */
export interface RetryOptions<R> {
  /** the waits before the 2nd, 3rd, ... attempt; its length is the number of retries */
  delaysMs: readonly number[];
  sleep: Sleep;
  /** told before each wait */
  onRetry?: (result: R, delayMs: number, attempt: number) => void;
  /** false stops retrying early (a deadline would pass) */
  mayRetry?: (delayMs: number) => boolean;
}

/** Call `fn` until its result is not retryable or the delays are used up; returns the last result. */
export async function retryWithBackoff<R>(fn: (attempt: number) => Promise<R>, retryable: (r: R) => boolean, opts: RetryOptions<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const r = await fn(attempt);
    const delay = opts.delaysMs[attempt - 1];
    if (!retryable(r) || delay === undefined || (opts.mayRetry && !opts.mayRetry(delay))) return r;
    opts.onRetry?.(r, delay, attempt);
    await opts.sleep(delay);
  }
}

/** Exponential back-off: `base`, 2×, 4×, ... `count` delays, each at most `max`. */
export function backoffDelays(baseMs: number, count: number, maxMs = Number.POSITIVE_INFINITY): number[] {
  return Array.from({ length: count }, (_, i) => Math.min(maxMs, baseMs * 2 ** i));
}
