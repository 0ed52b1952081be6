/**
 * Reads started before the command that wants them has loaded: a node's connection and its read
 * run while pvx loads the command's modules, instead of after.
 */
import type { ExecOptions, ExecResult, Transport } from './types.js';

const keyOf = (node: string, argv: readonly string[]): string => JSON.stringify([node, ...argv]);

/**
 * Wraps a transport; `prefetch` runs a read now, and the first `exec` of the same command on the
 * same node (without input, conversation or time limit) gets that run's result instead of a second
 * run. Only reads are prefetched: a command that was started may never be asked for.
 */
export class PrefetchingTransport implements Transport {
  private readonly started = new Map<string, Promise<ExecResult>>();

  constructor(private readonly inner: Transport) {}

  get conversations(): boolean {
    return this.inner.conversations === true;
  }

  /** Start a read of `argv` on `node` now; its result (or failure) waits for the exec that asks for it. */
  prefetch(node: string, argv: readonly string[]): void {
    const key = keyOf(node, argv);
    if (this.started.has(key)) return;
    const run = this.inner.exec(node, argv);
    // a read nobody asks for in the end (the command failed first) is dropped, its failure with it
    run.catch(() => undefined);
    this.started.set(key, run);
  }

  /** Nodes and commands started and not yet asked for. */
  pending(): number {
    return this.started.size;
  }

  exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const plain = opts.input === undefined && opts.converse === undefined && opts.timeoutMs === undefined && !opts.mutates;
    const key = keyOf(node, argv);
    const run = plain ? this.started.get(key) : undefined;
    if (run) {
      this.started.delete(key);
      return run;
    }
    return this.inner.exec(node, argv, opts);
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
