import { describe, expect, it } from 'vitest';
import { ParseError, parsePctList, parsePvesmStatus, parsePvesrList, parsePvesrStatus, parseQmList } from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parseQmList', () => {
  it('reads the sample rows', () => {
    expect(parseQmList(fixture('guest-list/qm-list-backup-info-fixture.txt'))).toEqual({
      vms: [
        { vmid: 100, name: 'home-assistant', status: 'running', memMb: 8192, bootDiskGb: 60, pid: 1790 },
        { vmid: 122, name: 'mikrotik-chr', status: 'running', memMb: 512, bootDiskGb: 8, pid: 2324 },
      ],
      unrecognized: [],
    });
  });

  it('reads padded rows, the default "VM <id>" name and long names', () => {
    // widths from §4.5: VMID 10 right, NAME 20, STATUS 10, MEM 10, BOOTDISK 12 right, PID 10 (trailing spaces)
    const row = (id: string, name: string, st: string, mem: string, disk: string, pid: string): string =>
      `${id.padStart(10)} ${name.padEnd(20)} ${st.padEnd(10)} ${mem.padEnd(10)} ${disk.padStart(12)} ${pid.padEnd(10)}`;
    const text = [
      row('VMID', 'NAME', 'STATUS', 'MEM(MB)', 'BOOTDISK(GB)', 'PID'),
      row('101', 'VM 101', 'stopped', '2048', '32.00', '0'),
      row('102', 'a-very-long-virtual-machine-name', 'running', '4096', '100.50', '12345'),
      '',
    ].join('\n');
    expect(parseQmList(text).vms).toEqual([
      { vmid: 101, name: 'VM 101', status: 'stopped', memMb: 2048, bootDiskGb: 32, pid: 0 },
      { vmid: 102, name: 'a-very-long-virtual-machine-name', status: 'running', memMb: 4096, bootDiskGb: 100.5, pid: 12345 },
    ]);
  });

  it('reads no VMs from no output and throws on output without the header', () => {
    expect(parseQmList('')).toEqual({ vms: [], unrecognized: [] });
    expect(parseQmList('\n')).toEqual({ vms: [], unrecognized: [] });
    expect(() => parseQmList('Configuration file does not exist\n')).toThrow(/header/);
  });

  it('keeps a row it cannot read and still reads the others', () => {
    const cut = fixture('guest-list/qm-list-backup-info-fixture.txt').replace('60.00 1790', '60.');
    const s = parseQmList(cut);
    expect(s.vms.map((v) => v.vmid)).toEqual([122]);
    expect(s.unrecognized).toEqual(['       100 home-assistant       running    8192              60.']);
    const lines = fixture('guest-list/qm-list-backup-info-fixture.txt').split('\n');
    lines.splice(2, 0, '  (guest list truncated)');
    const inserted = parseQmList(lines.join('\n'));
    expect(inserted.vms.map((v) => v.name)).toEqual(['home-assistant', 'mikrotik-chr']);
    expect(inserted.unrecognized).toEqual(['  (guest list truncated)']);
  });
});

describe('parsePctList', () => {
  it('reads the sample rows (empty Lock column)', () => {
    expect(parsePctList(fixture('guest-list/pct-list-backup-info-fixture.txt'))).toEqual({
      containers: [
        { vmid: 113, status: 'running', name: 'proxmox-backup' },
        { vmid: 124, status: 'stopped', name: 'games' },
      ],
      unrecognized: [],
    });
  });

  it('reads a locked container', () => {
    const text = 'VMID       Status     Lock         Name                \n105        stopped    backup       web                 \n';
    expect(parsePctList(text).containers).toEqual([{ vmid: 105, status: 'stopped', lock: 'backup', name: 'web' }]);
  });

  it('reads no containers from no output; keeps a row it cannot read and still reads the others', () => {
    expect(parsePctList('')).toEqual({ containers: [], unrecognized: [] });
    expect(parsePctList('VMID       Status     Lock         Name\nabc\n')).toEqual({ containers: [], unrecognized: ['abc'] });
    const lines = fixture('guest-list/pct-list-backup-info-fixture.txt').split('\n');
    lines.splice(2, 0, '114        running    backup       two words here');
    const s = parsePctList(lines.join('\n'));
    expect(s.containers.map((c) => c.vmid)).toEqual([113, 124]);
    expect(s.unrecognized).toEqual(['114        running    backup       two words here']);
  });
});

