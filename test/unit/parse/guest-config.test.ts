import { describe, expect, it } from 'vitest';
import { parseCpuVendor } from '../../../src/pve/parse/cpuinfo.js';
import { ParseError } from '../../../src/pve/parse/errors.js';
import { parseGuestConfig } from '../../../src/pve/parse/guest-config.js';

describe('parseGuestConfig (qm config / pct config)', () => {
  it('finds the disks of a VM: storage, CD-ROM, unused; host devices', () => {
    const text = [
      'boot: order=scsi0;ide2;net0',
      'cores: 2',
      'efidisk0: local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M',
      'hostpci0: 0000:01:00.0,pcie=1',
      'ide2: local:iso/debian-12.iso,media=cdrom,size=628M',
      'ide3: none,media=cdrom',
      'memory: 2048',
      'name: web',
      'net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0',
      'scsi0: nfs1:100/vm-100-disk-0.qcow2,iothread=1,size=32G',
      'unused0: local-lvm:vm-100-disk-2',
      'usb0: spice',
      'usb1: host=1234:5678',
      '',
      '[snap1]',
      'scsi1: local-lvm:vm-100-disk-9,size=1G',
    ].join('\n');
    const c = parseGuestConfig('qemu', text);
    expect(c.entries.get('name')).toBe('web');
    expect(c.entries.has('scsi1')).toBe(false);
    expect(c.volumes).toEqual([
      { key: 'efidisk0', volid: 'local-lvm:vm-100-disk-1', storage: 'local-lvm', cdrom: false, unused: false },
      { key: 'ide2', volid: 'local:iso/debian-12.iso', storage: 'local', cdrom: true, unused: false },
      { key: 'scsi0', volid: 'nfs1:100/vm-100-disk-0.qcow2', storage: 'nfs1', cdrom: false, unused: false },
      { key: 'unused0', volid: 'local-lvm:vm-100-disk-2', storage: 'local-lvm', cdrom: false, unused: true },
    ]);
    expect(c.hostDevices).toEqual(['hostpci0', 'usb1']);
    expect(c.bindMounts).toEqual([]);
  });

  it('finds the root filesystem, volume mount points and bind mounts of a container', () => {
    const text = 'arch: amd64\nhostname: dns\nmp0: /srv/data,mp=/data\nmp1: volume=local-lvm:vm-101-disk-1,mp=/var/lib,size=8G\nrootfs: nfs1:101/vm-101-disk-0.raw,size=4G\n';
    const c = parseGuestConfig('lxc', text);
    expect(c.volumes.map((v) => [v.key, v.volid, v.storage])).toEqual([
      ['mp1', 'local-lvm:vm-101-disk-1', 'local-lvm'],
      ['rootfs', 'nfs1:101/vm-101-disk-0.raw', 'nfs1'],
    ]);
    expect(c.bindMounts).toEqual([{ key: 'mp0', source: '/srv/data' }]);
  });

  it('keeps description comments out and rejects text that is not a config', () => {
    expect(parseGuestConfig('qemu', '#a note\nmemory: 512\n').entries.get('memory')).toBe('512');
    expect(() => parseGuestConfig('qemu', 'Configuration file does not exist\n')).toThrow(ParseError);
    expect(() => parseGuestConfig('qemu', undefined as unknown as string)).toThrow(ParseError);
  });
});

describe('parseCpuVendor', () => {
  it('reads the vendor_id line', () => {
    expect(parseCpuVendor('vendor_id\t: GenuineIntel\n')).toBe('GenuineIntel');
    expect(parseCpuVendor('processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n')).toBe('AuthenticAMD');
    expect(parseCpuVendor('')).toBeUndefined();
    expect(parseCpuVendor('CPU implementer\t: 0x41\n')).toBeUndefined();
  });
});
