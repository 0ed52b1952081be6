import { describe, expect, it } from 'vitest';
import { parseGuestConfig } from '../../../src/pve/parse/guest-config.js';
import type { GuestResource, StorageResource } from '../../../src/pve/parse/pvesh-resources.js';
import { decideGuest, haTargetStorageConflicts, memoryWarning, precheckGuest, type MigrateFacts, type MigrateRequest, type Move } from '../../../src/workflows/migrate/checks.js';

const storage = (node: string, id: string, shared: boolean): StorageResource => ({ storage: id, node, status: 'available', plugintype: shared ? 'nfs' : 'lvmthin', shared, content: ['images'] });
const STORAGES = ['pve1', 'pve2'].flatMap((n) => [storage(n, 'local-lvm', false), storage(n, 'nfs1', true), storage(n, 'local', false)]).concat([storage('pve1', 'local-zfs', false)]);

function facts(over: Partial<MigrateFacts> = {}): MigrateFacts {
  return {
    inventory: new Set(['pve1', 'pve2', 'pve3']),
    nodeStatus: new Map([['pve1', 'online'], ['pve2', 'online'], ['pve3', 'online']]),
    cpuVendor: new Map([['pve1', 'GenuineIntel'], ['pve2', 'GenuineIntel']]),
    storages: STORAGES,
    ...over,
  };
}

const req = (over: Partial<MigrateRequest> = {}): MigrateRequest => ({ target: 'pve2', online: false, restart: false, withLocalDisks: false, ...over });
const vm = (over: Partial<GuestResource> = {}): GuestResource => ({ vmid: 100, type: 'qemu', node: 'pve1', status: 'running', template: false, name: 'web', maxmem: 2 * 1024 ** 3, ...over });
const ct = (over: Partial<GuestResource> = {}): GuestResource => ({ vmid: 101, type: 'lxc', node: 'pve1', status: 'running', template: false, ...over });
const vmConf = (disk = 'nfs1:vm-100-disk-0,size=8G', extra = '') => parseGuestConfig('qemu', `memory: 2048\nscsi0: ${disk}\n${extra}`);
const ctConf = (rootfs = 'nfs1:vm-101-disk-0,size=4G', extra = '') => parseGuestConfig('lxc', `hostname: ct\nrootfs: ${rootfs}\n${extra}`);

describe('precheckGuest', () => {
  it('passes a running VM with --online and a running CT with --restart', () => {
    expect(precheckGuest(vm(), req({ online: true }), facts())).toEqual({ reasons: [], alreadyThere: false });
    expect(precheckGuest(ct(), req({ restart: true }), facts())).toEqual({ reasons: [], alreadyThere: false });
    expect(precheckGuest(vm({ status: 'stopped' }), req(), facts()).reasons).toEqual([]);
  });

  it('a guest already on the target is done, before any other check', () => {
    expect(precheckGuest(vm({ node: 'pve2', lock: 'backup' }), req(), facts({ targetProblem: 'down' }))).toEqual({ reasons: ['already on pve2'], alreadyThere: true });
  });

  it('a target problem skips every guest with that one reason', () => {
    expect(precheckGuest(vm({ lock: 'backup' }), req(), facts({ targetProblem: 'the target pve2 is not quorate' })).reasons).toEqual(['the target pve2 is not quorate']);
  });

  it('collects every reason: locked, running without the right flag, node problems', () => {
    expect(precheckGuest(vm({ lock: 'backup' }), req(), facts()).reasons).toEqual([
      'locked (backup); once nothing works on it: qm unlock 100',
      'running VM: needs --online (live migration)',
    ]);
    expect(precheckGuest(ct({ lock: 'migrate' }), req({ online: true }), facts()).reasons).toEqual([
      'locked (migrate); once nothing works on it: pct unlock 101',
      'a running container cannot move live (--online); use --restart: it is shut down, moved and started on the target',
    ]);
    expect(precheckGuest(ct(), req(), facts()).reasons).toEqual(['running container: needs --restart (shut down, moved, started on the target)']);
    expect(precheckGuest(vm(), req({ online: true }), facts({ nodeStatus: new Map([['pve1', 'offline']]) })).reasons).toEqual(['its node pve1 is offline']);
    expect(precheckGuest(vm(), req({ online: true }), facts({ inventory: new Set(['pve2']) })).reasons).toEqual([
      "its node pve1 is not in the inventory (the migration runs on the guest's node)",
    ]);
  });

  it('HA-managed guests need no --online/--restart, but not while HA is busy with them', () => {
    expect(precheckGuest(ct({ hastate: 'started' }), req(), facts()).reasons).toEqual([]);
    expect(precheckGuest(vm({ hastate: 'migrate' }), req(), facts()).reasons).toEqual(["HA state 'migrate': the HA stack is already moving it"]);
    expect(precheckGuest(vm({ hastate: 'error' }), req(), facts()).reasons).toEqual([
      "HA state 'error': it is in the HA error state: fix it, then ha-manager set vm:100 --state disabled and back to started",
    ]);
  });
});

