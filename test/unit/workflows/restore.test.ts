import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCorosyncConf, summarizeCorosyncConf } from '../../../src/pve/parse/corosync-conf.js';
import { executePlan } from '../../../src/workflows/execute.js';
import { chooseRestoreConf, RestoreConfError, votesOf } from '../../../src/workflows/cluster/restore-conf.js';
import { otherFolders } from '../../../src/commands/cluster/restore.js';
import { planRestore, putDatabaseArgv, putFoldersBackArgv, uploadArgv, writeFileArgv, type RestoreInput } from '../../../src/workflows/cluster/restore-plan.js';
import { guestContentsArgv } from '../../../src/workflows/cluster/restore-guests.js';
import { stopLeftoverPmxcfsArgv, stopPmxcfsArgv } from '../../../src/workflows/teardown/plan.js';
import { corosyncConf } from '../checks/scenario.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { tmpDir } from '../../helpers/tmp.js';
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
    // pve1 still runs: pve3 takes its database
    nodes: [{ node: 'pve3', archiveBase64: () => 'QUJD', sha256: 'a'.repeat(64), backupConf: full, database: 'cluster', guests: new Map() }],
    members: ['pve1'],
    clusterCopyOn: 'pve1',
    partition: 2,
    expectQuorum: true,
    ...o,
  });

  it('teaches the members first, then gives the node the running cluster\'s database, then fixes the cluster-wide copy and checks quorum and guests', () => {
    const plan = planRestore(input(), { read: scriptedReader({}), timing: fakeTiming() });
    const file = '/var/lib/pvx/backups/prod-20260101T000000Z/pve3.tar.gz';
    expect(plan.steps.map((s) => `${s.node}: ${s.argv.join(' ') === stopPmxcfsArgv().join(' ') ? 'stop-pmxcfs' : s.argv.join(' ') === stopLeftoverPmxcfsArgv().join(' ') ? 'stop-leftover-pmxcfs' : s.argv.join(' ')}`)).toEqual([
      `pve1: ${writeFileArgv('/etc/corosync/corosync.conf').join(' ')}`,
      'pve1: corosync-cfgtool -R',
      `pve3: ${uploadArgv(file, 'a'.repeat(64)).join(' ')}`,
      'pve3: systemctl stop pve-cluster',
      'pve3: systemctl stop corosync',
      'pve3: stop-leftover-pmxcfs',
      // no local pmxcfs: its own database is kept aside and removed, the cluster's wins
      `pve3: ${putDatabaseArgv('cluster', file, 'prod-20260101T000000Z').join(' ')}`,
      `pve3: tar -xzf ${file} -C / etc/corosync`,
      `pve3: ${writeFileArgv('/etc/corosync/corosync.conf').join(' ')}`,
      'pve3: systemctl start pve-cluster',
      'pve3: systemctl start corosync',
      `pve1: ${writeFileArgv('/etc/pve/corosync.conf').join(' ')}`,
      'pve3: pvecm status',
      `pve3: ${guestContentsArgv().join(' ')}`,
    ]);
    expect(plan.steps.every((s) => s.input === undefined)).toBe(true);
  });

  it('leaves out what is already right and the checks that cannot succeed without quorum', () => {
    const nodes: RestoreInput['nodes'] = [{ node: 'pve3', archiveBase64: () => 'QUJD', sha256: 'a'.repeat(64), backupConf: full, database: 'backup', guests: new Map() }];
    const plan = planRestore(input({ conf: chooseRestoreConf('prod', undefined, new Map([['pve3', full]]), ['pve3']), nodes, members: [], expectQuorum: false, clusterCopyOn: undefined as never }), {
      read: scriptedReader({}),
      timing: fakeTiming(),
    });
    // upload, 2 stops, a leftover pmxcfs, the backup's database, pmxcfs -l, the cluster-wide copy, /etc/corosync, stop pmxcfs, 2 starts
    expect(plan.steps.map((s) => s.node)).toEqual(Array(11).fill('pve3'));
  });

  it('starts corosync-qdevice again on every restored node when the configuration has a QDevice, and checks that its vote counts', async () => {
    const two = nodes(['pve1', 'pve2']);
    const withDevice = corosyncConf('duo', two, { qdevice: { host: '10.0.0.5' } });
    const conf = chooseRestoreConf('duo', undefined, new Map([['pve1', withDevice], ['pve2', withDevice]]), ['pve1', 'pve2']);
    expect(conf.qdevice).toEqual({ model: 'net', host: '10.0.0.5', algorithm: 'ffsplit', votes: 1 });
    const restoreNode = (node: string): RestoreInput['nodes'][number] => ({ node, archiveBase64: () => 'QUJD', sha256: 'a'.repeat(64), backupConf: withDevice, database: 'backup', guests: new Map() });
    const voting = (node: string) => member(node, 'duo', ['pve1', 'pve2'], { expectedVotes: 3, totalVotes: 3, qdevice: { votes: 1, voting: true } });
    const read = scriptedReader({
      // pve2's device connects a moment later
      pve1: [voting('pve1')],
      pve2: [member('pve2', 'duo', ['pve1', 'pve2'], { expectedVotes: 3, qdevice: { votes: 0, voting: false } }), voting('pve2')],
    });
    const timing = fakeTiming();
    const plan = planRestore({ cluster: 'duo', set: 's', conf, nodes: [restoreNode('pve1'), restoreNode('pve2')], members: [], partition: 2, expectQuorum: true }, { read, timing });
    const argv = plan.steps.map((s) => `${s.node}: ${s.argv.join(' ')}`);
    for (const node of ['pve1', 'pve2']) {
      const start = argv.indexOf(`${node}: systemctl start corosync-qdevice`);
      expect(start).toBe(argv.indexOf(`${node}: systemctl start corosync`) + 1);
      expect(argv[start + 1]).toBe(`${node}: systemctl enable corosync-qdevice`);
    }
    const checks = plan.steps.filter((s) => /counts the QDevice's vote again, QNetd host 10\.0\.0\.5$/.test(s.title));
    expect(checks.map((s) => s.node)).toEqual(['pve1', 'pve2']);
    expect(await checks[1]!.run!(new FakeTransport())).toEqual({ ok: true, message: 'the QDevice votes' });
    expect(timing.slept).toBe(1_000);
  });

  it('fails the QDevice check with the way to set it up again when its vote never counts', async () => {
    const two = nodes(['pve1', 'pve2']);
    const withDevice = corosyncConf('duo', two, { qdevice: { host: '10.0.0.5' } });
    const conf = chooseRestoreConf('duo', undefined, new Map([['pve1', withDevice]]), ['pve1']);
    const read = scriptedReader({ pve1: [member('pve1', 'duo', ['pve1', 'pve2'], { online: ['pve1'], expectedVotes: 3, totalVotes: 1, quorate: false })] });
    const plan = planRestore(
      { cluster: 'duo', set: 's', conf, nodes: [{ node: 'pve1', archiveBase64: () => 'QUJD', sha256: 'a'.repeat(64), backupConf: withDevice, database: 'backup', guests: new Map() }], members: [], partition: 1, expectQuorum: true },
      { read, timing: fakeTiming() },
    );
    const check = plan.steps.find((s) => s.title.startsWith('check that pve1 counts the QDevice'));
    const r = await check!.run!(new FakeTransport());
    expect(r.ok).toBe(false);
    expect(r.message).toBe("pve1 reports no QDevice: check that corosync-qnetd runs on 10.0.0.5 and TCP 5403 is reachable, or set it up again with 'pvecm qdevice setup 10.0.0.5 --force'");
  });

  it('has no QDevice step when the configuration has none', () => {
    const plan = planRestore(input(), { read: scriptedReader({}), timing: fakeTiming() });
    expect(plan.steps.some((s) => /qdevice|QDevice/.test(`${s.title} ${s.argv.join(' ')}`))).toBe(false);
  });

  it('puts the other nodes\' folders back from the backup while pmxcfs runs locally, before the node meets the cluster again', () => {
    // a backup without config.db: the node keeps its own database, which must hold the folders
    const plan = planRestore(input({ nodes: [{ node: 'pve3', archiveBase64: () => 'QUJD', sha256: 'a'.repeat(64), backupConf: full, folders: ['pve1', 'pve2'], database: 'kept', guests: new Map() }] }), {
      read: scriptedReader({}),
      timing: fakeTiming(),
    });
    const file = '/var/lib/pvx/backups/prod-20260101T000000Z/pve3.tar.gz';
    const shape = plan.steps.map((s) => (s.argv.join(' ') === stopPmxcfsArgv().join(' ') ? 'stop-pmxcfs' : s.argv.join(' ')));
    const put = shape.indexOf(putFoldersBackArgv(file, ['pve1', 'pve2']).join(' '));
    expect(put).toBeGreaterThan(shape.indexOf('pmxcfs -l'));
    expect(shape[put + 1]).toBe('stop-pmxcfs');
    expect(plan.steps[put]).toMatchObject({ node: 'pve3', mutates: true, title: "put the other nodes' folders back into /etc/pve/nodes from the backup on pve3 (pve1, pve2; those it lacks)" });
  });

  it('finds the other nodes\' folders a backup holds, by PVE\'s node names', () => {
    const files = ['etc/corosync/authkey', 'etc/pve/nodes/pve1/lrm_status', 'etc/pve/nodes/pve1/qemu-server/100.conf', 'etc/pve/nodes/pve3/lrm_status', 'etc/pve/nodes/pve2/lxc/101.conf', 'etc/pve/nodes/bad_name/x'];
    expect(otherFolders(files, 'pve3')).toEqual(['pve1', 'pve2']);
    expect(otherFolders(['etc/corosync/authkey'], 'pve3')).toEqual([]);
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

describe('putting folders back, under the real /bin/sh and tar', () => {
  it('writes the folders a node lacks from the archive, file by file, and leaves one it has again', () => {
    const root = tmpDir('pvx-putback-');
    const stage = path.join(root, 'stage');
    const put = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
      writeFileSync(path.join(stage, rel), text);
    };
    put('etc/pve/nodes/pve1/qemu-server/100.conf', 'name: web\n');
    put('etc/pve/nodes/pve1/lrm_status', '{}');
    put('etc/pve/nodes/pve2/lxc/101.conf', 'hostname: db\n');
    put('etc/corosync/authkey', 'k');
    const archive = path.join(root, 'pve3.tar.gz');
    execFileSync('tar', ['-C', stage, '-czf', archive, 'etc']);
    const nodes = path.join(root, 'nodes');
    mkdirSync(path.join(nodes, 'pve2'), { recursive: true });
    writeFileSync(path.join(nodes, 'pve2', 'newer'), 'kept');
    const [cmd, ...args] = putFoldersBackArgv(archive, ['pve1', 'pve2'], nodes);
    const out = execFileSync(cmd!, args, { encoding: 'utf8' });
    expect(out).toBe(`restored ${nodes}/pve1\nkept ${nodes}/pve2\n`);
    expect(readFileSync(path.join(nodes, 'pve1', 'qemu-server', '100.conf'), 'utf8')).toBe('name: web\n');
    expect(readFileSync(path.join(nodes, 'pve1', 'lrm_status'), 'utf8')).toBe('{}');
    expect(existsSync(path.join(nodes, 'pve2', 'lxc'))).toBe(false);
  });
});
