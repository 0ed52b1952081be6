/** Dry-run: reads still run (the plan uses real state), writes are recorded, not run. */
import type { ExecOptions, ExecResult, PlannedCommand, Transport } from './types.js';

/** Wraps a transport so that mutating commands are recorded as a plan instead of executed. */
export class DryRunTransport implements Transport {
  readonly planned: PlannedCommand[] = [];
  constructor(private readonly inner: Transport) {}

  get conversations(): boolean {
    return this.inner.conversations === true;
  }

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (!opts.mutates) return this.inner.exec(node, argv, opts);
    this.planned.push({ node, title: opts.title ?? argv.join(' '), command: [...argv], mutates: true });
    return { exitCode: 0, stdout: '', stderr: '', durationMs: 0, skipped: true };
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