describe('decideGuest', () => {
  it('a running VM on shared storage moves live with qm; a stopped one offline', () => {
    const d = decideGuest(vm(), vmConf(), req({ online: true, bwlimitKiB: 1024 }), facts());
    expect(d).toEqual({
      kind: 'move',
      move: {
        guest: vm(),
        node: 'pve1',
        argv: ['qm', 'migrate', '100', 'pve2', '--online', '1', '--bwlimit', '1024'],
        title: 'migrate VM 100 (web) live to pve2',
        mode: 'live',
        warnings: [],
      },
    });
    const off = decideGuest(vm({ status: 'stopped', name: undefined }), vmConf(), req({ online: true }), facts());
    expect(off.kind === 'move' && [off.move.argv, off.move.title, off.move.mode]).toEqual([['qm', 'migrate', '100', 'pve2'], 'migrate VM 100 offline to pve2', 'offline']);
  });

  it('a running CT moves with pct --restart', () => {
    const d = decideGuest(ct(), ctConf(), req({ restart: true }), facts());
    expect(d.kind === 'move' && [d.move.argv, d.move.mode]).toEqual([['pct', 'migrate', '101', 'pve2', '--restart', '1'], 'restart']);
  });

  it('local disks need --with-local-disks; with it qm gets the flag and pct copies on its own', () => {
    const skip = decideGuest(vm(), vmConf('local-lvm:vm-100-disk-0,size=8G', 'unused0: local-lvm:vm-100-disk-1\n'), req({ online: true }), facts());
    expect(skip).toMatchObject({ kind: 'skip', reason: 'disks on local storage (local-lvm:vm-100-disk-0, local-lvm:vm-100-disk-1): needs --with-local-disks (they are copied to pve2)' });
    const go = decideGuest(vm(), vmConf('local-lvm:vm-100-disk-0,size=8G'), req({ online: true, withLocalDisks: true, targetStorage: 'local' }), facts());
    expect(go.kind === 'move' && go.move.argv).toEqual(['qm', 'migrate', '100', 'pve2', '--online', '1', '--with-local-disks', '1', '--targetstorage', 'local']);
    const ctGo = decideGuest(ct({ status: 'stopped' }), ctConf('local-lvm:vm-101-disk-0,size=4G'), req({ withLocalDisks: true }), facts());
    expect(ctGo.kind === 'move' && ctGo.move.argv).toEqual(['pct', 'migrate', '101', 'pve2']);
    // shared disks only: --target-storage does not apply and is not passed
    const shared = decideGuest(vm(), vmConf(), req({ online: true, targetStorage: 'local' }), facts());
    expect(shared.kind === 'move' && shared.move.argv).toEqual(['qm', 'migrate', '100', 'pve2', '--online', '1']);
  });

  it('the storage must exist on the target: the same one, or the --target-storage', () => {
    expect(decideGuest(vm(), vmConf('local-zfs:vm-100-disk-0'), req({ online: true, withLocalDisks: true }), facts())).toMatchObject({
      kind: 'skip',
      reason: "storage 'local-zfs' (local disk local-zfs:vm-100-disk-0) does not exist on pve2; name one that does with --target-storage",
    });
    expect(decideGuest(vm(), vmConf('local-lvm:vm-100-disk-0'), req({ online: true, withLocalDisks: true, targetStorage: 'fast' }), facts())).toMatchObject({
      kind: 'skip',
      reason: "target storage 'fast' does not exist on pve2",
    });
    expect(decideGuest(vm(), vmConf('nfs1:vm-100-disk-0'), req({ target: 'pve3', online: true }), facts())).toMatchObject({
      kind: 'skip',
      reason: "storage 'nfs1' (nfs1:vm-100-disk-0) is not available on pve3",
    });
  });

  it('bind mounts, host devices and local CD-ROMs keep a guest where it is', () => {
    expect(decideGuest(ct(), ctConf(undefined, 'mp0: /srv,mp=/srv\n'), req({ restart: true }), facts())).toMatchObject({ reason: "mount point mp0 is a host path ('/srv'), which cannot be migrated" });
    expect(decideGuest(vm(), vmConf(undefined, 'hostpci0: 0000:01:00.0\n'), req({ online: true }), facts())).toMatchObject({ reason: 'uses host devices (hostpci0), which tie it to pve1' });
    expect(decideGuest(vm(), vmConf(undefined, 'ide2: local:iso/x.iso,media=cdrom\n'), req({ online: true }), facts())).toMatchObject({
      reason: "local CD-ROM image 'local:iso/x.iso' (ide2): eject it first (qm set 100 --ide2 none,media=cdrom)",
    });
  });

  it('a cloud-init drive on local storage is copied as a generated volume: no --with-local-disks, not a CD-ROM to eject', () => {
    // qemu-server: a CD-ROM volume matching vm-<id>-cloudinit is `generated`; only `attached` local disks need with-local-disks
    const ci = 'ide2: local-lvm:vm-100-cloudinit,media=cdrom\n';
    const live = decideGuest(vm(), vmConf(undefined, ci), req({ online: true }), facts());
    expect(live.kind === 'move' && live.move.argv).toEqual(['qm', 'migrate', '100', 'pve2', '--online', '1']);
    const off = decideGuest(vm({ status: 'stopped' }), vmConf(undefined, ci), req(), facts());
    expect(off.kind === 'move' && off.move.argv).toEqual(['qm', 'migrate', '100', 'pve2']);
    // it lands on the target storage like any copied volume
    const mapped = decideGuest(vm(), vmConf(undefined, ci), req({ online: true, targetStorage: 'local' }), facts());
    expect(mapped.kind === 'move' && mapped.move.argv).toEqual(['qm', 'migrate', '100', 'pve2', '--online', '1', '--targetstorage', 'local']);
    // the storage it is copied to must exist on the target
    expect(decideGuest(vm(), vmConf(undefined, 'ide2: local-zfs:vm-100-cloudinit,media=cdrom\n'), req({ online: true }), facts())).toMatchObject({
      kind: 'skip',
      reason: "storage 'local-zfs' (cloud-init drive local-zfs:vm-100-cloudinit, copied with the guest) does not exist on pve2; name one that does with --target-storage",
    });
    // beside a local disk, only the disk asks for --with-local-disks
    expect(decideGuest(vm(), vmConf('local-lvm:vm-100-disk-0,size=8G', ci), req({ online: true }), facts())).toMatchObject({
      kind: 'skip',
      reason: 'disks on local storage (local-lvm:vm-100-disk-0): needs --with-local-disks (they are copied to pve2)',
    });
    // on directory storage, as a file
    const dir = decideGuest(vm(), vmConf(undefined, 'ide0: local:100/vm-100-cloudinit.qcow2,media=cdrom\n'), req({ online: true }), facts());
    expect(dir.kind).toBe('move');
  });

  it('a TPM state on local storage is generated too; an EFI disk is not', () => {
    const tpm = decideGuest(vm(), vmConf(undefined, 'tpmstate0: local-lvm:vm-100-disk-1,size=4M,version=v2.0\n'), req({ online: true }), facts());
    expect(tpm.kind === 'move' && tpm.move.argv).toEqual(['qm', 'migrate', '100', 'pve2', '--online', '1']);
    expect(decideGuest(vm(), vmConf(undefined, 'efidisk0: local-lvm:vm-100-disk-1,efitype=4m,size=4M\n'), req({ online: true }), facts())).toMatchObject({
      kind: 'skip',
      reason: 'disks on local storage (local-lvm:vm-100-disk-1): needs --with-local-disks (they are copied to pve2)',
    });
  });

  it('a VM disk given as a host path stays: named with the fix, whatever the flags; shared=1 lets it go', () => {
    // qemu-server's own migration tests: ide2 '/dev/sde' dies "can't migrate local disk '/dev/sde': local file/device"; '/dev/sde,shared=1' migrates
    const flags = req({ online: true, withLocalDisks: true, targetStorage: 'local' });
    expect(decideGuest(vm(), vmConf(undefined, 'scsi1: /dev/sdb\n'), flags, facts())).toMatchObject({
      kind: 'skip',
      reason:
        'scsi1 is the host disk /dev/sdb, which PVE cannot migrate ("local file/device"): copy it onto a storage (qm disk import 100 /dev/sdb <storage>, then use that volume as scsi1), or, if /dev/sdb is the same shared device on every node, add shared=1 to scsi1',
    });
    expect(decideGuest(vm({ status: 'stopped' }), vmConf('/dev/disk/by-id/ata-X,size=32G'), req(), facts())).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/^scsi0 is the host disk \/dev\/disk\/by-id\/ata-X, which PVE cannot migrate/) });
    const shared = decideGuest(vm(), vmConf(undefined, 'ide2: /dev/sde,shared=1\n'), req({ online: true }), facts());
    expect(shared.kind === 'move' && shared.move.argv).toEqual(['qm', 'migrate', '100', 'pve2', '--online', '1']);
    expect(decideGuest(vm(), vmConf(undefined, 'ide3: /dev/sr0,media=cdrom\n'), req({ online: true }), facts())).toMatchObject({
      reason: 'ide3 is the host CD-ROM /dev/sr0, which PVE cannot migrate ("local file/device"): eject it first (qm set 100 --ide3 none,media=cdrom)',
    });
    // "can't migrate local cdrom drive": the host's CD drive, shared or not
    expect(decideGuest(vm(), vmConf(undefined, 'ide2: cdrom,media=cdrom,shared=1\n'), req({ online: true }), facts())).toMatchObject({
      reason: "ide2 passes the host's CD drive through, which PVE cannot migrate: eject it first (qm set 100 --ide2 none,media=cdrom)",
    });
  });

  it('HA-managed guests move through ha-manager migrate, whatever the flags', () => {
    const d = decideGuest(ct({ hastate: 'started' }), ctConf(), req(), facts());
    expect(d.kind === 'move' && [d.move.node, d.move.argv, d.move.mode]).toEqual(['pve1', ['ha-manager', 'migrate', 'ct:101', 'pve2'], 'ha']);
  });

  it('warns when a live VM moves between CPU vendors', () => {
    const f = facts({ cpuVendor: new Map([['pve1', 'GenuineIntel'], ['pve2', 'AuthenticAMD']]) });
    const d = decideGuest(vm(), vmConf(), req({ online: true }), f);
    expect(d.kind === 'move' && d.move.warnings).toEqual([
      "VM 100 moves live from a GenuineIntel CPU (pve1) to a AuthenticAMD CPU (pve2): with CPU type 'host' it may crash; a common model (x86-64-v2-AES) is safe",
    ]);
    const stopped = decideGuest(vm({ status: 'stopped' }), vmConf(), req(), f);
    expect(stopped.kind === 'move' && stopped.move.warnings).toEqual([]);
    const unknown = decideGuest(vm(), vmConf(), req({ online: true }), facts({ cpuVendor: new Map() }));
    expect(unknown.kind === 'move' && unknown.move.warnings).toEqual([]);
  });
});

