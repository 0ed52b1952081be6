import { describe, expect, it } from 'vitest';
import { ParseError, parsePctList, parsePvesmStatus, parsePvesrList, parsePvesrStatus, parseQmList } from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parseQmList', () => {
  it('reads the sample rows', () => {
    expect(parseQmList(fixture('guest-list/qm-list-backup-info-fixture.txt'))).toEqual([
      { vmid: 100, name: 'home-assistant', status: 'running', memMb: 8192, bootDiskGb: 60, pid: 1790 },
      { vmid: 122, name: 'mikrotik-chr', status: 'running', memMb: 512, bootDiskGb: 8, pid: 2324 },
    ]);
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
    expect(parseQmList(text)).toEqual([
      { vmid: 101, name: 'VM 101', status: 'stopped', memMb: 2048, bootDiskGb: 32, pid: 0 },
      { vmid: 102, name: 'a-very-long-virtual-machine-name', status: 'running', memMb: 4096, bootDiskGb: 100.5, pid: 12345 },
    ]);
  });

  it('returns [] for no output and throws on garbage', () => {
    expect(parseQmList('')).toEqual([]);
    expect(parseQmList('\n')).toEqual([]);
    expect(() => parseQmList('Configuration file does not exist\n')).toThrow(/header/);
    const cut = fixture('guest-list/qm-list-backup-info-fixture.txt').replace('60.00 1790', '60.');
    expect(() => parseQmList(cut)).toThrow(ParseError);
  });
});

describe('parsePctList', () => {
  it('reads the sample rows (empty Lock column)', () => {
    expect(parsePctList(fixture('guest-list/pct-list-backup-info-fixture.txt'))).toEqual([
      { vmid: 113, status: 'running', name: 'proxmox-backup' },
      { vmid: 124, status: 'stopped', name: 'games' },
    ]);
  });

  it('reads a locked container', () => {
    const text = 'VMID       Status     Lock         Name                \n105        stopped    backup       web                 \n';
    expect(parsePctList(text)).toEqual([{ vmid: 105, status: 'stopped', lock: 'backup', name: 'web' }]);
  });

  it('returns [] for no output and throws on garbage', () => {
    expect(parsePctList('')).toEqual([]);
    expect(() => parsePctList('VMID       Status     Lock         Name\nabc\n')).toThrow(/unexpected row/);
  });
});

describe('parsePvesmStatus', () => {
  it('reads the real sample', () => {
    expect(parsePvesmStatus(fixture('pvesm-status/pve9-3node-cluster-validation.txt'))).toEqual([
      { name: 'local', type: 'dir', status: 'active', totalKiB: 67169672, usedKiB: 48329328, availableKiB: 15382504, usedPercent: 71.95 },
      { name: 'local-lvm', type: 'lvmthin', status: 'active', totalKiB: 153374720, usedKiB: 109233475, availableKiB: 44141244, usedPercent: 71.22 },
      { name: 'truenas', type: 'nfs', status: 'active', totalKiB: 934724608, usedKiB: 96884736, availableKiB: 837839872, usedPercent: 10.37 },
    ]);
  });

  it('reads a disabled storage (N/A) and skips login noise before the header', () => {
    // row built from the printf formats of PVE/CLI/pvesm.pm
    const text = [
      'login banner line',
      'Name             Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %',
      'nas               nfs   disabled               0               0               0      N/A',
    ].join('\n');
    expect(parsePvesmStatus(text)).toEqual([{ name: 'nas', type: 'nfs', status: 'disabled', totalKiB: 0, usedKiB: 0, availableKiB: 0 }]);
  });

  it('throws ParseError on garbage', () => {
    expect(parsePvesmStatus('')).toEqual([]);
    expect(() => parsePvesmStatus('hello')).toThrow(/header/);
    const bad = fixture('pvesm-status/pve9-3node-cluster-validation.txt').replace('71.95%', 'lots');
    expect(() => parsePvesmStatus(bad)).toThrow(/unexpected row/);
  });
});

describe('pvesr', () => {
  it('reads pvesr list', () => {
    expect(parsePvesrList(fixture('pvesr/list-hetzner.txt'))).toEqual([
      { jobId: '202-0', vmid: 202, target: 'hetzner-03', schedule: '*/15', enabled: true },
    ]);
  });

  it('reads schedules with spaces and a rate', () => {
    const text = 'JobID                Target                 Schedule  Rate  Enabled\n100-1                local/pve2           mon..fri 22    10       no\n';
    expect(parsePvesrList(text)).toEqual([{ jobId: '100-1', vmid: 100, target: 'pve2', schedule: 'mon..fri 22', rateMbps: 10, enabled: false }]);
  });

  it('reads pvesr status', () => {
    const s = parsePvesrStatus(fixture('pvesr/status-replication-and-ha.txt'));
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
    expect(parsePvesrStatus(text)).toEqual([
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

  it('throws ParseError on garbage', () => {
    expect(parsePvesrStatus('')).toEqual([]);
    expect(() => parsePvesrStatus('no such thing')).toThrow(/header/);
    expect(() => parsePvesrList('JobID                Target                 Schedule  Rate  Enabled\nfoo bar\n')).toThrow(ParseError);
    expect(() => parsePvesrList('JobID                Target                 Schedule  Rate  Enabled\n202-0  remote/x  */15  -  yes\n')).toThrow(/target/);
  });
});
