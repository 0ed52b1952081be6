/** The simulated tools in-process under a test root (PVX_SIM_ROOT): /etc/pve is a symlink there. */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseQmList } from '../../../src/pve/parse/index.js';
import { IPCC_DOWN_TEXT } from '../../../src/lab/sim/core/cfs.js';
import { mountPve, setPveReadOnly } from '../../../src/lab/sim/core/mount.js';
import { simPaths, type SimPaths } from '../../../src/lab/sim/core/paths.js';
import { ensureBaseFiles, pemFingerprint } from '../../../src/lab/sim/core/pvedb.js';
import { runTask, upidLogPath } from '../../../src/lab/sim/core/task.js';
import { planPmxcfs } from '../../../src/lab/sim/tools/pmxcfs.js';
import { SIM_TOOLS } from '../../../src/lab/sim/registry.js';
import { tmpDir } from '../../helpers/tmp.js';
import { recordingCtx, type Recorded } from './ctx.js';

let dir: string;
let root: string;
let labRoot: string;
let paths: SimPaths;

function ctx(opts: { stdin?: string; pveVersion?: string } = {}): Recorded {
  return recordingCtx({ labRoot, root, ...opts });
}

async function tool(name: string, args: string[], opts: { stdin?: string; pveVersion?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const r = ctx(opts);
  const load = SIM_TOOLS[name];
  if (!load) throw new Error(`no tool ${name}`);
  const code = await (await load()).run(args, r.ctx);
  return { code, out: r.out(), err: r.err() };
}

async function mountLocal(): Promise<void> {
  const r = ctx();
  await ensureBaseFiles(paths.localDb, r.ctx.node);
  await mountPve(paths, paths.localDb);
}

beforeEach(() => {
  dir = tmpDir('pvx-sim-');
  root = path.join(dir, 'root');
  labRoot = path.join(dir, 'labs', 'unit');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(labRoot, { recursive: true });
  writeFileSync(path.join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n10.99.0.11 pve1\n');
  writeFileSync(path.join(labRoot, 'root-password'), 'secret\n');
  paths = simPaths(ctx().ctx.node, { PVX_SIM_ROOT: root });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('without pmxcfs', () => {
  it('pvecm refuses as the wrapper script does', async () => {
    expect(await tool('pvecm', ['status'])).toEqual({ code: 255, out: '', err: 'pve configuration filesystem (pmxcfs) not mounted\n' });
  });

  it('qm, pct, pvesh cannot load the access control list', async () => {
    for (const t of ['qm', 'pct', 'pvesm']) expect((await tool(t, ['list'])).err).toBe(IPCC_DOWN_TEXT);
  });
});

describe('a standalone node', () => {
  beforeEach(mountLocal);

  it('has PVE base files and a node certificate with a SHA-256 fingerprint', () => {
    expect(readFileSync(path.join(paths.etcPve, 'storage.cfg'), 'utf8')).toContain('lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n');
    const pem = readFileSync(path.join(paths.etcPve, 'nodes', 'pve1', 'pve-ssl.pem'), 'utf8');
    expect(pemFingerprint(pem)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('pvecm status says the node is not in a cluster', async () => {
    const r = await tool('pvecm', ['status']);
    expect(r).toEqual({ code: 255, out: '', err: "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n" });
  });

  it('pvesh refuses join information', async () => {
    const r = await tool('pvesh', ['get', '/cluster/config/join', '--output-format', 'json']);
    expect(r.code).toBe(255);
    expect(r.err).toMatch(/^424 node is not in a cluster, no join info available!/);
  });

  it('fails the join information when a member\'s certificate cannot be read, as PVE::Certificate dies', async () => {
    const conf = [
      'logging {\n  debug: off\n  to_syslog: yes\n}\n',
      'nodelist {\n  node {\n    name: pve1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.99.0.11\n  }\n  node {\n    name: pve2\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 10.99.0.12\n  }\n}\n',
      'quorum {\n  provider: corosync_votequorum\n}\n',
      'totem {\n  cluster_name: lab1\n  config_version: 2\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n',
    ].join('\n');
    writeFileSync(path.join(paths.etcPve, 'corosync.conf'), conf);
    const r = await tool('pvesh', ['get', '/cluster/config/join', '--output-format', 'json']);
    expect(r).toMatchObject({ code: 255, out: '' });
    expect(r.err).toMatch(/^unable to read '\/etc\/pve\/nodes\/pve2\/pve-ssl\.pem' - No such file or directory\n/);
  });

  it('seeds, lists, starts and stops guests with real config syntax', async () => {
    expect((await tool('qm', ['create', '100', '--name', 'web01', '--memory', '2048', '--cores', '2', '--scsi0', 'local-lvm:32', '--net0', 'virtio,bridge=vmbr0'])).out).toBe(
      '  Logical volume "vm-100-disk-0" created.\n',
    );
    const conf = readFileSync(path.join(paths.etcPve, 'nodes/pve1/qemu-server/100.conf'), 'utf8');
    expect(conf).toMatch(/^boot: order=scsi0;net0\ncores: 2\nmemory: 2048\nmeta: creation-qemu=9\.2\.0,ctime=\d+\nname: web01\nnet0: virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0\nscsi0: local-lvm:vm-100-disk-0,size=32G\nsmbios1: uuid=[0-9a-f-]{36}\nvmgenid: [0-9a-f-]{36}\n$/);
    expect((await tool('qm', ['start', '100'])).code).toBe(0);
    const again = await tool('qm', ['start', '100']);
    expect(again).toMatchObject({ code: 255, out: '', err: 'VM 100 already running\n' });
    const list = parseQmList((await tool('qm', ['list'])).out);
    expect(list).toEqual({ vms: [expect.objectContaining({ vmid: 100, name: 'web01', status: 'running', memMb: 2048, bootDiskGb: 32 })], unrecognized: [] });
    expect((await tool('qm', ['stop', '100'])).code).toBe(0);
    expect((await tool('qm', ['status', '100'])).out).toBe('status: stopped\n');
    expect((await tool('qm', ['create', '100'])).err).toBe("unable to create VM 100 - VM 100 already exists on node 'pve1'\n");
    const ct = await tool('pct', ['create', '101', 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', '--hostname', 'ct101', '--rootfs', 'labshare:4']);
    expect(ct.code).toBe(0);
    expect((await tool('pct', ['config', '101'])).out).toBe('arch: amd64\nhostname: ct101\nmemory: 512\nostype: debian\nrootfs: labshare:101/vm-101-disk-0.raw,size=4G\nswap: 512\n');
    expect((await tool('pct', ['stop', '101'])).err).toBe('CT 101 not running\n');
  });

  it('writes task logs: TASK OK only in the log, failures on stderr', async () => {
    const ok = ctx();
    const good = await runTask(ok.ctx, paths.taskDir, 'qmstart', '100', async (t) => t.print('hello\n'));
    expect(ok.out()).toBe('hello\n');
    expect(good.upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmstart:100:root@pam:$/);
    expect(readFileSync(upidLogPath(paths.taskDir, good.upid), 'utf8')).toBe('hello\nTASK OK\n');
    const bad = ctx();
    const failed = await runTask(bad.ctx, paths.taskDir, 'qmstart', '100', async () => {
      throw new Error('VM 100 already running\n');
    });
    expect(failed.ok).toBe(false);
    expect(bad.err()).toBe('VM 100 already running\n');
    expect(readFileSync(upidLogPath(paths.taskDir, failed.upid), 'utf8')).toBe('\nTASK ERROR: VM 100 already running\n');
  });

  it('makes HA requests instead of acting on HA guests', async () => {
    await tool('qm', ['create', '100', '--scsi0', 'labshare:8']);
    await tool('qm', ['create', '102', '--scsi0', 'labshare:8']);
    expect((await tool('ha-manager', ['add', 'vm:100'])).code).toBe(0);
    expect((await tool('ha-manager', ['add', '100'])).err).toBe("create resource failed: resource ID 'vm:100' already defined\n");
    expect((await tool('ha-manager', ['add', 'vm:999'])).err).toBe("resource 'vm:999' does not exist in cluster\n");
    expect((await tool('ha-manager', ['status'])).out).toBe('quorum OK\nservice vm:100 (pve1, queued)\n');
    expect((await tool('ha-manager', ['config'])).out).toBe('vm:100\n\n');
    const start = await tool('qm', ['start', '100']);
    expect(start).toMatchObject({ code: 0, out: 'Requesting HA start for VM 100\n' });
    expect((await tool('ha-manager', ['config'])).out).toBe('vm:100\n\tstate started\n\n');
    // a PVE 9 cluster without legacy groups counts as migrated
    const nine = await tool('ha-manager', ['groupadd', 'g2', '--nodes', 'pve1'], { pveVersion: '9.1.7' });
    expect(nine.err).toBe('cannot create group: ha groups have been migrated to rules\n');
    expect((await tool('ha-manager', ['groupadd', 'g1', '--nodes', 'pve1'])).code).toBe(0);
    expect(readFileSync(path.join(paths.etcPve, 'ha', 'groups.cfg'), 'utf8')).toBe('group: g1\n\tnodes pve1\n\n');
    expect((await tool('ha-manager', ['failover'])).err).toMatch(/^ERROR: unknown command 'ha-manager failover'\n/);
    expect((await tool('ha-manager', ['remove', 'vm:102'])).err).toBe("cannot delete service 'vm:102', not HA managed!\n");
  });

  // pve-ha-manager 5.0.7 (debian/changelog): `remove --purge` (default 1) drops the resource from rules
  describe('ha-manager remove and HA rules', () => {
    const rulesCfg = (): string => readFileSync(path.join(paths.etcPve, 'ha', 'rules.cfg'), 'utf8');
    async function twoResourcesInARule(pveVersion: string): Promise<void> {
      await tool('qm', ['create', '100', '--scsi0', 'labshare:8']);
      await tool('qm', ['create', '101', '--scsi0', 'labshare:8']);
      expect((await tool('ha-manager', ['add', 'vm:100'], { pveVersion })).code).toBe(0);
      expect((await tool('ha-manager', ['add', 'vm:101'], { pveVersion })).code).toBe(0);
      const add = await tool('ha-manager', ['rules', 'add', 'node-affinity', 'keep', '--resources', 'vm:100,vm:101', '--nodes', 'pve1'], { pveVersion });
      expect(add).toEqual({ code: 0, out: '', err: '' });
    }

    it('leaves the resource in its rules on PVE 9.0 (pve-ha-manager 5.0.5), and rules set then refuses it', async () => {
      await twoResourcesInARule('9.0.6');
      expect((await tool('ha-manager', ['remove', 'vm:100'], { pveVersion: '9.0.6' })).code).toBe(0);
      expect(rulesCfg()).toContain('\tresources vm:100,vm:101\n');
      const set = await tool('ha-manager', ['rules', 'set', 'node-affinity', 'keep', '--resources', 'vm:101,vm:100'], { pveVersion: '9.0.6' });
      // update_rule runs under lock_ha_domain, which prefixes its error message
      expect(set).toMatchObject({ code: 255, err: 'update HA rules failed: cannot use unmanaged resource(s) vm:100.\n' });
      // --purge did not exist yet
      expect((await tool('ha-manager', ['remove', 'vm:101', '--purge', '0'], { pveVersion: '9.0.6' })).err).toMatch(/^Unknown option: purge\n/);
    });

    it('purges the resource from rules on PVE 9.1 (pve-ha-manager >= 5.0.7), deleting a rule left empty', async () => {
      await twoResourcesInARule('9.1.7');
      expect((await tool('ha-manager', ['remove', 'vm:100'], { pveVersion: '9.1.7' })).code).toBe(0);
      expect(rulesCfg()).toContain('\tresources vm:101\n');
      expect((await tool('ha-manager', ['remove', 'vm:101'], { pveVersion: '9.1.7' })).code).toBe(0);
      expect(rulesCfg()).not.toContain('keep');
    });

    it('keeps the rules with --purge 0 on PVE 9.1', async () => {
      await twoResourcesInARule('9.1.7');
      expect((await tool('ha-manager', ['remove', 'vm:100', '--purge', '0'], { pveVersion: '9.1.7' })).code).toBe(0);
      expect(rulesCfg()).toContain('\tresources vm:100,vm:101\n');
    });
  });

  it('prints pvesm status with the lab storages', async () => {
    const r = await tool('pvesm', ['status']);
    expect(r.out.split('\n').map((l) => l.split(/\s+/).slice(0, 3).join(' '))).toEqual(['Name Type Status', 'labshare nfs active', 'local dir active', 'local-lvm lvmthin active', 'local-zfs zfspool active', '']);
  });

  it('answers /cluster/status with one node entry of nodeid 0', async () => {
    const r = await tool('pvesh', ['get', '/cluster/status', '--output-format', 'json']);
    expect(JSON.parse(r.out)).toEqual([{ id: 'node/pve1', ip: '10.99.0.11', level: '', local: 1, name: 'pve1', nodeid: 0, online: 1, type: 'node' }]);
  });

  it('refuses writes without quorum like PVE', async () => {
    await setPveReadOnly(paths, true);
    expect((await tool('qm', ['create', '105'])).err).toBe('cluster not ready - no quorum?\n');
    expect((await tool('ha-manager', ['add', 'vm:100'])).err).toBe('cluster not ready - no quorum?\n');
  });

  it('refuses a join while guests exist, still exiting 0', async () => {
    await tool('qm', ['create', '100']);
    const r = await tool('pvecm', ['add', '10.99.0.12'], { stdin: 'secret\n' });
    expect(r.code).toBe(0);
    expect(r.out).toContain('detected the following error(s):\n');
    expect(r.out).toContain('* this host already contains virtual guests\n');
    expect(r.err).toBe('Check if node may join a cluster failed!\n');
  });

  it('fails a join without a password on stdin, still exiting 0', async () => {
    const r = await tool('pvecm', ['add', '10.99.0.12']);
    expect(r).toEqual({ code: 0, out: '', err: 'EOF while reading password\n' });
  });
});

describe('pmxcfs start plan', () => {
  it('is a plain start while the node database has no corosync.conf', async () => {
    expect(await planPmxcfs(paths, false)).toEqual({ forceLocal: false, forced: false });
    expect(await planPmxcfs(paths, true)).toEqual({ forceLocal: true, forced: false });
  });

  it('forces local mode with -l when the node database holds a corosync.conf', async () => {
    mkdirSync(paths.localDb, { recursive: true });
    writeFileSync(path.join(paths.localDb, 'corosync.conf'), 'totem {\n  cluster_name: lab1\n}\n');
    expect(await planPmxcfs(paths, true)).toEqual({ forceLocal: true, forced: true });
    expect(await planPmxcfs(paths, false)).toEqual({ forceLocal: false, forced: false });
    expect(readdirSync(dir)).toContain('labs');
  });
});
