import { describe, expect, it } from 'vitest';
import { parseSkew } from '../../../src/lab/faults.js';
import { createArgv, CT_TEMPLATE, parseVmids, planGuests } from '../../../src/lab/guests.js';
import { parseMountInfo, isUnder } from '../../../src/lab/mounts.js';
import { nodeMountCommands } from '../../../src/lab/node-ns.js';
import { nodeBinaryInNodes } from '../../../src/lab/node-setup.js';
import { labPaths } from '../../../src/lab/layout.js';
import { isSynchronized, parseTracking } from '../../../src/lab/sim/timedatectl.js';
import { formatAgo, formatSystemdTime } from '../../../src/lab/time-format.js';
import { findUnit } from '../../../src/lab/units.js';
import { UsageError } from '../../../src/errors.js';

describe('node mount plan', () => {
  const cmds = nodeMountCommands({
    labRoot: '/var/lib/pvx-lab/x',
    nodeDir: '/var/lib/pvx-lab/x/nodes/pve1',
    appDir: '/tmp/ci/pvx',
    appMount: '/var/lib/pvx-lab/x/app',
    hostname: 'pve1',
    inheritedNsMounts: ['/run/netns/pvx-y-pve1', '/run/netns'],
  });
  const at = (pred: (c: string[]) => boolean): number => cmds.findIndex(pred);

  it('drops inherited namespace files first', () => {
    expect(cmds[0]).toEqual(['umount', '-l', '/run/netns/pvx-y-pve1']);
    expect(cmds[1]).toEqual(['umount', '-l', '/run/netns']);
  });

  it('binds the app before /tmp and /root become private', () => {
    const app = at((c) => c[1] === '--bind' && c[2] === '/tmp/ci/pvx');
    expect(app).toBeGreaterThan(-1);
    expect(app).toBeLessThan(at((c) => c.at(-1) === '/tmp'));
    expect(app).toBeLessThan(at((c) => c.at(-1) === '/root'));
  });

  it('gives the node an overlay /etc, private /run, /tmp, /dev/shm, /root, /var/log, /var/lib/corosync, fresh /sys, its hostname', () => {
    expect(cmds).toContainEqual(['mount', '-t', 'overlay', 'pvx-etc', '-o', 'lowerdir=/etc,upperdir=/var/lib/pvx-lab/x/nodes/pve1/etc-upper,workdir=/var/lib/pvx-lab/x/nodes/pve1/etc-work', '/etc']);
    for (const t of ['/run', '/tmp', '/dev/shm']) expect(cmds.some((c) => c[2] === 'tmpfs' && c.at(-1) === t)).toBe(true);
    for (const t of ['/root', '/var/log', '/var/lib/corosync']) expect(cmds.some((c) => c[1] === '--bind' && c.at(-1) === t)).toBe(true);
    expect(at((c) => c.includes('/run/sshd'))).toBeGreaterThan(at((c) => c.at(-1) === '/run'));
    expect(cmds).toContainEqual(['mount', '-t', 'sysfs', 'pvx-sys', '/sys']);
    expect(cmds.at(-1)).toEqual(['hostname', 'pve1']);
  });

  it('binds the node binary when nodes could not see it', () => {
    const paths = labPaths('x', { PVX_LAB_ROOT: '/var/lib/pvx-lab' });
    expect(nodeBinaryInNodes(paths, '/usr/bin/node')).toEqual({ path: '/usr/bin/node' });
    expect(nodeBinaryInNodes(paths, '/root/.nvm/v20/bin/node')).toEqual({ path: '/var/lib/pvx-lab/x/node', bindFrom: '/root/.nvm/v20/bin/node' });
  });
});

describe('mountinfo', () => {
  it('parses mount points (with escapes) and types', () => {
    const m = parseMountInfo('44 43 0:4 net:[4026532178] /run/netns/pvx-a-pve1 rw shared:2 - nsfs nsfs rw\n27 1 254:0 / /a\\040b rw,relatime - ext4 /dev/vda rw\n');
    expect(m).toEqual([
      { id: 44, mountPoint: '/run/netns/pvx-a-pve1', fsType: 'nsfs', source: 'nsfs' },
      { id: 27, mountPoint: '/a b', fsType: 'ext4', source: '/dev/vda' },
    ]);
    expect(isUnder('/var/lib/pvx-lab/a/ns', '/var/lib/pvx-lab/a')).toBe(true);
    expect(isUnder('/var/lib/pvx-lab/ab', '/var/lib/pvx-lab/a')).toBe(false);
  });
});

