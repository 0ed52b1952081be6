/**
 * Chaos: every command that reads nodes, run against nodes that (a) cannot be reached, (b) answer
 * every read with garbage, (c) answer every read with nothing, and (d) drop the connection in the
 * middle of a healthy run. A state pvx could not read is never success, and nothing changes after
 * a read failed.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli.js';
import { UnreachableError } from '../../src/errors.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/types.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { FakeHa } from '../helpers/fake-ha.js';
import { FakeMigrateCluster } from '../helpers/fake-migrate.js';
import { TeardownFake } from '../helpers/fake-teardown.js';
import { validEnvelope } from '../helpers/json-schema.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const NAMES = ['pve1', 'pve2', 'pve3'];

/** Shapes of commands that change a node, written from the reference (never from pvx's builders). */
const CHANGING: RegExp[] = [
  /^pvecm (create|add|delnode|expected|updatecerts|qdevice)\b/,
  /^(qm|pct) (migrate|set|start|stop|shutdown|destroy|create|remote-migrate|move[-_]disk|disk)\b/,
  /^ha-manager (add|remove|set|migrate|relocate|groupadd|groupremove|groupset|rules (add|set|remove)|crm-command)\b/,
  /^pvesr (create-local-job|delete|update|run|enable|disable|schedule-now)\b/,
  /^systemctl (start|stop|restart|reload|try-restart|enable|disable|kill)\b/,
  /^(rm|mv|cp|tee|install|mkdir|rmdir|touch|chmod|chown|ln|kill|pmxcfs)\b/,
  /^corosync-cfgtool -R\b/,
  /^tar (-x|x)/,
];

interface Seen {
  node: string;
  argv: readonly string[];
  mutates: boolean;
  /** the call failed: it threw, or the chaos answered it as no tool would */
  failed: boolean;
}

function changes(seen: readonly Seen[]): string[] {
  return seen.filter((c) => c.mutates || CHANGING.some((r) => r.test(c.argv.join(' ')))).map((c) => `${c.node}: ${c.argv.join(' ')}`);
}

type Mode = 'unreachable' | 'garbage' | 'empty';
const GARBAGE = 'Zx9 !! }{ ][ \u0000 <<<\n#### 42 nonsense: ::: ???\n\ttrailing -- --\n';

