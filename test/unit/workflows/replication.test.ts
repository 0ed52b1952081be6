import { describe, expect, it } from 'vitest';
import { runEnded } from '../../../src/commands/replication/change.js';
import { parseGuestConfig } from '../../../src/pve/parse/guest-config.js';
import type { PvesrJobStatus } from '../../../src/pve/parse/pvesr.js';
import type { GuestResource, StorageResource } from '../../../src/pve/parse/pvesh-resources.js';
import { parseAddOptions, parseJobRef, scheduleProblem } from '../../../src/workflows/replication/options.js';
import { checkDisks, nextJobId } from '../../../src/workflows/replication/prerequisites.js';

describe('replication options', () => {
  it('takes the calendar events of the reference and refuses what cannot be one', () => {
    for (const s of ['*/15', '*/5', '0/5', 'mon..fri 22', '8:00/15', '12:05', 'sat 03:00', 'hourly', 'daily', '*/00', 'mon,wed,fri 6:30', '2026-*-01 00:00', 'Sunday 4:00']) {
      expect(scheduleProblem(s), s).toBeUndefined();
    }
    expect(scheduleProblem('often')).toMatch(/'often' is neither a keyword/);
    expect(scheduleProblem('mon..fry 22')).toMatch(/'mon..fry' is neither a keyword/);
    expect(scheduleProblem('22:61')).toBe("--schedule '22:61': 61 is out of range for minutes");
    expect(scheduleProblem('75')).toBe("--schedule '75': 75 is out of range for minutes");
    expect(scheduleProblem('12:00 mon')).toMatch(/'mon' is not understood there/);
    expect(scheduleProblem('$(reboot)')).toMatch(/is not a time/);
    expect(scheduleProblem('')).toMatch(/is empty/);
    expect(scheduleProblem('*/5'.padEnd(129, ' ') + 'x')).toMatch(/at most 128/);
  });

  it('takes a rate of at least 1 MB/s and reports every problem at once', () => {
    expect(parseAddOptions({ guest: '100', to: 'pve2', rate: '1' }).options).toEqual({ vmid: 100, target: 'pve2', rateMbps: 1 });
    expect(parseAddOptions({ guest: '100', to: 'pve2', rate: '12.5', schedule: ' daily ', comment: 'x' }).options).toEqual({ vmid: 100, target: 'pve2', rateMbps: 12.5, schedule: 'daily', comment: 'x' });
    expect(parseAddOptions({ guest: '1000000000', rate: '0', schedule: 'often' }).problems).toEqual([
      "'1000000000' is not a VMID (VMIDs are whole numbers from 100 to 999999999)",
      '--to <node> is required: the node to replicate to',
      expect.stringMatching(/^--schedule 'often' is not a calendar event/),
      "--rate must be at least 1 MB/s (pvesr's minimum), got '0'; leave it out for no limit",
    ]);
  });

  it('reads job ids and VMIDs as references', () => {
    expect(parseJobRef('100-0').ref).toEqual({ kind: 'job', id: '100-0', vmid: 100 });
    expect(parseJobRef('100').ref).toEqual({ kind: 'guest', vmid: 100 });
    expect(parseJobRef('99-0').problem).toMatch(/neither a replication job id/);
    expect(parseJobRef('42').problem).toMatch(/'42' is not a VMID/);
  });
});

describe('replication prerequisites', () => {
  const guest: GuestResource = { type: 'qemu', vmid: 100, node: 'pve1', status: 'running', template: false };
  const storage = (id: string, shared: boolean, plugintype: string): StorageResource[] =>
    ['pve1', 'pve2'].map((node) => ({ storage: id, node, status: 'available', plugintype, shared, content: ['images'] }));
  const storages = [...storage('tank', false, 'zfspool'), ...storage('local-lvm', false, 'lvmthin'), ...storage('nas', true, 'nfs')];
  const row = (name: string, type: string, status = 'active') => ({ name, type, status, totalKiB: 1, usedKiB: 0, availableKiB: 1 });
  const both = { source: [row('tank', 'zfspool'), row('local-lvm', 'lvmthin')], target: [row('tank', 'zfspool'), row('local-lvm', 'lvmthin')] };

  it('picks the lowest free job number of the guest', () => {
    const job = (jobId: string) => ({ jobId, vmid: Number(jobId.split('-')[0]), target: 'pve2', schedule: '*/15', enabled: true });
    expect(nextJobId(100, [])).toBe('100-0');
    expect(nextJobId(100, [job('100-0'), job('100-2'), job('101-1')])).toBe('100-1');
  });

  it('replicates zfspool disks, leaves out CD-ROMs, replicate=0 and shared disks, refuses the rest by name', () => {
    const ok = checkDisks(guest, 'pve2', parseGuestConfig('qemu', 'scsi0: tank:vm-100-disk-0,size=4G\nunused0: tank:vm-100-disk-9\nide2: none,media=cdrom\nscsi1: nas:100/vm-100-disk-1.qcow2\nscsi2: local-lvm:vm-100-disk-2,replicate=0\n'), storages, both);
    expect(ok.problems).toEqual([]);
    expect(ok.volumes).toEqual(['tank:vm-100-disk-0', 'tank:vm-100-disk-9']);
    const bad = checkDisks(guest, 'pve2', parseGuestConfig('qemu', 'scsi0: tank:vm-100-disk-0\nscsi1: local-lvm:vm-100-disk-1\nscsi2: /dev/sdb\n'), storages, both);
    expect(bad.problems).toEqual([
      'scsi1 (local-lvm:vm-100-disk-1) is on local storage local-lvm (lvmthin): pvesr replicates only zfspool storage; move it (qm disk move 100 scsi1 <zfspool storage>) or mark it replicate=0',
      'scsi2 is the host path /dev/sdb: pvesr cannot replicate a local file or device; mark it replicate=0 or move it onto zfspool storage',
    ]);
    const none = checkDisks(guest, 'pve2', parseGuestConfig('qemu', 'scsi0: nas:100/vm-100-disk-0.qcow2\n'), storages, both);
    expect(none.problems).toEqual(['the guest has no disk to replicate (pvesr: No replicatable volumes found)']);
    const inactive = checkDisks(guest, 'pve2', parseGuestConfig('qemu', 'scsi0: tank:vm-100-disk-0\n'), storages, { ...both, target: [row('tank', 'zfspool', 'inactive')] });
    expect(inactive.problems).toEqual(['scsi0 (tank:vm-100-disk-0): storage tank is inactive on pve2']);
  });

  it('tells a finished run from one still to come', () => {
    const st = (o: Partial<PvesrJobStatus>): PvesrJobStatus => ({ jobId: '100-0', vmid: 100, enabled: true, target: 'pve2', failCount: 0, state: 'OK', ...o });
    const before = st({ lastSync: '2026-08-19_17:00:00' });
    expect(runEnded(before, st({ lastSync: '2026-08-19_17:00:00', nextSync: 'pending' }))).toBeUndefined();
    expect(runEnded(before, st({ lastSync: '2026-08-19_17:00:00', state: 'SYNCING' }))).toBeUndefined();
    expect(runEnded(before, st({ lastSync: '2026-08-19_17:05:00' }))).toEqual({ ok: true });
    expect(runEnded(before, st({ lastSync: '2026-08-19_17:00:00', failCount: 1, state: 'no route' }))).toEqual({ ok: false });
    expect(runEnded(st({}), st({ lastSync: '2026-08-19_17:05:00' }))).toEqual({ ok: true });
  });
});
