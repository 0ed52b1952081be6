/**
 * --dry-run end to end in-process: whatever the command, only reads reach the nodes. The reads are
 * written out by hand from the reference; what passed through is recorded under the dry-run layer.
 */
import { nodeReadArgv } from '../../src/facts/node-read.js';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli.js';
import { sessionArgv } from '../../src/facts/preflight/session.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/types.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { FakeHa } from '../helpers/fake-ha.js';
import { FakeMigrateCluster } from '../helpers/fake-migrate.js';
import { TeardownFake } from '../helpers/fake-teardown.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

// A product bug made to order: the guest listing of teardown's facts turned into a deletion that
// is not flagged as mutating. The fake is built on the same module, so it sees the same command.
const hostile = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/facts/guest-files.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/facts/guest-files.js')>();
  return { ...real, guestFilesArgv: () => (hostile.on ? ['rm', '-rf', '/etc/pve/nodes'] : real.guestFilesArgv()) };
});

/** Sits between dry-run and the fake: records every command that reached the node. */
class Reached implements Transport {
  readonly argv: string[][] = [];
  constructor(private readonly inner: Transport) {}
  get conversations(): boolean {
    return this.inner.conversations === true;
  }
  exec(node: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    this.argv.push([...argv]);
    return this.inner.exec(node, argv, opts);
  }
}

// The reads pvx sends before it plans (reference §1.5, §1.7, §3, §5.3, §5.4, §8.3).
const READ_SHAPES = [
  /^pvecm status$/,
  /^pveversion$/,
  /^pvesh get \/cluster\/(status|resources|config\/join|ha\/status\/current|ha\/rules)( --type vm)? --output-format json$/,
  /^(qm|pct) config \d+$/,
  /^ha-manager (status|groupconfig)$/,
  /^pvesr list$/,
  /^cat \/etc\/(pve|corosync)\/corosync\.conf$/,
  /^test -d \/etc\/pve\/nodes\/pve\d$/,
  /^find \/etc\/pve\/nodes -mindepth 3 -maxdepth 3 -name \*\.conf$/,
  /^grep -m 1 \^vendor_id \/proc\/cpuinfo$/,
];

function isRead(argv: readonly string[]): boolean {
  // the preflight session: one script, the same text every time
  const session = sessionArgv();
  if (argv.length === session.length && argv.every((a, i) => a === session[i])) return true;
  // the membership read: one script, the same text every time
  const nodeRead = nodeReadArgv();
  if (argv.length === nodeRead.length && argv.every((a, i) => a === nodeRead[i])) return true;
  return READ_SHAPES.some((re) => re.test(argv.join(' ')));
}

async function dryRun(args: string[], fake: Transport, nodes: string[]) {
  const reached = new Reached(fake);
  const io = testIO({ tty: false });
  const state = tmpDir('pvx-state-');
  const code = await run(['-i', writeInventory(nodes), '--dry-run', '--json', ...args], {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') },
    cwd: state,
    transportFactory: () => reached,
  });
  const doc = JSON.parse(io.stdoutText());
  return { code, doc, reached: reached.argv, notReads: reached.argv.filter((a) => !isRead(a)).map((a) => a.join(' ')) };
}

const THREE = ['pve1', 'pve2', 'pve3'];

function offline(fc: FakeCluster, node: string): FakeCluster {
  fc.node(node).reachable = false;
  return fc;
}
const FOUR = [...THREE, 'pve4'];

describe('--dry-run lets only reads reach the nodes', () => {
  it.each([
    ['cluster create', () => new FakeCluster(THREE), THREE, ['cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3']],
    ['cluster join', () => new FakeCluster(FOUR).form('lab', THREE), FOUR, ['cluster', 'join', 'pve4', '--via', 'pve2']],
    ['cluster remove-node', () => offline(new FakeCluster(THREE).form('lab', THREE), 'pve3'), THREE, ['cluster', 'remove-node', 'pve3', '--via', 'pve1']],
    ['cluster expected', () => new FakeCluster(THREE).form('lab', THREE), THREE, ['cluster', 'expected', '2', '--node', 'pve1']],
    ['cluster teardown', () => new TeardownFake(THREE).form('prod', THREE), THREE, ['cluster', 'teardown']],
    ['migrate', () => new FakeMigrateCluster([{ vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: true, memMiB: 2048 }]), THREE, ['migrate', '100', '--to', 'pve2', '--online']],
    ['ha add', () => new FakeHa(9).with({ vmid: 100, type: 'qemu', node: 'pve1', running: true }), THREE, ['ha', 'add', '100', '--nodes', 'pve1']],
  ] as Array<[string, () => Transport & { verify(): void }, string[], string[]]>)('%s', async (_name, fake, nodes, args) => {
    const double = fake();
    const r = await dryRun(args, double, nodes);
    expect(r.doc.ok, JSON.stringify(r.doc.error)).toBe(true);
    expect(r.code).toBe(0);
    // a plan that changes something was printed, and the reads it took did reach the nodes
    expect(r.doc.result.plan.some((s: { mutates: boolean }) => s.mutates)).toBe(true);
    expect(r.reached.length).toBeGreaterThan(0);
    expect(r.notReads).toEqual([]);
    double.verify();
  });

  it('holds back a deletion the product sends flagged as a read, and it never reaches the node', async () => {
    hostile.on = true;
    try {
      const fc = new TeardownFake(THREE).form('prod', THREE);
      const r = await dryRun(['cluster', 'teardown'], fc, THREE);
      expect(r.reached.some((a) => a[0] === 'find')).toBe(false);
      expect(r.reached.filter((a) => a[0] === 'rm')).toEqual([]);
      expect(r.notReads).toEqual([]);
      fc.verify();
    } finally {
      hostile.on = false;
    }
  });
});