/** Every node answers every command the same broken way. */
class ChaosTransport implements Transport {
  readonly conversations = true;
  readonly seen: Seen[] = [];
  constructor(private readonly mode: Mode) {}

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.seen.push({ node, argv, mutates: Boolean(opts.mutates), failed: true });
    if (this.mode === 'unreachable') throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection refused`, { beforeCommand: true });
    const text = this.mode === 'garbage' ? GARBAGE : '';
    if (opts.converse) {
      const lines = text.split('\n').filter(Boolean);
      await opts.converse({ line: async () => lines.shift(), write: () => undefined, end: () => undefined });
    }
    return { exitCode: 0, stdout: text, stderr: '', durationMs: 1 };
  }
}

/** A healthy stateful fake whose connection to one node is lost at the `cutAt`-th command (0-based, across all nodes), that command's node. */
class CuttingTransport implements Transport {
  readonly conversations = true;
  readonly seen: Seen[] = [];
  private count = 0;
  private cut = false;
  constructor(
    private readonly inner: Transport,
    private readonly cutAt: number,
  ) {}
  private cutNode: string | undefined;

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const i = this.count++;
    if (i === this.cutAt) {
      this.cut = true;
      this.cutNode = node;
    }
    const lost = this.cut && this.cutNode === node;
    this.seen.push({ node, argv, mutates: Boolean(opts.mutates), failed: lost });
    if (lost) throw new UnreachableError(node, `connection to ${node} lost: Broken pipe`);
    try {
      return await this.inner.exec(node, argv, opts);
    } catch (e) {
      this.seen[i]!.failed = true;
      throw e;
    }
  }

  /** Commands the healthy run sent. */
  get total(): number {
    return this.count;
  }
}

async function pvx(args: string[], t: Transport, state = tmpDir('pvx-state-')) {
  const io = testIO({ tty: false });
  const code = await run(args, {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') },
    cwd: state,
    transportFactory: () => t,
  });
  return { code, stdout: io.stdoutText(), stderr: io.stderrText(), state };
}

/** A backup set from a healthy teardown on a stateful fake, for the restore cases. */
async function backupSet(): Promise<string> {
  const fc = new TeardownFake(NAMES).form('prod', NAMES);
  const r = await pvx(['-i', writeInventory(NAMES), '--yes', '--json', 'cluster', 'teardown'], fc);
  expect(r.code, r.stdout).toBe(0);
  const dir = path.join(r.state, 'backups');
  return path.join(dir, readdirSync(dir)[0]!);
}

/** Every command that reads nodes (lab commands drive the local lab, `ha budget` reads nothing). */
function commands(backup: string): string[][] {
  return [
    ['preflight'],
    ['preflight', '--for', 'create', '--nodes', 'pve1,pve2,pve3', '--cluster-name', 'demo'],
    ['preflight', '--for', 'join', '--nodes', 'pve3', '--via', 'pve1'],
    ['preflight', '--for', 'migrate'],
    ['preflight', '--for', 'ha'],
    ['cluster', 'status'],
    ['cluster', 'status', '--node', 'pve2'],
    ['cluster', 'create', 'demo', '--nodes', 'pve1,pve2,pve3', '--use-ssh'],
    ['cluster', 'join', 'pve3', '--via', 'pve1', '--use-ssh'],
    ['cluster', 'remove-node', 'pve3'],
    ['cluster', 'remove-node', 'pve3', '--offline-confirmed'],
    ['cluster', 'expected', '1', '--node', 'pve1'],
    ['cluster', 'teardown'],
    ['cluster', 'restore', backup],
    ['cluster', 'restore', backup, '--node', 'pve3'],
    ['migrate', '100', '--to', 'pve2'],
    ['migrate', 'all@pve1', '--to', 'pve2', '--online'],
    ['ha', 'add', '100'],
    ['ha', 'add', '100', '--nodes', 'pve1:2,pve2', '--state', 'started'],
    ['ha', 'set', '100', '--state', 'stopped'],
    ['ha', 'remove', '100'],
    ['ha', 'status'],
  ];
}

describe('chaos: a state pvx could not read is never success', async () => {
  const backup = await backupSet();
  const inv = writeInventory(NAMES);
  for (const mode of ['unreachable', 'garbage', 'empty'] as const) {
    for (const args of commands(backup)) {
      it(`${mode}: pvx ${args.join(' ').replace(backup, '<backup>')}`, async () => {
        for (const json of [true, false]) {
          const t = new ChaosTransport(mode);
          const r = await pvx(['-i', inv, '--yes', ...(json ? ['--json'] : []), ...args], t);
          expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).not.toBe(0);
          // no node could be reached: 6; they answered with something unreadable: never 0, 2 or 130
          if (mode === 'unreachable') expect(r.code).toBe(6);
          else expect([1, 3, 4, 5, 6]).toContain(r.code);
          expect(changes(t.seen)).toEqual([]);
          if (json) {
            const doc = validEnvelope(r.stdout);
            expect(doc.ok).toBe(false);
            expect(doc.error.exitCode).toBe(r.code);
          } else {
            expect(r.stderr).not.toMatch(/internal error/i);
          }
        }
      });
    }
  }
});

/** Healthy runs on the stateful fakes, each cut at every command in turn. */
const HEALTHY: Array<{ name: string; args: (inv: string) => string[]; fake: () => Transport & { verify(): void }; names?: string[] }> = [
  { name: 'cluster status', args: (i) => ['-i', i, '--json', 'cluster', 'status'], fake: () => new FakeCluster(NAMES).form('lab', NAMES) },
  { name: 'preflight --for create', args: (i) => ['-i', i, '--json', 'preflight', '--for', 'create', '--nodes', 'pve1,pve2,pve3', '--cluster-name', 'demo'], fake: () => new FakeCluster(NAMES) },
  { name: 'cluster create', args: (i) => ['-i', i, '--json', '--yes', 'cluster', 'create', 'demo', '--nodes', 'pve1,pve2,pve3', '--use-ssh'], fake: () => new FakeCluster(NAMES) },
  {
    name: 'cluster remove-node',
    args: (i) => ['-i', i, '--json', '--yes', 'cluster', 'remove-node', 'pve3', '--offline-confirmed'],
    fake: () => {
      const fc = new FakeCluster(NAMES).form('lab', NAMES);
      fc.node('pve3').reachable = false;
      return fc;
    },
  },
  {
    name: 'cluster join',
    names: [...NAMES, 'pve4'],
    args: (i) => ['-i', i, '--json', 'cluster', 'join', 'pve4', '--via', 'pve1', '--use-ssh'],
    fake: () => new FakeCluster([...NAMES, 'pve4']).form('lab', NAMES),
  },
  {
    name: 'cluster expected',
    args: (i) => ['-i', i, '--json', '--yes', 'cluster', 'expected', '1', '--node', 'pve1'],
    fake: () => {
      const fc = new FakeCluster(NAMES).form('lab', NAMES);
      fc.node('pve2').reachable = false;
      fc.node('pve3').reachable = false;
      return fc;
    },
  },
  {
    name: 'ha add',
    args: (i) => ['-i', i, '--json', 'ha', 'add', '100', '101', '--nodes', 'pve2,pve1:2'],
    fake: () => new FakeHa(9).with({ vmid: 100, type: 'qemu', node: 'pve1', running: true }, { vmid: 101, type: 'qemu', node: 'pve2', running: false }),
  },
  {
    name: 'ha add (PVE 8 group)',
    args: (i) => ['-i', i, '--json', 'ha', 'add', '100', '--nodes', 'pve1:2,pve2', '--strict'],
    fake: () => new FakeHa(8).with({ vmid: 100, type: 'qemu', node: 'pve1', running: true }),
  },
  { name: 'cluster teardown', args: (i) => ['-i', i, '--json', '--yes', 'cluster', 'teardown'], fake: () => new TeardownFake(NAMES).form('prod', NAMES) },
  {
    name: 'ha status',
    args: (i) => ['-i', i, '--json', 'ha', 'status'],
    fake: () => new FakeHa(9).with({ vmid: 100, type: 'qemu', node: 'pve1', running: true }),
  },
  {
    name: 'migrate',
    args: (i) => ['-i', i, '--json', 'migrate', '100', '--to', 'pve2'],
    fake: () => new FakeMigrateCluster([{ vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: false, memMiB: 512 }]),
  },
];

/** Run pvx on fake timers, advancing them until it ends: waits for quorum or a task end at once. */
async function pvxFastWaits(args: string[], t: Transport) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  let done = false;
  const p = pvx(args, t).finally(() => (done = true));
  while (!done) await vi.advanceTimersByTimeAsync(500);
  return p;
}

describe('chaos: a connection lost in the middle of a run', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  for (const h of HEALTHY) {
    it(`${h.name}: cut at every command, never silent success, nothing changed after a failed read`, { timeout: 120_000 }, async () => {
      const inv = writeInventory(h.names ?? NAMES);
      const double = h.fake();
      const healthy = new CuttingTransport(double, -1);
      const ok = await pvxFastWaits(h.args(inv), healthy);
      expect(ok.code, ok.stdout).toBe(0);
      double.verify();
      const total = healthy.total;
      expect(total).toBeGreaterThan(0);
      for (let k = 0; k < total; k++) {
        // a node the healthy run could not reach either loses nothing by a cut
        if (healthy.seen[k]!.failed) continue;
        const t = new CuttingTransport(h.fake(), k);
        const r = await pvxFastWaits(h.args(inv), t);
        const where = `cut at command ${k} of ${total} (${t.seen[k]?.node}: ${t.seen[k]?.argv.join(' ').slice(0, 80)})`;
        const doc = validEnvelope(r.stdout);
        const lost = t.seen[k]!.node;
        // success only with what was read: a partial view names the node it lacks
        if (r.code === 0) expect(JSON.stringify(doc.warnings), `${where}: exit 0 without naming ${lost}\n${r.stdout}`).toContain(lost);
        else expect(doc.ok, where).toBe(false);
        // a read failed before any change: nothing changes after it
        const failedRead = changes([t.seen[k]!]).length === 0;
        if (failedRead && changes(t.seen.slice(0, k)).length === 0) expect(changes(t.seen.slice(k)), where).toEqual([]);
      }
    });
  }
});