describe('haTargetStorageConflicts', () => {
  it('names every HA-managed guest that would move when --target-storage is given', () => {
    const guests = [vm({ hastate: 'started' }), ct({ hastate: 'stopped' }), vm({ vmid: 102 }), vm({ vmid: 103, node: 'pve2', hastate: 'started' })];
    expect(haTargetStorageConflicts(guests, req({ targetStorage: 'local' })).map((c) => [c.guest.vmid, c.reason])).toEqual([
      [100, 'HA-managed (vm:100): ha-manager migrate cannot take --target-storage local; the HA stack keeps its disks on storage with the same ID'],
      [101, 'HA-managed (ct:101): ha-manager migrate cannot take --target-storage local; the HA stack keeps its disks on storage with the same ID'],
    ]);
    expect(haTargetStorageConflicts(guests, req())).toEqual([]);
  });
});

describe('memoryWarning', () => {
  it('counts the running guests only', () => {
    const m = (g: GuestResource): Move => ({ guest: g, node: g.node, argv: [], title: '', mode: 'live', warnings: [] });
    const moves = [m(vm({ maxmem: 3 * 1024 ** 3 })), m(vm({ vmid: 102, status: 'stopped', maxmem: 64 * 1024 ** 3 }))];
    expect(memoryWarning(moves, 'pve2', 4 * 1024 ** 3)).toBeUndefined();
    expect(memoryWarning(moves, 'pve2', 2 * 1024 ** 3)).toBe('pve2 has 2.0 GiB of memory free; the running guests moving there may use up to 3.0 GiB');
    expect(memoryWarning(moves, 'pve2', undefined)).toBeUndefined();
  });
});