describe('parsePvesmStatus', () => {
  it('reads the real sample', () => {
    expect(parsePvesmStatus(fixture('pvesm-status/pve9-3node-cluster-validation.txt'))).toEqual({
      storages: [
        { name: 'local', type: 'dir', status: 'active', totalKiB: 67169672, usedKiB: 48329328, availableKiB: 15382504, usedPercent: 71.95 },
        { name: 'local-lvm', type: 'lvmthin', status: 'active', totalKiB: 153374720, usedKiB: 109233475, availableKiB: 44141244, usedPercent: 71.22 },
        { name: 'truenas', type: 'nfs', status: 'active', totalKiB: 934724608, usedKiB: 96884736, availableKiB: 837839872, usedPercent: 10.37 },
      ],
      unrecognized: [],
    });
  });

  it('reads a disabled storage (N/A) and skips login noise before the header', () => {
    // row built from the printf formats of PVE/CLI/pvesm.pm
    const text = [
      'login banner line',
      'Name             Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %',
      'nas               nfs   disabled               0               0               0      N/A',
    ].join('\n');
    expect(parsePvesmStatus(text).storages).toEqual([{ name: 'nas', type: 'nfs', status: 'disabled', totalKiB: 0, usedKiB: 0, availableKiB: 0 }]);
  });

  it('throws ParseError on output without the header; keeps a row it cannot read and still reads the others', () => {
    expect(parsePvesmStatus('')).toEqual({ storages: [], unrecognized: [] });
    expect(() => parsePvesmStatus('hello')).toThrow(/header/);
    const bad = parsePvesmStatus(fixture('pvesm-status/pve9-3node-cluster-validation.txt').replace('71.95%', 'lots'));
    expect(bad.storages.map((x) => x.name)).toEqual(['local-lvm', 'truenas']);
    expect(bad.unrecognized).toEqual(['local             dir     active        67169672        48329328        15382504   lots']);
    const lines = fixture('pvesm-status/pve9-3node-cluster-validation.txt').split('\n');
    lines.splice(2, 0, 'cephpool          rbd     active        67169672        48329328        15382504   71.95%   extra');
    const inserted = parsePvesmStatus(lines.join('\n'));
    expect(inserted.storages.map((x) => x.name)).toEqual(['local', 'local-lvm', 'truenas']);
    expect(inserted.unrecognized).toEqual(['cephpool          rbd     active        67169672        48329328        15382504   71.95%   extra']);
  });
});

describe('pvesr', () => {
  it('reads pvesr list', () => {
    expect(parsePvesrList(fixture('pvesr/list-hetzner.txt'))).toEqual({
      jobs: [{ jobId: '202-0', vmid: 202, target: 'hetzner-03', schedule: '*/15', enabled: true }],
      unrecognized: [],
    });
  });

  it('reads schedules with spaces and a rate', () => {
    const text = 'JobID                Target                 Schedule  Rate  Enabled\n100-1                local/pve2           mon..fri 22    10       no\n';
    expect(parsePvesrList(text).jobs).toEqual([{ jobId: '100-1', vmid: 100, target: 'pve2', schedule: 'mon..fri 22', rateMbps: 10, enabled: false }]);
  });

  it('reads pvesr status', () => {
    const s = parsePvesrStatus(fixture('pvesr/status-replication-and-ha.txt')).jobs;
    expect(s).toHaveLength(3);
    expect(s[0]).toEqual({
      jobId: '100-0',
      vmid: 100,
      enabled: true,
      target: 'pve1',
      lastSync: '2024-12-18_06:00:00',
      nextSync: '2024-12-19_06:00:00',
      durationSec: 13.768198,
      failCount: 0,
      state: 'OK',
    });
  });

  it('reads never-synced, pending and failed jobs with free-text state', () => {
    // the State column is free text (the last error); the text here is a placeholder
    const head = 'JobID      Enabled    Target                           LastSync             NextSync   Duration  FailCount State';
    const text = [
      head,
      '101-0      Yes        local/pve2                              -              pending          -          0 SYNCING',
      '102-0      No         local/pve3            2024-12-18_06:00:00              pending   3.000000          2 example error text with spaces',
    ].join('\n');
    expect(parsePvesrStatus(text).jobs).toEqual([
      { jobId: '101-0', vmid: 101, enabled: true, target: 'pve2', nextSync: 'pending', failCount: 0, state: 'SYNCING' },
      {
        jobId: '102-0',
        vmid: 102,
        enabled: false,
        target: 'pve3',
        lastSync: '2024-12-18_06:00:00',
        nextSync: 'pending',
        durationSec: 3,
        failCount: 2,
        state: 'example error text with spaces',
      },
    ]);
  });

  it('throws ParseError on output without the header; keeps rows it cannot read', () => {
    expect(parsePvesrStatus('')).toEqual({ jobs: [], unrecognized: [] });
    expect(() => parsePvesrStatus('no such thing')).toThrow(/header/);
    expect(() => parsePvesrList('no such thing')).toThrow(ParseError);
    expect(parsePvesrList('JobID                Target                 Schedule  Rate  Enabled\nfoo bar\n')).toEqual({ jobs: [], unrecognized: ['foo bar'] });
    expect(parsePvesrList('JobID                Target                 Schedule  Rate  Enabled\n202-0  remote/x  */15  -  yes\n').unrecognized).toEqual(['202-0  remote/x  */15  -  yes']);
  });

  it('reads the samples with an unknown row inserted: the known rows are still read', () => {
    const list = fixture('pvesr/list-hetzner.txt').split('\n');
    list.splice(1, 0, '203-0                local/hetzner-04           */15     -      yes   maybe');
    const l = parsePvesrList(list.join('\n'));
    expect(l.jobs.map((j) => j.jobId)).toEqual(['202-0']);
    expect(l.unrecognized).toEqual(['203-0                local/hetzner-04           */15     -      yes   maybe']);
    const status = fixture('pvesr/status-replication-and-ha.txt').split('\n');
    status.splice(2, 0, '140-0      Maybe      local/pve1            2024-12-18_06:00:00  2024-12-19_06:00:00  13.768198          0 OK');
    const s = parsePvesrStatus(status.join('\n'));
    expect(s.jobs.map((j) => j.jobId)).toEqual(['100-0', '141-0', '145-0']);
    expect(s.unrecognized).toEqual(['140-0      Maybe      local/pve1            2024-12-18_06:00:00  2024-12-19_06:00:00  13.768198          0 OK']);
  });
});
