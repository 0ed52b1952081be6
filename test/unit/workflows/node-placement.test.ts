import { describe, expect, it } from 'vitest';
import { parseGuestConfig } from '../../../src/pve/parse/guest-config.js';
import type { GuestResource, StorageResource } from '../../../src/pve/parse/pvesh-resources.js';
import { placeGuests, type PlacementGuest, type PlacementInput, type PlacementTarget } from '../../../src/workflows/node/placement.js';

const GiB = 1024 ** 3;
const NODES = ['pve1', 'pve2', 'pve3'];

function storage(node: string, id: string, shared: boolean, status = 'available'): StorageResource {
  return { storage: id, node, status, plugintype: shared ? 'nfs' : 'lvmthin', shared, content: ['images', 'rootdir'] };
}

/** nfs1 (shared) and local-lvm (local) on every node. */
const STORAGES: StorageResource[] = NODES.flatMap((n) => [storage(n, 'nfs1', true), storage(n, 'local-lvm', false)]);

function vm(vmid: number, memGiB: number, lines: string[], status = 'running'): PlacementGuest {
  const guest: GuestResource = { type: 'qemu', vmid, node: 'pve1', status, template: false, maxmem: memGiB * GiB };
  return { guest, config: parseGuestConfig('qemu', [`memory: ${memGiB * 1024}`, ...lines].join('\n') + '\n') };
}

function ct(vmid: number, memGiB: number, lines: string[], status = 'running'): PlacementGuest {
  const guest: GuestResource = { type: 'lxc', vmid, node: 'pve1', status, template: false, maxmem: memGiB * GiB };
  return { guest, config: parseGuestConfig('lxc', [`memory: ${memGiB * 1024}`, ...lines].join('\n') + '\n') };
}

function input(guests: PlacementGuest[], targets: PlacementTarget[], over: Partial<PlacementInput> = {}): PlacementInput {
  return {
    source: 'pve1',
    sourceVendor: 'GenuineIntel',
    guests,
    targets,
    inventory: new Set(NODES),
    nodeStatus: new Map(NODES.map((n) => [n, 'online'])),
    storages: STORAGES,
    withLocalDisks: false,
    ...over,
  };
}

const T2: PlacementTarget = { node: 'pve2', freeMem: 16 * GiB, maxcpu: 8, cpuVendor: 'GenuineIntel' };
const T3: PlacementTarget = { node: 'pve3', freeMem: 16 * GiB, maxcpu: 8, cpuVendor: 'GenuineIntel' };
const SHARED_DISK = 'scsi0: nfs1:100/vm-100-disk-0.qcow2,size=8G';

function summary(p: ReturnType<typeof placeGuests>): Array<[number, string]> {
  return p.map((x) => [x.guest.vmid, x.kind === 'move' ? x.target : `skip: ${x.reason}`]);
}

