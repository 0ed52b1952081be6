import { describe, expect, it } from 'vitest';
import { FakeCluster } from '../../helpers/fake-cluster.js';
import { FakeHa } from '../../helpers/fake-ha.js';
import { FakeMigrateCluster } from '../../helpers/fake-migrate.js';
import { TeardownFake } from '../../helpers/fake-teardown.js';

const NAMES = ['pve1', 'pve2', 'pve3'];

/** Send a command, swallow what it throws (as a product that catches errors would), and say whether it was refused. */
async function refused(t: { exec(node: string, argv: readonly string[], opts?: { input?: string; mutates?: boolean }): Promise<unknown> }, node: string, argv: string[], input?: string): Promise<boolean> {
  try {
    await t.exec(node, argv, input !== undefined ? { input, mutates: true } : {});
    return false;
  } catch (e) {
    return /unexpected command on /.test((e as Error).message);
  }
}

describe('the stateful doubles answer only the commands they were built for', () => {
  it('TeardownFake refuses look-alikes of its commands: other paths, other nodes, other scripts', async () => {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    const set = '/var/lib/pvx/backups/prod-20260819T172251Z';
    const lookAlikes: Array<[string, string[], string?]> = [
      ['pve1', ['rm', '-rf', '/']],
      ['pve1', ['rm', '-rf', '--', '/etc/pve/nodes/pve1']],
      ['pve1', ['rm', '-rf', '--', '/etc/pve/nodes']],
      ['pve1', ['rm', '-rf', '/var/lib/pvx/backups/other-20260819T172251Z']],
      ['pve1', ['rm', '-rf', '/var/lib/pvx/backups/prod-2026']],
      ['pve1', ['cat', '/etc/shadow']],
      ['pve1', ['base64', '-w', '0', `${set}/pve2.tar.gz`]],
      ['pve1', ['tar', '-xzf', `${set}/pve1.tar.gz`, '-C', '/', 'etc']],
      ['pve1', ['find', '/etc', '-mindepth', '1', '-delete']],
      ['pve1', ['systemctl', 'restart', 'pve-cluster']],
      ['pve1', ['pmxcfs']],
      ['pve1', ['sh', '-c', 'sqlite3 /var/lib/pve-cluster/config.db .dump', 'sh', set, 'pve1']],
      ['pve1', ['sh', '-c', 'tar -tzf "$1/$2"', 'sh', set, 'pve1.tar.gz']],
      ['pve1', ['sh', '-c', 'cat > "$1"', 'sh', '/etc/pve/corosync.conf'], 'x'],
      ['pve1', ['corosync-cfgtool', '-s']],
    ];
    for (const [node, argv, input] of lookAlikes) expect(await refused(fc, node, argv, input), argv.join(' ')).toBe(true);
    expect(() => fc.verify()).toThrow(/unexpected commands attempted: unexpected command on pve1: \["rm","-rf","\/"\]/);
  });

  it('FakeCluster refuses a write check on another path, pvecm with unknown flags, test -d on a path it does not know', async () => {
    const fc = new FakeCluster(NAMES).form('lab', NAMES);
    expect(await refused(fc, 'pve1', ['touch', '/etc/pve/nodes/pve1/.pvx-write-check'])).toBe(false);
    expect(await refused(fc, 'pve1', ['rm', '-f', '/etc/pve/nodes/pve1/.pvx-write-check'])).toBe(false);
    fc.verify();
    expect(await refused(fc, 'pve1', ['touch', '/etc/pve/nodes/pve2/.pvx-write-check'])).toBe(true);
    expect(await refused(fc, 'pve1', ['rm', '-f', '/etc/pve/corosync.conf'])).toBe(true);
    expect(await refused(fc, 'pve1', ['test', '-d', '/etc'])).toBe(true);
    expect(await refused(fc, 'pve1', ['pvecm', 'delnode', 'pve9'])).toBe(true);
    expect(await refused(fc, 'pve2', ['pvecm', 'add', '10.99.0.1', '--force'])).toBe(true);
    expect(await refused(fc, 'pve1', ['perl', '-e', 'print 1'])).toBe(true);
    expect(() => fc.verify()).toThrow(/unexpected commands attempted/);
  });

  it('FakeHa and FakeMigrateCluster refuse flags without values and guests they do not have', async () => {
    const ha = new FakeHa(9).with({ vmid: 100, type: 'qemu', node: 'pve1', running: true });
    expect(await refused(ha, 'pve1', ['ha-manager', 'add', 'vm:100', '--state', 'started'])).toBe(false);
    ha.verify();
    expect(await refused(ha, 'pve1', ['ha-manager', 'add', 'ct:100'])).toBe(true);
    expect(await refused(ha, 'pve1', ['ha-manager', 'set', 'vm:100', '--state'])).toBe(true);
    expect(await refused(ha, 'pve1', ['ha-manager', 'rules', 'add', 'node-affinity', 'r1', '--resources', 'vm:100', '--nodes', 'pve9', '--strict', '0'])).toBe(true);
    expect(() => ha.verify()).toThrow(/unexpected commands attempted/);

    const mc = new FakeMigrateCluster([{ vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: false, memMiB: 512 }]);
    expect(await refused(mc, 'pve1', ['qm', 'migrate', '100', 'pve2'])).toBe(false);
    mc.verify();
    expect(await refused(mc, 'pve2', ['qm', 'migrate', '100', 'pve2'])).toBe(true);
    expect(await refused(mc, 'pve1', ['qm', 'migrate', '100', 'pve3', '--online'])).toBe(true);
    expect(await refused(mc, 'pve1', ['pct', 'migrate', '100', 'pve3', '--targetstorage', 'nfs1'])).toBe(true);
    expect(() => mc.verify()).toThrow(/unexpected commands attempted/);
  });

  it('verify() fails for a command the test expected and the run never sent', async () => {
    const fc = new FakeCluster(NAMES).form('lab', NAMES).expectUsed('pve1', /^pvecm status$/).expectUsed('pve2', /^pvecm expected 2$/);
    await fc.exec('pve1', ['pvecm', 'status']);
    expect(() => fc.verify()).toThrow('expected commands never run: pve2: /^pvecm expected 2$/');
  });
});
