import { describe, expect, it } from 'vitest';
import { guestConfig, guestMigrate, haManager, haSid } from '../../../src/pve/argv.js';
import { cpuVendor } from '../../../src/pve/argv-host.js';

describe('migration argv per tool (reference §4.1, §4.2, §5.2)', () => {
  it('qm: --online, --with-local-disks, --targetstorage, --bwlimit in KiB/s; booleans carry a value', () => {
    expect(guestMigrate.qm(100, 'pve2')).toEqual(['qm', 'migrate', '100', 'pve2']);
    expect(guestMigrate.qm(100, 'pve2', { online: true, withLocalDisks: true, targetStorage: 'local-zfs', bwlimitKiB: 102400 })).toEqual([
      'qm', 'migrate', '100', 'pve2', '--online', '1', '--with-local-disks', '1', '--targetstorage', 'local-zfs', '--bwlimit', '102400',
    ]);
  });

  it('pct: --restart and the hyphenated --target-storage; never --online or --with-local-disks', () => {
    expect(guestMigrate.pct(101, 'pve3', { restart: true, targetStorage: 'local-lvm', bwlimitKiB: 512, online: true, withLocalDisks: true })).toEqual([
      'pct', 'migrate', '101', 'pve3', '--restart', '1', '--target-storage', 'local-lvm', '--bwlimit', '512',
    ]);
  });

  it('ha-manager migrate takes the resource id; configs and the CPU vendor are reads', () => {
    expect(haManager.migrate(haSid('qemu', 100), 'pve2')).toEqual(['ha-manager', 'migrate', 'vm:100', 'pve2']);
    expect(haManager.migrate(haSid('lxc', 101), 'pve2')).toEqual(['ha-manager', 'migrate', 'ct:101', 'pve2']);
    expect(guestConfig('qemu', 100)).toEqual(['qm', 'config', '100']);
    expect(guestConfig('lxc', 101)).toEqual(['pct', 'config', '101']);
    expect(cpuVendor()).toEqual(['grep', '-m', '1', '^vendor_id', '/proc/cpuinfo']);
  });
});
