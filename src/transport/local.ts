/** Local transport: runs the native tools on this machine, for pvx running on a node itself. */
import { runProcess } from './process.js';
import type { ExecOptions, ExecResult, Transport } from './types.js';

/** Runs every command locally under the C locale; `node` only names the step. */
export class LocalTransport implements Transport {
  async exec(_node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('LocalTransport: empty argv');
    const r = await runProcess(file, args, {
      env: { LC_ALL: 'C', LANG: 'C' },
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs };
  }
}
