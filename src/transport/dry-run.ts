/** Dry-run: reads still run (the plan uses real state), everything else is recorded, not run. */
import { isKnownRead } from './known-reads.js';
import type { ExecOptions, ExecResult, PlannedCommand, Transport } from './types.js';

/**
 * Wraps a transport so that only known reads run (by the command's shape, or a script declared
 * read-only); every other command is recorded as a plan instead. The caller's `mutates` flag can
 * hold a command back but never lets one through: a write flagged as a read is still recorded.
 */
export class DryRunTransport implements Transport {
  readonly planned: PlannedCommand[] = [];
  constructor(private readonly inner: Transport) {}

  get conversations(): boolean {
    return this.inner.conversations === true;
  }

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (!opts.mutates && isKnownRead(argv)) return this.inner.exec(node, argv, opts);
    this.planned.push({
      node,
      title: opts.title ?? argv.join(' '),
      command: [...argv],
      mutates: true,
      ...(opts.mutates ? {} : { unflagged: true as const }),
    });
    return { exitCode: 0, stdout: '', stderr: '', durationMs: 0, skipped: true };
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
