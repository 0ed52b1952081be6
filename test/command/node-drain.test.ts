import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeMigrateCluster, type FakeGuest } from '../helpers/fake-migrate.js';
import { FakeTransport, type Script } from '../helpers/fake-transport.js';
import { nodeReadScript } from '../helpers/node-read.js';
import { nodeReadArgv } from '../../src/facts/node-read.js';
import { runInProcess, writeInventory } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp.js';
import { UnreachableError } from '../../src/errors.js';

const NODES = ['pve1', 'pve2', 'pve3'];
const GiB = 1024 ** 3;

function json(stdout: string): { ok: boolean; command: string; result: any; error?: any; warnings: string[] } {
  return JSON.parse(stdout);
}

describe('pvx node drain (in-process, fake cluster)', () => {
  it('--dry-run prints the placement and the exact commands, and changes nothing', async () => {
    const inv = writeInventory(NODES);
    const c = new FakeMigrateCluster([
      { vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: true, memMiB: 2048 },
      { vmid: 101, type: 'lxc', node: 'pve1', name: 'dns', running: true, memMiB: 512 },
      { vmid: 102, type: 'qemu', node: 'pve1', name: 'db', running: false, memMiB: 4096 },
      { vmid: 103, type: 'qemu', node: 'pve2', running: true, memMiB: 1024 },
    ]);
    c.freeMem.set('pve2', 10 * GiB);
    c.freeMem.set('pve3', 8 * GiB);
    const r = await runInProcess(['-i', inv, '--json', 'node', 'drain', 'pve1', '--dry-run'], c);
    expect(r.code).toBe(0);
    const doc = json(r.stdout);
    expect(doc.command).toBe('node drain');
    // 100 (2 GiB) → pve2 (10 free > 8); 101 (0.5 GiB) → pve2 (8 free ties pve3's 8: the first named wins);
    // 102 is stopped and needs no memory → pve3 (8 free > 7.5)
    expect(doc.result.placement).toEqual([
      { vmid: 100, type: 'qemu', from: 'pve1', target: 'pve2' },
      { vmid: 101, type: 'lxc', from: 'pve1', target: 'pve2' },
      { vmid: 102, type: 'qemu', from: 'pve1', target: 'pve3' },
    ]);
    expect(doc.result.plan.map((s: any) => `${s.node}: ${s.command.join(' ')}`)).toEqual([
      'pve1: qm migrate 100 pve2 --online 1',
      'pve1: pct migrate 101 pve2 --restart 1',
      'pve1: qm migrate 102 pve3',
    ]);
    expect(c.mutations()).toEqual([]);
    c.verify();
  });

  it('the text dry run shows the commands under the node they run on and the placement table', async () => {
    const inv = writeInventory(NODES);
    const c = new FakeMigrateCluster([{ vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: true, memMiB: 2048, extra: ['cpu: host'] }]);
    c.vendors.set('pve2', 'AuthenticAMD');
    const r = await runInProcess(['-i', inv, 'node', 'drain', 'pve1', '--dry-run'], c);
    expect(r.code).toBe(0);
    // pve2's AMD CPU cannot take a live VM with CPU type host from pve1's Intel one
    expect(r.stdout).toMatch(/\npve1\n {2}1\. migrate VM 100 \(web\) live to pve3\n +qm migrate 100 pve3 --online 1\n/);
    expect(r.stdout).toMatch(/\nVMID +TYPE +FROM +TARGET +REASON\n100 +VM +pve1 +pve3\s*\n/);
    c.verify();
  });

  it('bad input is refused before any node is touched (exit 2)', async () => {
    const inv = writeInventory(NODES);
    for (const args of [
      ['pve1', '--to', 'pve1,pve2'],
      ['pve1', '--parallel', '0'],
      ['pve9'],
      ['pve1', '--to', 'pve2,pve9'],
      ['pve1', '--to', 'pve2,,pve3'],
    ]) {
      const c = new FakeMigrateCluster([]);
      const r = await runInProcess(['-i', inv, 'node', 'drain', ...args], c);
      expect(r.code, args.join(' ')).toBe(2);
      expect(c.calls, args.join(' ')).toEqual([]);
    }
    const r = await runInProcess(['-i', inv, 'node', 'drain', 'pve1', '--to', 'pve1'], new FakeMigrateCluster([]));
    expect(r.stderr).toContain('--to names pve1, the node being emptied');
  });

  it('refuses (exit 3, nothing changed) when no target can be used, or the node itself is offline', async () => {
    const inv = writeInventory(NODES);
    const c = new FakeMigrateCluster([{ vmid: 100, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 }]);
    c.inquorate.add('pve2');
    const r = await runInProcess(['-i', inv, '--json', 'node', 'drain', 'pve1', '--to', 'pve2'], c);
    expect(r.code).toBe(3);
    const doc = json(r.stdout);
    expect(doc.error).toMatchObject({ code: 'PREFLIGHT_FAILED', exitCode: 3 });
    expect(doc.error.message).toBe('no target can take guests: the target pve2 is not quorate (1 of 3 votes, 2 needed)');
    expect(c.mutations()).toEqual([]);

    const off = new FakeMigrateCluster([{ vmid: 100, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 }]);
    off.offline.add('pve1');
    const o = await runInProcess(['-i', inv, 'node', 'drain', 'pve1'], off);
    expect(o.code).toBe(3);
    expect(o.stderr).toContain('pve1 is offline: its guests cannot be migrated from it');
    expect(off.mutations()).toEqual([]);
  });

  it('drains across two targets when one lacks memory for the large guests; what fits nowhere stays, named (exit 1)', async () => {
    const inv = writeInventory(NODES);
    const guests: FakeGuest[] = [
      { vmid: 200, type: 'qemu', node: 'pve1', running: true, memMiB: 4096 },
      { vmid: 201, type: 'qemu', node: 'pve1', running: true, memMiB: 4096 },
      { vmid: 202, type: 'qemu', node: 'pve1', running: true, memMiB: 4096 },
      { vmid: 203, type: 'lxc', node: 'pve1', running: true, memMiB: 1024 },
    ];
    const c = new FakeMigrateCluster(guests);
    c.freeMem.set('pve2', 3 * GiB);
    c.freeMem.set('pve3', 9 * GiB);
    const r = await runInProcess(['-i', inv, '--json', 'node', 'drain', 'pve1', '--parallel', '2'], c);
    expect(r.code).toBe(1);
    const doc = json(r.stdout);
    expect(doc.result.guests.map((g: any) => [g.vmid, g.target, g.status, g.reason])).toEqual([
      [200, 'pve3', 'migrated', undefined],
      [201, 'pve3', 'migrated', undefined],
      [202, null, 'skipped', 'fits on no target: pve2: needs 4.0 GiB of memory, pve2 has 3.0 GiB free | pve3: needs 4.0 GiB of memory, pve3 has 1.0 GiB free after the guests planned there'],
      [203, 'pve2', 'migrated', undefined],
    ]);
    expect(c.mutations().sort()).toEqual(['pve1: pct migrate 203 pve2 --restart 1', 'pve1: qm migrate 200 pve3 --online 1', 'pve1: qm migrate 201 pve3 --online 1']);
    expect(doc.error).toMatchObject({ code: 'DRAIN_INCOMPLETE', exitCode: 1, message: '1 of 4 guest(s) are still on pve1: 1 skipped' });
    expect(doc.error.hint).toContain('continue with: pvx node drain pve1 --parallel 2');
    expect([...c.guests.values()].map((g) => `${g.vmid}@${g.node}`)).toEqual(['200@pve3', '201@pve3', '202@pve1', '203@pve2']);
    c.verify();
  });

  it('a migration that fails leaves the others going and prints the command that continues (exit 1)', async () => {
    const inv = writeInventory(NODES);
    const c = new FakeMigrateCluster([
      { vmid: 100, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 },
      { vmid: 101, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 },
    ]);
    c.faults.set(100, { kind: 'abort', reason: "can't connect to destination address using public key" });
    const r = await runInProcess(['-i', inv, 'node', 'drain', 'pve1', '--to', 'pve3,pve2'], c);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^100 +VM +pve1 +pve3 +failed +\d+\.\d s +migration aborted: can't connect to destination address using public key$/m);
    expect(r.stdout).toMatch(/^101 +VM +pve1 +pve2 +migrated /m);
    expect(r.stderr).toContain('error: 1 of 2 guest(s) are still on pve1: 1 failed\n');
    expect(r.stderr).toContain("hint: each guest's line says why; fix that, then continue with: pvx node drain pve1 --to pve3,pve2 (guests already moved are not on pve1 any more)\n");
    c.verify();
  });

  it('--to restricts the targets, and a storage missing there keeps the guest (exit 1)', async () => {
    const inv = writeInventory(NODES);
    const c = new FakeMigrateCluster([
      { vmid: 100, type: 'qemu', node: 'pve1', running: false, memMiB: 1024 },
      { vmid: 101, type: 'qemu', node: 'pve1', running: false, memMiB: 1024, storage: 'local-lvm' },
    ]);
    c.noStorage.add('pve3/local-lvm');
    const r = await runInProcess(['-i', inv, '--json', 'node', 'drain', 'pve1', '--to', 'pve3', '--with-local-disks'], c);
    expect(r.code).toBe(1);
    expect(json(r.stdout).result.guests.map((g: any) => [g.vmid, g.target, g.status, g.reason])).toEqual([
      [100, 'pve3', 'migrated', undefined],
      [101, null, 'skipped', "fits on no target (pve3): storage 'local-lvm' (local disk local-lvm:vm-101-disk-0) does not exist on pve3; name one that does with --target-storage"],
    ]);
    expect(c.mutations()).toEqual(['pve1: qm migrate 100 pve3']);
    c.verify();
  });
});

