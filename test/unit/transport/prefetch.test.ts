import { describe, expect, it } from 'vitest';
import { PrefetchingTransport } from '../../../src/transport/prefetch.js';
import type { ExecOptions, ExecResult, Transport } from '../../../src/transport/types.js';

/** A transport that answers each command with a run number, and can hold or fail runs. */
class Counting implements Transport {
  readonly runs: Array<{ node: string; argv: readonly string[]; opts: ExecOptions }> = [];
  fail = false;
  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.runs.push({ node, argv, opts });
    const n = this.runs.length;
    if (this.fail) throw new Error(`run ${n} failed`);
    return { exitCode: 0, stdout: `run ${n}\n`, stderr: '', durationMs: 1 };
  }
}

describe('PrefetchingTransport', () => {
  it('runs a prefetched read at once and gives its result to the first exec of the same command', async () => {
    const inner = new Counting();
    const t = new PrefetchingTransport(inner);
    t.prefetch('a', ['cat', '/etc/pve/.members']);
    expect(inner.runs).toHaveLength(1);
    expect(t.pending()).toBe(1);
    const r = await t.exec('a', ['cat', '/etc/pve/.members'], { title: 'read' });
    expect(r.stdout).toBe('run 1\n');
    expect(inner.runs).toHaveLength(1);
    expect(t.pending()).toBe(0);
    // once only: asked again, the command runs again
    expect((await t.exec('a', ['cat', '/etc/pve/.members'])).stdout).toBe('run 2\n');
  });

  it('runs anything else itself: another node, other words, input, a time limit, a change', async () => {
    const inner = new Counting();
    const t = new PrefetchingTransport(inner);
    t.prefetch('a', ['pvecm', 'status']);
    await t.exec('b', ['pvecm', 'status']);
    await t.exec('a', ['pvecm', 'status', '-x']);
    await t.exec('a', ['pvecm', 'status'], { input: 'x' });
    await t.exec('a', ['pvecm', 'status'], { timeoutMs: 1000 });
    await t.exec('a', ['pvecm', 'status'], { mutates: true });
    expect(inner.runs).toHaveLength(6);
    expect(t.pending()).toBe(1);
  });

  it('a second prefetch of the same command starts no second run', () => {
    const inner = new Counting();
    const t = new PrefetchingTransport(inner);
    t.prefetch('a', ['true']);
    t.prefetch('a', ['true']);
    expect(inner.runs).toHaveLength(1);
  });

  it('a prefetched failure reaches the exec that asks for it, and goes unreported when nobody asks', async () => {
    const inner = new Counting();
    inner.fail = true;
    const t = new PrefetchingTransport(inner);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      t.prefetch('a', ['true']);
      t.prefetch('b', ['true']);
      await expect(t.exec('a', ['true'])).rejects.toThrow('run 1 failed');
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('passes conversations and close through', async () => {
    let closed = false;
    const inner: Transport = { conversations: true, exec: async () => ({ exitCode: 0, stdout: '', stderr: '', durationMs: 0 }), close: async () => void (closed = true) };
    const t = new PrefetchingTransport(inner);
    expect(t.conversations).toBe(true);
    await t.close();
    expect(closed).toBe(true);
  });
});
