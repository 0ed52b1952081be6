import { describe, expect, it } from 'vitest';
import { parseCorosyncConf, summarizeCorosyncConf } from '../../../src/pve/parse/corosync-conf.js';
import { executePlan } from '../../../src/workflows/execute.js';
import { chooseRestoreConf, RestoreConfError, votesOf } from '../../../src/workflows/restore-conf.js';
import { planRestore, uploadArgv, writeFileArgv, type RestoreInput } from '../../../src/workflows/restore-plan.js';
import { stopPmxcfsArgv } from '../../../src/workflows/teardown-plan.js';
import { corosyncConf } from '../checks/scenario.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { fakeTiming, member, scriptedReader } from './cluster-plans.helpers.js';

const nodes = (names: string[]) => names.map((name) => ({ name, nodeid: Number(name.slice(3)), address: `10.0.0.${name.slice(3)}` }));
const full = corosyncConf('prod', nodes(['pve1', 'pve2', 'pve3']));
/** the cluster after `pvecm delnode pve3`: two nodes, a higher version */
const afterDelnode = corosyncConf('prod', nodes(['pve1', 'pve2'])).replace('config_version: 2', 'config_version: 4');

describe('the corosync.conf a restore puts back', () => {
  it('adds a removed node back to the running configuration, with a higher version', () => {
    const c = chooseRestoreConf('prod', afterDelnode, new Map([['pve3', full]]), ['pve3']);
    expect(c).toMatchObject({ configVersion: 5, nodes: ['pve1', 'pve2', 'pve3'], membersChange: true, source: 'cluster' });
    const s = summarizeCorosyncConf(parseCorosyncConf(c.text));
    expect(s.nodes.find((n) => n.name === 'pve3')).toEqual({ name: 'pve3', nodeid: 3, quorumVotes: 1, links: { 0: '10.0.0.3' } });
    expect(votesOf(c.text)).toEqual(new Map([['pve1', 1], ['pve2', 1], ['pve3', 1]]));
  });

  it('keeps the running configuration when it still lists the node', () => {
    const c = chooseRestoreConf('prod', full, new Map([['pve2', full]]), ['pve2']);
    expect(c).toMatchObject({ text: full, membersChange: false, source: 'cluster', configVersion: 3 });
  });

  it('takes the newest backup when no member runs', () => {
    const older = full.replace('config_version: 3', 'config_version: 2');
    const c = chooseRestoreConf('prod', undefined, new Map([['pve1', older], ['pve2', full]]), ['pve1', 'pve2']);
    expect(c).toMatchObject({ configVersion: 3, source: 'backup', nodes: ['pve1', 'pve2', 'pve3'] });
  });

  it('refuses another cluster, a clashing nodeid and an unreadable backup', () => {
    expect(() => chooseRestoreConf('other', afterDelnode, new Map([['pve3', full]]), ['pve3'])).toThrow(RestoreConfError);
    const clash = corosyncConf('prod', [...nodes(['pve1', 'pve2']), { name: 'pve4', nodeid: 3, address: '10.0.0.4' }]);
    expect(() => chooseRestoreConf('prod', clash, new Map([['pve3', full]]), ['pve3'])).toThrow(/now has its nodeid 3/);
    expect(() => chooseRestoreConf('prod', afterDelnode, new Map([['pve3', 'nodelist {']]), ['pve3'])).toThrow(/not a readable corosync.conf/);
  });
});

describe('the restore plan', () => {
  const input = (o: Partial<RestoreInput> = {}): RestoreInput => ({
    cluster: 'prod',
    set: 'prod-20260101T000000Z',
    conf: chooseRestoreConf('prod', afterDelnode, new Map([['pve3', full]]), ['pve3']),
    nodes: [{ node: 'pve3', archiveBase64: () => 'QUJD', sha256: 'a'.repeat(64), backupConf: full }],
    members: ['pve1'],
    clusterCopyOn: 'pve1',
    partition: 2,
    expectQuorum: true,
    ...o,
  });

  it('teaches the members first, then puts the node back through a local pmxcfs, then fixes the cluster-wide copy and checks quorum', () => {
    const plan = planRestore(input(), { read: scriptedReader({}), timing: fakeTiming() });
    const file = '/var/lib/pvx/backups/prod-20260101T000000Z/pve3.tar.gz';
    expect(plan.steps.map((s) => `${s.node}: ${s.argv.join(' ') === stopPmxcfsArgv().join(' ') ? 'stop-pmxcfs' : s.argv.join(' ')}`)).toEqual([
      `pve1: ${writeFileArgv('/etc/corosync/corosync.conf').join(' ')}`,
      'pve1: corosync-cfgtool -R',
      `pve3: ${uploadArgv(file, 'a'.repeat(64)).join(' ')}`,
      'pve3: systemctl stop pve-cluster',
      'pve3: systemctl stop corosync',
      'pve3: pmxcfs -l',
      `pve3: ${writeFileArgv('/etc/pve/corosync.conf').join(' ')}`,
      `pve3: tar -xzf ${file} -C / etc/corosync`,
      `pve3: ${writeFileArgv('/etc/corosync/corosync.conf').join(' ')}`,
      'pve3: stop-pmxcfs',
      'pve3: systemctl start pve-cluster',
      'pve3: systemctl start corosync',
      `pve1: ${writeFileArgv('/etc/pve/corosync.conf').join(' ')}`,
      'pve3: pvecm status',
    ]);
    expect(plan.steps.every((s) => s.input === undefined)).toBe(true);
  });

  it('leaves out what is already right and the checks that cannot succeed without quorum', () => {
    const plan = planRestore(input({ conf: chooseRestoreConf('prod', undefined, new Map([['pve3', full]]), ['pve3']), members: [], expectQuorum: false, clusterCopyOn: undefined as never }), {
      read: scriptedReader({}),
      timing: fakeTiming(),
    });
    expect(plan.steps.map((s) => s.node)).toEqual(Array(9).fill('pve3'));
  });

  it('uploads the archive on stdin and writes files from stdin', async () => {
    const timing = fakeTiming();
    const i = input();
    const quorate = member('pve1', 'prod', ['pve1', 'pve2'], { online: ['pve1'], partitionSize: 2 });
    const alone = member('pve1', 'prod', ['pve1', 'pve2'], { online: ['pve1'], partitionSize: 1 });
    const plan = planRestore(i, { read: scriptedReader({ pve1: [alone, quorate] }), timing });
    const t = new FakeTransport(plan.steps.filter((s) => s.node === 'pve1' && s.mutates).map((s) => ({ node: s.node, argv: s.argv })));
    const run = await executePlan({ title: 't', steps: plan.steps.filter((s) => s.node === 'pve1') }, t);
    expect(run.ok).toBe(true);
    expect(t.calls.map((c) => c.opts.input)).toEqual([i.conf.text, undefined, i.conf.text]);
    expect(timing.slept).toBe(1000);
    const up = new FakeTransport([{ node: 'pve3', argv: plan.steps[2]!.argv, result: { exitCode: 1, stderr: '/x.part: FAILED\nsha256sum: WARNING: 1 computed checksum did NOT match\n' } }]);
    const failed = await executePlan({ title: 't', steps: [plan.steps[2]!] }, up);
    expect(up.calls[0]?.opts.input).toBe('QUJD');
    expect(failed.failed?.message).toMatch(/failed its check: sha256sum: WARNING/);
  });
});