describe('placeGuests: memory', () => {
  it('sends each running guest to the target with the most free memory left, counting what it already sent', () => {
    const p = placeGuests(input([vm(100, 6, [SHARED_DISK]), vm(101, 6, [SHARED_DISK]), vm(102, 6, [SHARED_DISK])], [T2, { ...T3, freeMem: 14 * GiB }]));
    // 100 → pve2 (16 free), 101 → pve3 (14 > 10), 102 → pve2 (10 > 8)
    expect(summary(p)).toEqual([
      [100, 'pve2'],
      [101, 'pve3'],
      [102, 'pve2'],
    ]);
    expect(p[0]?.kind === 'move' && p[0].move.argv).toEqual(['qm', 'migrate', '100', 'pve2', '--online', '1']);
  });

  it('places the largest running guest first, so the small ones fill the rest', () => {
    // 4 GiB first would leave neither target room for 10 GiB
    const p = placeGuests(input([vm(100, 4, [SHARED_DISK]), vm(101, 10, [SHARED_DISK])], [{ ...T2, freeMem: 12 * GiB }, { ...T3, freeMem: 5 * GiB }]));
    expect(summary(p)).toEqual([
      [100, 'pve3'],
      [101, 'pve2'],
    ]);
  });

  it("a running guest larger than every target's free memory is skipped with each target's numbers", () => {
    const p = placeGuests(input([vm(100, 20, [SHARED_DISK])], [T2, { ...T3, freeMem: 2 * GiB }]));
    expect(summary(p)).toEqual([[100, 'skip: fits on no target: pve2: needs 20.0 GiB of memory, pve2 has 16.0 GiB free | pve3: needs 20.0 GiB of memory, pve3 has 2.0 GiB free']]);
  });

  it('counts the guests already planned on a target in its reason', () => {
    const p = placeGuests(input([vm(100, 12, [SHARED_DISK]), vm(101, 8, [SHARED_DISK])], [T2]));
    expect(summary(p)).toEqual([
      [100, 'pve2'],
      [101, 'skip: fits on no target (pve2): needs 8.0 GiB of memory, pve2 has 4.0 GiB free after the guests planned there'],
    ]);
  });

  it('a stopped guest takes no memory where it goes', () => {
    const p = placeGuests(input([vm(100, 64, [SHARED_DISK], 'stopped')], [T2]));
    expect(summary(p)).toEqual([[100, 'pve2']]);
    expect(p[0]?.kind === 'move' && p[0].move.argv).toEqual(['qm', 'migrate', '100', 'pve2']);
  });

  it('a target whose free memory is unknown takes no running guest', () => {
    const p = placeGuests(input([vm(100, 1, [SHARED_DISK])], [{ node: 'pve2', maxcpu: 8, cpuVendor: 'GenuineIntel' }]));
    expect(summary(p)).toEqual([[100, 'skip: fits on no target (pve2): the free memory of pve2 is not known']]);
  });
});

describe('placeGuests: CPU', () => {
  it('refuses a target with fewer CPUs than sockets × cores', () => {
    const p = placeGuests(input([vm(100, 1, [SHARED_DISK, 'sockets: 2', 'cores: 4'])], [{ ...T2, maxcpu: 4 }, T3]));
    expect(summary(p)).toEqual([[100, 'pve3']]);
    const q = placeGuests(input([vm(100, 1, [SHARED_DISK, 'sockets: 2', 'cores: 8'])], [T2]));
    expect(summary(q)).toEqual([[100, 'skip: fits on no target (pve2): needs 16 CPUs, pve2 has 8']]);
  });

  it('a running VM with CPU type host goes only to a node with the same CPU vendor', () => {
    const amd = { ...T2, cpuVendor: 'AuthenticAMD', freeMem: 60 * GiB };
    const p = placeGuests(input([vm(100, 1, [SHARED_DISK, 'cpu: host'])], [amd, T3]));
    expect(summary(p)).toEqual([[100, 'pve3']]);
    const q = placeGuests(input([vm(100, 1, [SHARED_DISK, 'cpu: cputype=host,flags=+aes'])], [amd]));
    expect(summary(q)).toEqual([[100, "skip: fits on no target (pve2): CPU type 'host' moving live from a GenuineIntel CPU to a AuthenticAMD CPU (pve2)"]]);
  });

  it('a common CPU model, or a stopped VM, may change vendor', () => {
    const amd = { ...T2, cpuVendor: 'AuthenticAMD' };
    expect(summary(placeGuests(input([vm(100, 1, [SHARED_DISK, 'cpu: x86-64-v2-AES'])], [amd])))).toEqual([[100, 'pve2']]);
    expect(summary(placeGuests(input([vm(101, 1, [SHARED_DISK, 'cpu: host'], 'stopped')], [amd])))).toEqual([[101, 'pve2']]);
  });

  it('an unknown vendor is not taken for a match', () => {
    const p = placeGuests(input([vm(100, 1, [SHARED_DISK, 'cpu: host'])], [T2], { sourceVendor: undefined }));
    expect(summary(p)).toEqual([[100, "skip: fits on no target (pve2): CPU type 'host' moving live: the CPU vendor of pve1 is not known"]]);
  });
});

