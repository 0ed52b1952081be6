/**
 * Storage replication in the simulator, in-process under a test root: the local-zfs storage and its
 * datasets, `pvesr` job management and refusals, replication runs between two nodes (the target
 * reached through the node's own tools instead of ssh), and the calendar events of schedules.
 * Expected texts are written from pve-manager PVE/CLI/pvesr.pm, PVE/API2/ReplicationConfig.pm,
 * PVE/API2/Replication.pm, pve-guest-common PVE/Replication.pm, PVE/ReplicationConfig.pm,
 * PVE/ReplicationState.pm, qemu-server PVE/QemuConfig.pm, pve-storage PVE/CLI/pvesm.pm and
 * pve-common PVE/CalendarEvent.pm.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeNextEvent, parseCalendarEvent } from '../../../src/lab/sim/core/calendar.js';
import { mountPve } from '../../../src/lab/sim/core/mount.js';
import { simPaths, type SimPaths } from '../../../src/lab/sim/core/paths.js';
import { ensureBaseFiles } from '../../../src/lab/sim/core/pvedb.js';
import { runReplication, type RemoteNode } from '../../../src/lab/sim/core/replicate.js';
import { readReplicationConfig, readState } from '../../../src/lab/sim/core/replication.js';
import { SIM_TOOLS } from '../../../src/lab/sim/registry.js';
import { tmpDir } from '../../helpers/tmp.js';
import { recordingCtx } from './ctx.js';

let dir: string;
let root: string;
let labRoot: string;
let paths: SimPaths;

async function tool(name: string, args: string[], opts: { node?: string; stdin?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const r = recordingCtx({ labRoot, root, ...(opts.node ? { name: opts.node } : {}), ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });
  const load = SIM_TOOLS[name];
  if (!load) throw new Error(`no tool ${name}`);
  const code = await (await load()).run(args, r.ctx);
  return { code, out: r.out(), err: r.err() };
}

async function ok(name: string, args: string[], node?: string): Promise<string> {
  const r = await tool(name, args, node ? { node } : {});
  if (r.code !== 0) throw new Error(`${name} ${args.join(' ')}: ${r.code} ${r.err}`);
  return r.out;
}

/** pve2 as the target of a run: the command runs with pve2's tools, its stderr and exit code as ssh would pass them on. */
const toPve2: RemoteNode = {
  cmd: ['/usr/bin/ssh', '-e', 'none', '-o', 'BatchMode=yes', '-o', 'HostKeyAlias=pve2', 'root@10.99.0.12'],
  run: async (argv, input) => {
    const r = await tool(argv[0] as string, argv.slice(1), { node: 'pve2', ...(input !== undefined ? { stdin: input } : {}) });
    return { exitCode: r.code, stdout: r.out, stderr: r.err };
  },
};

/** A target whose sshd does not answer. */
const refused: RemoteNode = {
  cmd: toPve2.cmd,
  run: async () => ({ exitCode: 255, stdout: '', stderr: 'ssh: connect to host 10.99.0.12 port 22: Connection refused\n' }),
};

async function replicateNow(remote: RemoteNode, start: number): Promise<{ lines: string[]; error?: string }> {
  const job = readReplicationConfig(paths).ids['100-0'];
  if (!job) throw new Error('no job 100-0');
  const lines: string[] = [];
  try {
    await runReplication({ paths, node: 'pve1', remote: async () => remote }, job, 'qemu', start, start, (l) => void lines.push(l));
    return { lines };
  } catch (e) {
    return { lines, error: e instanceof Error ? e.message : String(e) };
  }
}

const COROSYNC_CONF = `totem {
  cluster_name: lab
  config_version: 2
  version: 2
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    ring0_addr: 10.99.0.11
  }
  node {
    name: pve2
    nodeid: 2
    ring0_addr: 10.99.0.12
  }
}
`;

