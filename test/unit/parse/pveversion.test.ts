import { describe, expect, it } from 'vitest';
import { ParseError, parsePveversion } from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parsePveversion', () => {
  it('reads the one-liner', () => {
    expect(parsePveversion(fixture('pveversion/pve9.0.6-oneliner.txt'))).toEqual({
      manager: { version: '9.0.6', major: 9, minor: 0, repoid: '49c767b70aeb6648' },
      kernel: '6.14.8-2-pve',
      packages: {},
    });
  });

  it('reads an 8-hex-digit repoid of older 8.x builds', () => {
    expect(parsePveversion('pve-manager/8.2.2/d62fd3c2 (running kernel: 6.8.4-2-pve)\n').manager).toEqual({
      version: '8.2.2',
      major: 8,
      minor: 2,
      repoid: 'd62fd3c2',
    });
  });

  it('reads the PVE 9.1.7 verbose listing', () => {
    const v = parsePveversion(fixture('pveversion/pve9.1.7-verbose.txt'));
    expect(v.manager).toEqual({ version: '9.1.7', major: 9, minor: 1, repoid: '16b139a017452f16', runningVersion: '9.1.7' });
    expect(v.kernel).toBe('6.17.13-2-pve');
    expect(v.packages['proxmox-ve']).toBe('9.1.0');
    expect(v.packages['pve-manager']).toBe('9.1.7');
    expect(v.packages['corosync']).toBe('3.1.10-pve2');
    expect(v.packages['pve-cluster']).toBe('9.1.1');
    expect(v.packages['qemu-server']).toBe('9.1.6');
    expect(v.packages['pve-ha-manager']).toBe('5.1.3');
    expect(v.packages['proxmox-kernel-6.17.13-2-pve-signed']).toBe('6.17.13-2');
    expect(v.packages['intel-microcode']).toBe('3.20251111.1~deb13u1');
    expect(Object.keys(v.packages)).toHaveLength(60);
  });

  for (const [file, what] of [
    ['pveversion/pve8.4.11-verbose.txt', 'as a node prints it'],
    ['pveversion/pve8.4.11-verbose.as-pasted.txt', "as pasted, with '#(' comments"],
  ] as const) {
    it(`reads the PVE 8.4.11 verbose listing ${what}`, () => {
      const v = parsePveversion(fixture(file));
      expect(v.manager).toEqual({ version: '8.4.11', major: 8, minor: 4, repoid: '14a32011146091ed', runningVersion: '8.4.11' });
      expect(v.kernel).toBe('6.8.12-13-pve');
      expect(v.packages['proxmox-ve']).toBe('8.4.0');
      expect(v.packages['corosync']).toBe('3.1.9-pve1');
      expect(v.packages['glusterfs-client']).toBe('10.3-5');
      expect(v.packages['pve-edk2-firmware']).toBe('4.2025.02-4~bpo12+1');
      expect(v.packages['pve-ha-manager']).toBe('4.0.7');
    });
  }

  it('keeps the special values of missing or removed packages', () => {
    const text = [
      'proxmox-ve: 9.1.0 (running kernel: 6.17.13-2-pve)',
      'pve-manager: 9.1.7 (running version: 9.1.7/16b139a017452f16)',
      'ceph-fuse: residual config',
      'libqb0: not correctly installed',
      'swtpm: unknown package - internal error',
    ].join('\n');
    const v = parsePveversion(text);
    expect(v.packages['ceph-fuse']).toBe('residual config');
    expect(v.packages['libqb0']).toBe('not correctly installed');
    expect(v.packages['swtpm']).toBe('unknown package - internal error');
  });

  it('throws ParseError on other text', () => {
    expect(() => parsePveversion('')).toThrow(ParseError);
    expect(() => parsePveversion('bash: pveversion: command not found\n')).toThrow(/pve-manager/);
    expect(() => parsePveversion('pve-manager: 9.1.7\n')).toThrow(/running version/);
    expect(() => parsePveversion('pve-manager: 9.1.7 (running version: 9.1.7/16b139a017452f16)\n')).toThrow(/running kernel/);
    expect(() => parsePveversion('pve-manager/x.y/abc (running kernel: 1)')).toThrow(ParseError);
  });
});