describe('pvx node maintenance (in-process, fake cluster)', () => {
  it('enable: HA maintenance mode moves the HA guest, pvx the other; disable --return brings both back', async () => {
    const inv = writeInventory(NODES);
    const state = tmpDir('pvx-state-');
    const env = { PVX_STATE_DIR: state };
    const c = new FakeMigrateCluster([
      { vmid: 100, type: 'qemu', node: 'pve1', running: true, memMiB: 1024, hastate: 'started' },
      { vmid: 101, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 },
    ]);
    c.haLrms = true;
    c.maintenanceTarget = 'pve3';
    const dry = await runInProcess(['-i', inv, '--json', 'node', 'maintenance', 'enable', 'pve1', '--dry-run'], c, { env });
    expect(dry.code).toBe(0);
    expect(json(dry.stdout).result.plan.map((s: any) => `${s.node}: ${s.command.join(' ')}`)).toEqual([
      'pve1: ha-manager crm-command node-maintenance enable pve1',
      'pve2: pvesh get /cluster/ha/status/current --output-format json',
      'pve1: qm migrate 101 pve2 --online 1',
    ]);
    expect(c.mutations()).toEqual([]);

    const on = await runInProcess(['-i', inv, '--json', 'node', 'maintenance', 'enable', 'pve1'], c, { env });
    expect(on.code).toBe(0);
    const doc = json(on.stdout);
    expect(doc.result).toMatchObject({ node: 'pve1', action: 'enable', haMaintenance: true, ha: [{ sid: 'vm:100', node: 'pve3', state: 'started' }] });
    expect(doc.result.guests.map((g: any) => [g.vmid, g.target, g.status])).toEqual([[101, 'pve2', 'migrated']]);
    expect(c.mutations()).toEqual(['pve1: ha-manager crm-command node-maintenance enable pve1', 'pve1: qm migrate 101 pve2 --online 1']);
    const file = path.join(state, 'maintenance', 'pve1.json');
    expect(doc.result.stateFile).toBe(file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      version: 1,
      node: 'pve1',
      guests: [
        { vmid: 100, type: 'qemu', to: 'pve3', ha: true },
        { vmid: 101, type: 'qemu', to: 'pve2', ha: false },
      ],
    });

    const off = await runInProcess(['-i', inv, '--json', 'node', 'maintenance', 'disable', 'pve1', '--return'], c, { env });
    expect(off.code).toBe(0);
    const back = json(off.stdout);
    expect(back.result).toMatchObject({ action: 'disable', ha: [{ sid: 'vm:100', node: 'pve1' }], stateFile: null });
    expect(back.result.guests.map((g: any) => [g.vmid, g.from, g.target, g.status])).toEqual([[101, 'pve2', 'pve1', 'migrated']]);
    expect(c.mutations().slice(2)).toEqual(['pve1: ha-manager crm-command node-maintenance disable pve1', 'pve2: qm migrate 101 pve1 --online 1']);
    expect([...c.guests.values()].map((g) => `${g.vmid}@${g.node}`)).toEqual(['100@pve1', '101@pve1']);
    expect(existsSync(file)).toBe(false);
    c.verify();
  });

  it('a maintenance request cut off under its command may have been queued: exit 4 with the command that continues, which then finishes', async () => {
    const inv = writeInventory(NODES);
    const state = tmpDir('pvx-state-');
    const env = { PVX_STATE_DIR: state };
    const c = new FakeMigrateCluster([{ vmid: 100, type: 'qemu', node: 'pve1', running: true, memMiB: 1024, hastate: 'started' }]);
    c.haLrms = true;
    c.maintenanceTarget = 'pve3';
    const exec = c.exec.bind(c);
    let cut = true;
    c.exec = async (node, argv, opts) => {
      if (cut && argv.join(' ') === 'ha-manager crm-command node-maintenance enable pve1') {
        cut = false;
        // the request reached the node, then the connection broke
        await exec(node, argv, opts);
        throw new UnreachableError('pve1', 'connection to pve1 lost: Broken pipe');
      }
      return exec(node, argv, opts);
    };
    const on = await runInProcess(['-i', inv, 'node', 'maintenance', 'enable', 'pve1'], c, { env });
    expect(on.code, on.stderr).toBe(4);
    expect(on.stderr).toContain('the request to put pve1 into maintenance mode was cut off, so it may have been queued: connection to pve1 lost: Broken pipe');
    expect(on.stderr).not.toContain('nothing was changed');
    const again = /continue with: (pvx .*?) \(the request/.exec(on.stderr)?.[1];
    expect(again, on.stderr).toBe('pvx node maintenance enable pve1');
    const next = await runInProcess(['-i', inv, ...again!.split(' ').slice(1)], c, { env });
    expect(next.code, next.stderr).toBe(0);
    expect([...c.guests.values()].map((g) => `${g.vmid}@${g.node}`)).toEqual(['100@pve3']);
    c.verify();
  });

  it('a node on PVE 7 (older than pvx supports): no HA maintenance request; pvx moves every guest, the HA one with ha-manager migrate, and says why', async () => {
    const inv = writeInventory(NODES);
    const env = { PVX_STATE_DIR: tmpDir('pvx-state-') };
    const c = new FakeMigrateCluster([
      { vmid: 100, type: 'qemu', node: 'pve1', running: true, memMiB: 2048, hastate: 'started' },
      { vmid: 101, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 },
    ]);
    c.managerVersion = '7.4-17';
    c.crmAfterReads = 0;
    const on = await runInProcess(['-i', inv, '--json', 'node', 'maintenance', 'enable', 'pve1'], c, { env });
    expect(on.code, on.stderr).toBe(0);
    const doc = json(on.stdout);
    expect(doc.result).toMatchObject({ node: 'pve1', action: 'enable', haMaintenance: false, ha: [] });
    // equal targets: the larger 100 takes pve2 (the first of a tie), 101 then pve3 (more left)
    expect(doc.result.guests.map((g: any) => [g.vmid, g.target, g.status])).toEqual([
      [100, 'pve2', 'migrated'],
      [101, 'pve3', 'migrated'],
    ]);
    expect(c.mutations().sort()).toEqual(['pve1: ha-manager migrate vm:100 pve2', 'pve1: qm migrate 101 pve3 --online 1']);
    expect(doc.warnings).toContain(
      'pve1 runs PVE 7.4-17, older than the PVE 8 and later pvx supports: the HA stack\'s maintenance mode is not used; every guest is moved like pvx node drain (HA guests with ha-manager migrate) and comes back only with disable --return',
    );
    c.verify();
  });

  it('disable without --return ends maintenance mode and keeps the record, saying how to bring the guests back', async () => {
    const inv = writeInventory(NODES);
    const state = tmpDir('pvx-state-');
    const env = { PVX_STATE_DIR: state };
    const c = new FakeMigrateCluster([{ vmid: 101, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 }]);
    c.haLrms = true;
    expect((await runInProcess(['-i', inv, 'node', 'maintenance', 'enable', 'pve1'], c, { env })).code).toBe(0);
    const off = await runInProcess(['-i', inv, 'node', 'maintenance', 'disable', 'pve1'], c, { env });
    expect(off.code).toBe(0);
    expect(off.stderr).toContain('bring them back with: pvx node maintenance disable pve1 --return');
    expect(c.guests.get(101)?.node).toBe('pve2');
    expect(existsSync(path.join(state, 'maintenance', 'pve1.json'))).toBe(true);
    c.verify();
  });
});