beforeEach(async () => {
  dir = tmpDir('pvx-repl-');
  root = path.join(dir, 'root');
  labRoot = path.join(dir, 'labs', 'unit');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(labRoot, { recursive: true });
  writeFileSync(path.join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n10.99.0.11 pve1\n10.99.0.12 pve2\n');
  const r = recordingCtx({ labRoot, root });
  paths = simPaths(r.ctx.node, { PVX_SIM_ROOT: root });
  await ensureBaseFiles(paths.localDb, r.ctx.node);
  await mountPve(paths, paths.localDb, 'pve1');
  writeFileSync(path.join(paths.etcPve, 'corosync.conf'), COROSYNC_CONF);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the local-zfs storage', () => {
  it('is in storage.cfg as the installer writes it on ZFS', () => {
    expect(readFileSync(path.join(paths.etcPve, 'storage.cfg'), 'utf8')).toContain('zfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n\n');
  });

  it('holds the disks qm creates on it, listed by pvesm with their real format', async () => {
    await ok('qm', ['create', '100', '--scsi0', 'local-zfs:4']);
    expect(readFileSync(path.join(paths.etcPve, 'nodes/pve1/qemu-server/100.conf'), 'utf8')).toMatch(/^scsi0: local-zfs:vm-100-disk-0,size=4G$/m);
    await ok('pct', ['create', '101', 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', '--rootfs', 'local-zfs:2']);
    expect(await ok('pvesm', ['list', 'local-zfs'])).toBe(
      'Volid                       Format  Type            Size VMID\n' +
        'local-zfs:subvol-101-disk-0 subvol  rootdir   2147483648 101\n' +
        'local-zfs:vm-100-disk-0     raw     images    4294967296 100\n',
    );
    const status = (await ok('pvesm', ['status'])).split('\n').map((l) => l.split(/\s+/).slice(0, 3).join(' '));
    expect(status).toContain('local-zfs zfspool active');
    // the datasets belong to pve1: pve2 has none
    expect(await ok('pvesm', ['list', 'local-zfs'], 'pve2')).toBe('Volid Format  Type      Size VMID\n');
  });

  it('loses the dataset when the guest is destroyed', async () => {
    await ok('qm', ['create', '100', '--scsi0', 'local-zfs:4']);
    await ok('qm', ['destroy', '100']);
    expect((await tool('zfs', ['list', '-H', '-o', 'name'])).out).toBe('');
  });
});

describe('pvesr job configuration', () => {
  beforeEach(async () => {
    await ok('qm', ['create', '100', '--scsi0', 'local-zfs:4']);
  });

  it('creates a job in replication.cfg and lists it', async () => {
    expect(await tool('pvesr', ['create-local-job', '100-0', 'pve2', '--schedule', '*/1'])).toEqual({ code: 0, out: '', err: '' });
    const raw = readFileSync(path.join(paths.etcPve, 'replication.cfg'), 'utf8');
    expect(raw).toBe('local: 100-0\n\ttarget pve2\n\tschedule */1\n\tsource pve1\n\n');
    expect(await ok('pvesr', ['list'])).toBe(
      'JobID                Target                 Schedule  Rate  Enabled\n' + '100-0                local/pve2                  */1     -      yes\n',
    );
    expect(JSON.parse(await ok('pvesr', ['read', '100-0']))).toEqual({
      digest: createHash('sha1').update(raw).digest('hex'),
      guest: 100,
      id: '100-0',
      jobnum: 0,
      schedule: '*/1',
      source: 'pve1',
      target: 'pve2',
      type: 'local',
    });
    // never synced: due at once
    expect(await ok('pvesr', ['status'])).toBe(
      'JobID      Enabled    Target                           LastSync             NextSync   Duration  FailCount State\n' +
        '100-0      Yes        local/pve2                              -              pending          -          0 OK\n',
    );
  });

  it('refuses what the API refuses, with its messages', async () => {
    await ok('qm', ['create', '101', '--scsi0', 'local:1']);
    await ok('qm', ['create', '102', '--scsi0', 'labshare:1']);
    const refusals: Array<[string[], string]> = [
      [['100-0', 'pve1'], 'Source and target must not be identical\n'],
      [['100-0', 'pve9'], "Target 'pve9' does not exist.\n"],
      [['105-0', 'pve2'], "Guest '105' does not exist.\n"],
      [['101-0', 'pve2'], "missing replicate feature on volume 'local:101/vm-101-disk-0.raw'\n"],
      [['102-0', 'pve2'], 'No replicatable volumes found\n'],
    ];
    for (const [args, err] of refusals) expect(await tool('pvesr', ['create-local-job', ...args])).toEqual({ code: 255, out: '', err });
    await ok('pvesr', ['create-local-job', '100-0', 'pve2']);
    expect((await tool('pvesr', ['create-local-job', '100-0', 'pve2'])).err).toBe("replication job '100-0' already exists\n");
    expect((await tool('pvesr', ['create-local-job', '100-1', 'pve2'])).err).toBe("replication job for guest '100' to target 'local/pve2' already exists\n");
    const bad = await tool('pvesr', ['create-local-job', '99-0', 'pve2']);
    expect(bad.code).toBe(255);
    expect(bad.err).toMatch(/^400 Parameter verification failed\.\nid: invalid format - invalid replication job id '99-0' \(guest IDs < 100 are reserved\)\n/);
    // destroying a guest with a job needs purge, which removes the job
    expect((await tool('qm', ['destroy', '100'])).err).toBe("There is a replication job '100-0' for guest '100' - Please remove that first.\n");
  });

  it('accepts the usual schedules and refuses bad ones with the calendar parser reason', async () => {
    for (const [i, s] of ['*/15', '*/1', 'mon..fri 22:30'].entries()) {
      await ok('pvesr', i === 0 ? ['create-local-job', '100-0', 'pve2', '--schedule', s] : ['update', '100-0', '--schedule', s]);
      expect(readReplicationConfig(paths).ids['100-0']?.schedule).toBe(s);
    }
    const cases: Array<[string, string]> = [
      ['foo', "invalid calendar event 'foo' - unable to parse calendar event"],
      ['*/60', "invalid calendar event '*/60' - repetition '60' out of range"],
      ['25:00', "invalid calendar event '25:00' - value '25' out of range"],
      ['fri..mon 1:00', "invalid calendar event 'fri..mon 1:00' - wrong order in range 'fri..mon'"],
      ['12:00 extra', "invalid calendar event '12:00 extra' - unable to parse calendar event - unused parts"],
    ];
    for (const [spec, msg] of cases) {
      const r = await tool('pvesr', ['update', '100-0', '--schedule', spec]);
      expect(r.code).toBe(255);
      expect(r.err).toContain(`400 Parameter verification failed.\nschedule: invalid format - ${msg}\n`);
    }
  });

  it('disables, enables, and marks a job for removal', async () => {
    await ok('pvesr', ['create-local-job', '100-0', 'pve2', '--rate', '10', '--comment', 'nightly']);
    await ok('pvesr', ['disable', '100-0']);
    expect(readFileSync(path.join(paths.etcPve, 'replication.cfg'), 'utf8')).toBe('local: 100-0\n\tcomment nightly\n\tdisable\n\ttarget pve2\n\trate 10\n\tsource pve1\n\n');
    expect((await ok('pvesr', ['list'])).split('\n')[1]).toBe('100-0                local/pve2                 */15    10       no');
    expect((await tool('pvesr', ['run', '--id', '100-0'])).err).toBe("job '100-0' is disabled\n");
    await ok('pvesr', ['enable', '100-0']);
    expect((await ok('pvesr', ['status'])).split('\n')[1]).toMatch(/^100-0 {6}Yes {8}local\/pve2 /);
    expect(await tool('pvesr', ['delete', '100-0'])).toEqual({ code: 0, out: '', err: 'Replication job removal is a background task and will take some time.\n' });
    expect(readReplicationConfig(paths).ids['100-0']?.remove_job).toBe('full');
    expect((await tool('pvesr', ['delete', '100-7'])).err).toBe("no such job '100-7'\n");
    expect((await tool('pvesr', ['run', '--id', '100-7'])).err).toBe("no such job '100-7'\n");
    await ok('pvesr', ['delete', '100-0', '--force']);
    expect(readFileSync(path.join(paths.etcPve, 'replication.cfg'), 'utf8')).toBe('');
  });
});

describe('a replication run', () => {
  const snap = (t: number): string => `__replicate_100-0_${t}__`;
  const names = async (node: string): Promise<string[]> => (await ok('zfs', ['list', '-t', 'all', '-H', '-o', 'name'], node)).split('\n').filter(Boolean);

  beforeEach(async () => {
    await ok('qm', ['create', '100', '--scsi0', 'local-zfs:4']);
    await ok('pvesr', ['create-local-job', '100-0', 'pve2', '--schedule', '*/1']);
  });

  it('sends the whole disk first, then the delta, keeping one replication snapshot on each side', async () => {
    const t1 = Math.floor(Date.now() / 1000) - 120;
    const first = await replicateNow(toPve2, t1);
    expect(first.error).toBeUndefined();
    expect(first.lines.filter((l) => !/estimated size is/.test(l))).toEqual([
      'start replication job',
      'guest => VM 100, running => 0',
      'volumes => local-zfs:vm-100-disk-0',
      `create snapshot '${snap(t1)}' on local-zfs:vm-100-disk-0`,
      'using secure transmission, rate limit: none',
      `full sync 'local-zfs:vm-100-disk-0' (${snap(t1)})`,
      successfully('local-zfs:vm-100-disk-0'),
      'end replication job',
    ]);
    expect(first.lines).toContainEqual(expect.stringMatching(new RegExp(`^full send of rpool/data/vm-100-disk-0@${snap(t1)} estimated size is \\d+(\\.\\d+)?[BKM]$`)));
    expect(await names('pve2')).toEqual(['rpool/data/vm-100-disk-0', `rpool/data/vm-100-disk-0@${snap(t1)}`]);
    expect(await names('pve1')).toEqual(['rpool/data/vm-100-disk-0', `rpool/data/vm-100-disk-0@${snap(t1)}`]);
    const st = readState(paths, 'pve1')['100']?.['local/pve2'];
    expect(st).toMatchObject({ last_sync: t1, last_try: t1, fail_count: 0 });
    expect(st?.error).toBeUndefined();
    expect(st?.pid).toBeUndefined();

    const t2 = t1 + 60;
    const second = await replicateNow(toPve2, t2);
    expect(second.error).toBeUndefined();
    expect(second.lines.filter((l) => !/estimated size is/.test(l))).toEqual([
      'start replication job',
      'guest => VM 100, running => 0',
      'volumes => local-zfs:vm-100-disk-0',
      `create snapshot '${snap(t2)}' on local-zfs:vm-100-disk-0`,
      'using secure transmission, rate limit: none',
      `incremental sync 'local-zfs:vm-100-disk-0' (${snap(t1)} => ${snap(t2)})`,
      successfully('local-zfs:vm-100-disk-0'),
      `delete previous replication snapshot '${snap(t1)}' on local-zfs:vm-100-disk-0`,
      `(remote_finalize_local_job) delete stale replication snapshot '${snap(t1)}' on local-zfs:vm-100-disk-0`,
      'end replication job',
    ]);
    expect(second.lines).toContainEqual(expect.stringMatching(new RegExp(`^send from @${snap(t1)} to rpool/data/vm-100-disk-0@${snap(t2)} estimated size is `)));
    expect(await names('pve2')).toEqual(['rpool/data/vm-100-disk-0', `rpool/data/vm-100-disk-0@${snap(t2)}`]);
    expect(await names('pve1')).toEqual(['rpool/data/vm-100-disk-0', `rpool/data/vm-100-disk-0@${snap(t2)}`]);
    // the target keeps the data the source sent
    const data = (n: string): string => readFileSync(path.join(labRoot, 'nodes', n, 'zfs', 'rpool', 'data', 'vm-100-disk-0', 'data'), 'utf8');
    expect(data('pve2')).toBe(data('pve1'));

    // the API answers the same: job config plus state (PVE::API2::Replication $extract_job_status)
    const api = JSON.parse(await ok('pvesh', ['get', '/nodes/pve1/replication', '--output-format', 'json'])) as Array<Record<string, unknown>>;
    expect(api).toEqual([
      {
        id: '100-0',
        type: 'local',
        guest: 100,
        jobnum: 0,
        target: 'pve2',
        schedule: '*/1',
        source: 'pve1',
        vmtype: 'qemu',
        last_sync: t2,
        last_try: t2,
        fail_count: 0,
        duration: expect.any(Number),
        next_sync: expect.any(Number),
      },
    ]);
    expect(JSON.parse(await ok('pvesh', ['get', '/cluster/replication', '--output-format', 'json']))).toEqual([
      { id: '100-0', type: 'local', guest: 100, jobnum: 0, target: 'pve2', schedule: '*/1', source: 'pve1' },
    ]);
    const status = (await ok('pvesr', ['status'])).split('\n')[1] ?? '';
    expect(status).toMatch(/^100-0 {6}Yes {8}local\/pve2 {12}\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d +(pending|\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d) +\d+(\.\d+)? {10}0 OK$/);
  });

  it('counts a failure when the target does not answer, and removes a job with its replica', async () => {
    const t1 = Math.floor(Date.now() / 1000) - 120;
    const r = await replicateNow(refused, t1);
    const msg =
      "command '/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=pve2 root@10.99.0.12 -- pvesr prepare-local-job 100-0 local-zfs:vm-100-disk-0 --last_sync 0' failed: exit code 255";
    expect(r.error).toBe(`${msg}\n`);
    expect(r.lines.slice(-2)).toEqual(['(remote_prepare_local_job) ssh: connect to host 10.99.0.12 port 22: Connection refused', `end replication job with error: ${msg}`]);
    expect(readState(paths, 'pve1')['100']?.['local/pve2']).toMatchObject({ fail_count: 1, error: msg, last_sync: 0, last_try: t1 });
    const row = (await ok('pvesr', ['status'])).split('\n')[1] ?? '';
    expect(row.startsWith('100-0      Yes        local/pve2                              - ')).toBe(true);
    expect(row).toMatch(new RegExp(` {10}1 ${msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    // the failed run left no snapshot behind
    expect(await names('pve1')).toEqual(['rpool/data/vm-100-disk-0']);

    const again = await replicateNow(toPve2, t1 + 60);
    expect(again.error).toBeUndefined();
    expect(readState(paths, 'pve1')['100']?.['local/pve2']).toMatchObject({ fail_count: 0, last_sync: t1 + 60 });

    await ok('pvesr', ['delete', '100-0']);
    const removal = await replicateNow(toPve2, t1 + 120);
    expect(removal.error).toBeUndefined();
    expect(removal.lines).toEqual([
      'start replication job',
      'guest => VM 100, running => 0',
      'volumes => local-zfs:vm-100-disk-0',
      "start job removal - mode 'full'",
      `(remote_prepare_local_job) delete stale replication snapshot '${snap(t1 + 60)}' on local-zfs:vm-100-disk-0`,
      "(remote_prepare_local_job) 100-0: delete stale volume 'local-zfs:vm-100-disk-0'",
      `delete stale replication snapshot '${snap(t1 + 60)}' on local-zfs:vm-100-disk-0`,
      'job removed',
      'end replication job',
    ]);
    expect(await names('pve2')).toEqual([]);
    expect(await names('pve1')).toEqual(['rpool/data/vm-100-disk-0']);
    expect(readFileSync(path.join(paths.etcPve, 'replication.cfg'), 'utf8')).toBe('');
    expect(readState(paths, 'pve1')).toEqual({});
  });

  it('is refused on the target for a guest that lives there, and schedule-now makes a job due', async () => {
    expect((await tool('pvesr', ['prepare-local-job', '100-0', 'local-zfs:vm-100-disk-0'])).err).toBe("guest '100' is on local node\n");
    expect((await tool('pvesr', ['prepare-local-job', '100-0'], { node: 'pve2' })).err).toBe('no volumes specified\n');
    expect(await ok('pvesr', ['prepare-local-job', '100-0', 'local-zfs:vm-100-disk-0', '--last_sync', '0'], 'pve2')).toBe('{}\n');
    const t1 = Math.floor(Date.now() / 1000) - 30;
    await replicateNow(toPve2, t1);
    await ok('pvesr', ['schedule-now', '100-0']);
    expect(readState(paths, 'pve1')['100']?.['local/pve2']?.last_try).toBe(0);
    expect((await ok('pvesr', ['status'])).split('\n')[1]).toMatch(/ pending /);
  });
});

function successfully(volid: string): string {
  return `successfully imported '${volid}'`;
}

describe('calendar events (PVE::CalendarEvent)', () => {
  it('parses the common schedules', () => {
    expect(parseCalendarEvent('*/15')).toEqual({ h: '*', m: [0, 15, 30, 45], dow: [0, 1, 2, 3, 4, 5, 6] });
    expect(parseCalendarEvent('mon..fri 22:30')).toEqual({ h: [22], m: [30], dow: [1, 2, 3, 4, 5] });
    expect(parseCalendarEvent('*/1').m).toHaveLength(60);
  });

  it('computes the next event at least a minute later, in local time', () => {
    const at = (d: number, h: number, m: number): number => new Date(2026, 0, d, h, m, 0).getTime() / 1000;
    // 2026-01-03 is a Saturday
    expect(computeNextEvent(parseCalendarEvent('*/15'), at(3, 10, 7))).toBe(at(3, 10, 15));
    expect(computeNextEvent(parseCalendarEvent('*/15'), at(3, 10, 15))).toBe(at(3, 10, 30));
    expect(computeNextEvent(parseCalendarEvent('mon..fri 22:30'), at(3, 23, 0))).toBe(at(5, 22, 30));
    expect(computeNextEvent(parseCalendarEvent('*/1'), at(3, 10, 7))).toBe(at(3, 10, 8));
    // last_try 0 (never ran): the first event is long past, so the job is due
    expect(computeNextEvent(parseCalendarEvent('*/15'), 0)).toBeLessThan(3600);
  });
});
