/** A strict fake transport: fails on any unexpected command and on any scripted one never used. */
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/types.js';
import { UnreachableError } from '../../src/errors.js';
import { isSession, playSession } from './session-node.js';

/** One scripted command and what it answers. */
export interface Script {
  node: string;
  argv: readonly string[];
  result?: Partial<ExecResult>;
  /** the node is unreachable for this command */
  unreachable?: boolean;
  /** may be used any number of times (default: exactly once) */
  repeat?: boolean;
}

/** What the fake saw. */
export interface Call {
  node: string;
  argv: readonly string[];
  opts: ExecOptions;
}

/** Fake transport; call verify() at the end of a test. */
export class FakeTransport implements Transport {
  readonly conversations = true;
  readonly calls: Call[] = [];
  private readonly used = new Set<number>();
  constructor(private readonly scripts: Script[]) {}

  /** The preflight session is played from the node's scripted facts, clock and probe commands. */
  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (isSession(argv)) return playSession(opts, (a, o) => this.scripted(node, a, o));
    return this.scripted(node, argv, opts);
  }

  private async scripted(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({ node, argv, opts });
    const idx = this.scripts.findIndex(
      (s, i) => s.node === node && same(s.argv, argv) && (s.repeat || !this.used.has(i)),
    );
    if (idx < 0) throw new Error(`unexpected command on ${node}: ${JSON.stringify(argv)}`);
    this.used.add(idx);
    const s = this.scripts[idx]!;
    if (s.unreachable) throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection refused`, { hint: 'check the node', beforeCommand: true });
    return { exitCode: 0, stdout: '', stderr: '', durationMs: 1, ...s.result };
  }

  /** Throws when a scripted command was never run. */
  verify(): void {
    const unused = this.scripts.filter((_, i) => !this.used.has(i));
    if (unused.length) throw new Error(`scripted commands never run: ${unused.map((s) => `${s.node}: ${s.argv.join(' ')}`).join('; ')}`);
  }
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
