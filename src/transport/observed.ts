/** Tells observers (journal, --verbose) about every command a transport ran. */
import type { ExecObserver, ExecOptions, ExecResult, Transport } from './types.js';

/** Wraps a transport and reports each command, its exit code and duration. */
export class ObservedTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly observers: readonly ExecObserver[],
  ) {}

  get conversations(): boolean {
    return this.inner.conversations === true;
  }

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const base = { node, argv, mutates: Boolean(opts.mutates), hasInput: opts.input !== undefined };
    try {
      const result = await this.inner.exec(node, argv, opts);
      for (const o of this.observers) o({ ...base, result });
      return result;
    } catch (error) {
      for (const o of this.observers) o({ ...base, result: undefined, error });
      throw error;
    }
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