describe('placeGuests: storage and local disks', () => {
  it('a shared storage missing or disabled on a target rules that target out', () => {
    const storages = [...STORAGES.filter((s) => !(s.node === 'pve2' && s.storage === 'nfs1')), ...NODES.map((n) => storage(n, 'ceph1', true, n === 'pve3' ? 'unknown' : 'available'))];
    const p = placeGuests(input([vm(100, 1, [SHARED_DISK]), vm(101, 1, ['scsi0: ceph1:vm-101-disk-0,size=8G'])], [T2, T3], { storages }));
    expect(summary(p)).toEqual([
      [100, 'pve3'],
      [101, 'pve2'],
    ]);
  });

  it('disks on local storage are refused unless --with-local-disks, and then need the storage on the target', () => {
    const local = 'scsi0: local-lvm:vm-100-disk-0,size=8G';
    const p = placeGuests(input([vm(100, 1, [local])], [T2]));
    expect(summary(p)).toEqual([[100, 'skip: fits on no target (pve2): disks on local storage (local-lvm:vm-100-disk-0): needs --with-local-disks (they are copied to pve2)']]);
    const storages = STORAGES.filter((s) => !(s.node === 'pve2' && s.storage === 'local-lvm'));
    const q = placeGuests(input([vm(100, 1, [local])], [T2, T3], { withLocalDisks: true, storages }));
    expect(summary(q)).toEqual([[100, 'pve3']]);
    expect(q[0]?.kind === 'move' && q[0].move.argv).toEqual(['qm', 'migrate', '100', 'pve3', '--online', '1', '--with-local-disks', '1']);
  });

  it('a container bind mount fits nowhere, named once for every target', () => {
    const p = placeGuests(input([ct(200, 1, ['rootfs: nfs1:subvol-200-disk-0,size=4G', 'mp0: /srv/data,mp=/data'])], [T2, T3]));
    expect(summary(p)).toEqual([[200, "skip: fits on no target (pve2, pve3): mount point mp0 is a host path ('/srv/data'), which cannot be migrated"]]);
  });

  it('a running container moves with a restart', () => {
    const p = placeGuests(input([ct(200, 1, ['rootfs: nfs1:subvol-200-disk-0,size=4G'])], [T2]));
    expect(p[0]?.kind === 'move' && p[0].move.argv).toEqual(['pct', 'migrate', '200', 'pve2', '--restart', '1']);
  });
});

describe('placeGuests: nothing fits', () => {
  it('names the target-independent reason once (a lock), without trying targets', () => {
    const g = vm(100, 1, [SHARED_DISK]);
    g.guest.lock = 'backup';
    expect(summary(placeGuests(input([g], [T2, T3])))).toEqual([[100, 'skip: locked (backup); once nothing works on it: qm unlock 100']]);
  });

  it('a target that cannot be used gives its problem', () => {
    const p = placeGuests(input([vm(100, 1, [SHARED_DISK])], [{ ...T2, problem: 'the target pve2 is not quorate' }, { ...T3, freeMem: 0 }]));
    expect(summary(p)).toEqual([[100, 'skip: fits on no target: pve2: the target pve2 is not quorate | pve3: needs 1.0 GiB of memory, pve3 has 0.0 GiB free']]);
  });

  it('no targets, or an unread config, skip the guest with that reason', () => {
    expect(summary(placeGuests(input([vm(100, 1, [SHARED_DISK])], [])))).toEqual([[100, 'skip: no target node to move it to']]);
    const unread: PlacementGuest = { guest: { type: 'qemu', vmid: 101, node: 'pve1', status: 'running', template: false }, problem: 'qm config 101 failed: timeout' };
    expect(summary(placeGuests(input([unread], [T2])))).toEqual([[101, 'skip: qm config 101 failed: timeout']]);
  });

  it('an HA-managed guest goes through ha-manager migrate', () => {
    const g = vm(100, 1, [SHARED_DISK]);
    g.guest.hastate = 'started';
    const p = placeGuests(input([g], [T2]));
    expect(p[0]?.kind === 'move' && p[0].move.argv).toEqual(['ha-manager', 'migrate', 'vm:100', 'pve2']);
  });
});
