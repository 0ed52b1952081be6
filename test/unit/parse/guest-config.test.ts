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
      { key: 'efidisk0', volid: 'local-lvm:vm-100-disk-1', storage: 'local-lvm', cdrom: false, cloudinit: false, unused: false },
      { key: 'ide2', volid: 'local:iso/debian-12.iso', storage: 'local', cdrom: true, cloudinit: false, unused: false },
      { key: 'scsi0', volid: 'nfs1:100/vm-100-disk-0.qcow2', storage: 'nfs1', cdrom: false, cloudinit: false, unused: false },
      { key: 'unused0', volid: 'local-lvm:vm-100-disk-2', storage: 'local-lvm', cdrom: false, cloudinit: false, unused: true },
    ]);
    expect(c.hostDevices).toEqual(['hostpci0', 'usb1']);
    expect(c.bindMounts).toEqual([]);
    expect(c.hostDrives).toEqual([]);
  });

  it('marks a cloud-init drive (vm-<id>-cloudinit as CD-ROM), on LVM and as a file on directory storage', () => {
    // the current section of qemu-server's test config src/test/parse-config-input/cloudinit-snapshot.conf
    const text = [
      'boot: order=scsi0',
      'ide2: lvm:vm-120-cloudinit,media=cdrom',
      'ipconfig0: ip6=dhcp',
      'scsi0: nfs:120/vm-120-disk-0.qcow2,iothread=1,size=4G',
      'unused0: rbd:vm-120-disk-0',
      '',
      '[special:cloudinit]',
      'ipconfig0: ip=dhcp,ip6=dhcp',
    ].join('\n');
    expect(parseGuestConfig('qemu', text).volumes.map((v) => [v.key, v.cdrom, v.cloudinit])).toEqual([
      ['ide2', true, true],
      ['scsi0', false, false],
      ['unused0', false, false],
    ]);
    const dir = parseGuestConfig('qemu', 'ide0: local:100/vm-100-cloudinit.qcow2,media=cdrom\nide2: local:iso/cloudinit-notes.iso,media=cdrom\n');
    expect(dir.volumes.map((v) => [v.key, v.cloudinit])).toEqual([
      ['ide0', true],
      ['ide2', false],
    ]);
  });

  it('lists VM drives given as host paths and the host CD drive, with shared=1 and media=cdrom', () => {
    // as in qemu-server's tests: src/test/cfg2cmd/simple-disk-passthrough.conf, scsiblk.conf, run_qemu_migrate_tests.pl
    const text = 'ide1: cdrom,media=cdrom\nide2: /dev/sde,shared=1\nide3: /dev/sr0,media=cdrom\nscsi0: /dev/sda\nscsi1: /dev/sdg,scsiblock=1,size=32G\nvirtio0: file=/dev/disk/by-id/ata-X,size=8G\n';
    const c = parseGuestConfig('qemu', text);
    expect(c.volumes).toEqual([]);
    expect(c.hostDrives).toEqual([
      { key: 'ide1', source: 'cdrom', shared: false, cdrom: true },
      { key: 'ide2', source: '/dev/sde', shared: true, cdrom: false },
      { key: 'ide3', source: '/dev/sr0', shared: false, cdrom: true },
      { key: 'scsi0', source: '/dev/sda', shared: false, cdrom: false },
      { key: 'scsi1', source: '/dev/sdg', shared: false, cdrom: false },
      { key: 'virtio0', source: '/dev/disk/by-id/ata-X', shared: false, cdrom: false },
    ]);
    // a container's host path is a bind mount, never a host drive
    expect(parseGuestConfig('lxc', 'mp0: /dev/sdb,mp=/data\n').hostDrives).toEqual([]);
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
