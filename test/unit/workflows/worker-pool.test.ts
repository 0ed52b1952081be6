import { describe, expect, it } from 'vitest';
import { backoffDelays, retryWithBackoff, runPool } from '../../../src/workflows/worker-pool.js';

/** One turn of the event loop: lets other workers run, takes no clock time. */
const turn = () => new Promise<void>((r) => setImmediate(r));

/** Turns of the event loop until `done()`, at most `turns` of them. */
async function until(done: () => boolean, turns = 100): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await turn();
}

describe('runPool', () => {
  it('starts items in order, at most N at once, the next as soon as any ends (no waves)', async () => {
    const events: string[] = [];
    let running = 0;
    let max = 0;
    // item 0 holds its worker until item 5 has ended
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((r) => (openGate = r));
    const results = await runPool(
      [0, 1, 2, 3, 4, 5],
      2,
      async (_item, i) => {
        events.push(`start ${i}`);
        running++;
        max = Math.max(max, running);
        await (i === 0 ? gate : turn());
        running--;
        return i * 10;
      },
      (r) => {
        events.push(`done ${r / 10}`);
        if (r === 50) openGate();
      },
    );
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
    expect(max).toBe(2);
    expect(events.filter((e) => e.startsWith('start'))).toEqual(['start 0', 'start 1', 'start 2', 'start 3', 'start 4', 'start 5']);
    // item 0 is slow: items 1..5 pass it on the second worker, and it ends last
    expect(events.filter((e) => e.startsWith('done'))).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5', 'done 0']);
    expect(events.indexOf('start 2')).toBeLessThan(events.indexOf('done 0'));
  });

  it('a released slot starts the next item while the released one finishes up', async () => {
    const events: string[] = [];
    const results = await runPool([0, 1, 2], 1, async (i, _index, release) => {
      events.push(`start ${i}`);
      await turn();
      release();
      events.push(`released ${i}`);
      // finishing up lasts until the next item has started (or a pool that waits for it never starts it)
      await until(() => i === 2 || events.includes(`start ${i + 1}`));
      events.push(`end ${i}`);
      return i;
    });
    expect(results).toEqual([0, 1, 2]);
    // one at a time while working: 1 starts only once 0 released its slot, long before 0 ends
    expect(events.indexOf('start 1')).toBeGreaterThan(events.indexOf('released 0'));
    expect(events.indexOf('start 1')).toBeLessThan(events.indexOf('end 0'));
    expect(events.filter((e) => e.startsWith('end'))).toHaveLength(3);
  });

  it('handles no items, and a concurrency above the item count', async () => {
    expect(await runPool([], 4, async () => 1)).toEqual([]);
    expect(await runPool([1, 2], 8, async (x) => x * 2)).toEqual([2, 4]);
  });
});

describe('retryWithBackoff', () => {
  it('waits the delays in order while the result is retryable, then returns the first good one', async () => {
    const waits: number[] = [];
    const told: number[] = [];
    let calls = 0;
    const r = await retryWithBackoff(
      async (attempt) => {
        calls++;
        return attempt < 3 ? 'locked' : 'ok';
      },
      (x) => x === 'locked',
      { delaysMs: backoffDelays(2000, 4, 16_000), sleep: async (ms) => void waits.push(ms), onRetry: (_r, d, a) => void told.push(a) },
    );
    expect(r).toBe('ok');
    expect(calls).toBe(3);
    expect(waits).toEqual([2000, 4000]);
    expect(told).toEqual([1, 2]);
  });

  it('gives up after the last delay, or when a deadline forbids another wait', async () => {
    const waits: number[] = [];
    const r = await retryWithBackoff(async () => 'locked', () => true, { delaysMs: [1, 2], sleep: async (ms) => void waits.push(ms) });
    expect(r).toBe('locked');
    expect(waits).toEqual([1, 2]);
    let n = 0;
    await retryWithBackoff(async () => n++, () => true, { delaysMs: [10, 20, 40], sleep: async () => undefined, mayRetry: (d) => d < 20 });
    expect(n).toBe(2);
  });

  it('backoffDelays doubles up to a cap', () => {
    expect(backoffDelays(2000, 5, 16_000)).toEqual([2000, 4000, 8000, 16000, 16000]);
  });
});