describe('guest seeding plan', () => {
  const plan = planGuests(8, ['pve1', 'pve2', 'pve3']);

  it('spreads VMIDs from 100 round-robin, alternating VMs and CTs', () => {
    expect(plan.map((g) => g.vmid)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    expect(plan.map((g) => g.node)).toEqual(['pve1', 'pve2', 'pve3', 'pve1', 'pve2', 'pve3', 'pve1', 'pve2']);
    expect(plan.filter((g) => g.kind === 'qemu')).toHaveLength(4);
  });

  it('mixes local and shared storage and running and stopped guests', () => {
    expect(new Set(plan.map((g) => g.storage))).toEqual(new Set(['local-lvm', 'labshare']));
    expect(plan.some((g) => g.running) && plan.some((g) => !g.running)).toBe(true);
    for (const node of ['pve1', 'pve2']) expect(new Set(plan.filter((g) => g.node === node).map((g) => g.storage)).size).toBe(2);
  });

  it('creates with the native argv', () => {
    expect(createArgv(plan[0]!)).toEqual(['qm', 'create', '100', '--name', 'vm100', '--memory', '1024', '--scsi0', 'local-lvm:8']);
    expect(createArgv(plan[1]!)).toEqual(['pct', 'create', '101', CT_TEMPLATE, '--hostname', 'ct101', '--memory', '512', '--rootfs', 'labshare:4']);
  });

  it('reads VMIDs from qm/pct list', () => {
    expect(parseVmids('      VMID NAME  STATUS\n       100 vm100 running\n       103 ct103 stopped\n')).toEqual([100, 103]);
    expect(parseVmids('')).toEqual([]);
  });
});

describe('timedatectl', () => {
  const tracking = (system: string, leap = 'Normal'): string =>
    `Reference ID    : 0A4D0B0B (10.77.11.11)\nStratum         : 9\nSystem time     : ${system} of NTP time\nLeap status     : ${leap}\n`;

  it('reads the offset sign from chronyc tracking', () => {
    expect(parseTracking(tracking('2.499997139 seconds fast'))).toEqual({ offset: 2.499997139, leap: 'Normal' });
    expect(parseTracking(tracking('30.000000000 seconds slow')).offset).toBe(-30);
  });

  it('is synchronised only with a source and less than 0.5 s off', () => {
    expect(isSynchronized({ running: true, ...parseTracking(tracking('0.000004709 seconds fast')) })).toBe(true);
    expect(isSynchronized({ running: true, ...parseTracking(tracking('0.500000000 seconds fast')) })).toBe(false);
    expect(isSynchronized({ running: true, ...parseTracking(tracking('0.000000000 seconds fast', 'Not synchronised')) })).toBe(false);
    expect(isSynchronized({ running: false })).toBe(false);
  });

  it('prints systemd-style times', () => {
    expect(formatSystemdTime(new Date(Date.UTC(2026, 7, 4, 10, 15, 32)), 'UTC')).toBe('Tue 2026-08-04 10:15:32 UTC');
    expect(formatAgo(3_400)).toBe('3s ago');
    expect(formatAgo(303_000)).toBe('5min 3s ago');
  });
});

describe('faults and units', () => {
  it('parses skews in seconds', () => {
    expect(parseSkew('2.5')).toBe(2.5);
    expect(parseSkew('-30')).toBe(-30);
    expect(parseSkew('+0.7')).toBe(0.7);
    for (const bad of [undefined, '', 'abc', '1e3', '2.5s', '999999999999']) expect(() => parseSkew(bad)).toThrow(UsageError);
  });

  it('knows the units by their names and aliases', () => {
    expect(findUnit('sshd.service')?.id).toBe('ssh');
    expect(findUnit('chronyd')?.id).toBe('chrony');
    expect(findUnit('corosync')?.pidFile).toBe('/run/corosync.pid');
    expect(findUnit('pve-cluster')?.pidFile).toBe('/run/pve-cluster.pid');
    expect(findUnit('pveproxy')).toBeUndefined();
    // two HA units with their own pid files, wanting pve-cluster only (pve-ha-lrm also wants pve-ha-crm)
    expect(findUnit('pve-ha-crm.service')).toMatchObject({ id: 'pve-ha-crm', pidFile: '/run/pve-ha-crm.pid', wants: ['pve-cluster'] });
    expect(findUnit('pve-ha-lrm')).toMatchObject({ id: 'pve-ha-lrm', pidFile: '/run/pve-ha-lrm.pid', wants: ['pve-cluster', 'pve-ha-crm'] });
  });
});