describe('pvx node drain (in-process, strict scripted transport)', () => {
  const FIX = path.resolve(new URL('../fixtures/pve', import.meta.url).pathname);
  const QUORUM = readFileSync(path.join(FIX, 'corosync-quorumtool/pve9-3node-cluster-validation-siH.txt'), 'utf8');
  const CONF = readFileSync(path.join(FIX, 'corosync-conf/labcluster-3node-constructed.conf'), 'utf8');
  const MEMBERS = readFileSync(path.join(FIX, 'pmxcfs/members-3node-constructed.json'), 'utf8');
  const VERSION = 'installed 9.0.6\n';
  const NAMES = ['proxmox', 'pve2', 'pve3'];
  const node = (name: string, freeGiB: number) => ({ id: `node/${name}`, node: name, type: 'node', status: 'online', maxmem: 64 * GiB, mem: (64 - freeGiB) * GiB, maxcpu: 8 });
  const nfs = (name: string) => ({ id: `storage/${name}/nfs1`, storage: 'nfs1', node: name, type: 'storage', plugintype: 'nfs', shared: 1, status: 'available', content: 'images,rootdir' });
  const RESOURCES = JSON.stringify([
    { id: 'qemu/100', vmid: 100, type: 'qemu', node: 'proxmox', name: 'web', status: 'running', template: 0, maxmem: 2 * GiB, mem: GiB },
    node('proxmox', 40),
    node('pve2', 16),
    node('pve3', 30),
    ...NAMES.map(nfs),
  ]);
  const VENDOR = ['grep', '-m', '1', '^vendor_id', '/proc/cpuinfo'];
  const readNodeScripts = (n: string, unreachable = false): Script[] =>
    unreachable
      ? [{ node: n, argv: nodeReadArgv(), unreachable: true }, { node: n, argv: VENDOR, unreachable: true }]
      : [
          nodeReadScript(n, { conf: { stdout: CONF }, quorum: { stdout: QUORUM }, members: { stdout: MEMBERS }, version: { stdout: VERSION } }),
          { node: n, argv: VENDOR, result: { stdout: 'vendor_id\t: GenuineIntel\n' } },
        ];
  const resources = (n: string): Script => ({ node: n, argv: ['pvesh', 'get', '/cluster/resources', '--output-format', 'json'], result: { stdout: RESOURCES } });

  it('--dry-run runs only reads, each exactly as scripted, and plans the one native command', async () => {
    const t = new FakeTransport([
      resources('pve2'),
      ...readNodeScripts('proxmox'),
      ...readNodeScripts('pve2'),
      { node: 'pve2', argv: ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json'], result: { stdout: '[{"id":"quorum","node":"pve2","quorate":1,"status":"OK","type":"quorum"}]\n' } },
      { node: 'proxmox', argv: ['qm', 'config', '100'], result: { stdout: 'memory: 2048\nname: web\nscsi0: nfs1:100/vm-100-disk-0.qcow2,size=8G\n' } },
    ]);
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'node', 'drain', 'proxmox', '--to', 'pve2', '--dry-run'], t);
    expect(r.code, r.stderr).toBe(0);
    const doc = json(r.stdout);
    expect(doc.result.plan).toEqual([{ node: 'proxmox', title: 'migrate VM 100 (web) live to pve2', command: ['qm', 'migrate', '100', 'pve2', '--online', '1'], mutates: true }]);
    expect(doc.result.placement).toEqual([{ vmid: 100, type: 'qemu', from: 'proxmox', target: 'pve2' }]);
    expect(t.calls.every((c) => !c.opts.mutates)).toBe(true);
    t.verify();
  });

  it('refuses with exit 3 when the only target cannot be reached, and changes nothing', async () => {
    const t = new FakeTransport([
      { node: 'pve2', argv: ['pvesh', 'get', '/cluster/resources', '--output-format', 'json'], unreachable: true },
      resources('pve3'),
      ...readNodeScripts('proxmox').slice(0, 1),
      ...readNodeScripts('pve2', true),
    ]);
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'node', 'drain', 'proxmox', '--to', 'pve2'], t);
    expect(r.code).toBe(3);
    expect(json(r.stdout).error).toMatchObject({ code: 'PREFLIGHT_FAILED', message: 'no target can take guests: the target pve2 cannot be reached: cannot reach pve2 over SSH: Connection refused' });
    expect(t.calls.every((c) => !c.opts.mutates)).toBe(true);
    t.verify();
  });
});
