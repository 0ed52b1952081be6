/** Local transport: runs the native tools on this machine, for pvx running on a node itself. */
import { LineFeed } from './line-feed.js';
import { converseWith, startStream } from './stream-process.js';
import type { ExecOptions, ExecResult, Transport } from './types.js';

/** Runs every command locally under the C locale; `node` only names the step. */
export class LocalTransport implements Transport {
  readonly conversations = true;

  /** `env` adds to (and overrides) this process's environment for every command. */
  constructor(private readonly env: NodeJS.ProcessEnv = {}) {}

  async exec(_node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('LocalTransport: empty argv');
    const feed = new LineFeed();
    const proc = startStream(file, args, {
      env: { ...process.env, ...this.env, LC_ALL: 'C', LANG: 'C' },
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.converse ? { interactive: true } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      onStdout: (d) => feed.push(d),
    });
    const talk = converseWith(opts, feed, proc);
    const r = await proc.done;
    feed.close();
    const talked = await talk;
    if (talked !== undefined) throw talked;
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs };
  }
}
