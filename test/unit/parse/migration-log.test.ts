import { describe, expect, it } from 'vitest';
import { ParseError, classifyMigration, findUpid, parseMigrationLog, parseUpid } from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parseUpid', () => {
  it('reads the documented example', () => {
    expect(parseUpid('UPID:pve1:00001234:00567890:66A1B2C3:qmigrate:100:root@pam:')).toEqual({
      raw: 'UPID:pve1:00001234:00567890:66A1B2C3:qmigrate:100:root@pam:',
      node: 'pve1',
      pid: 0x1234,
      pstart: 0x567890,
      starttime: 0x66a1b2c3,
      type: 'qmigrate',
      id: '100',
      user: 'root@pam',
    });
  });

  it('accepts an empty id and finds a UPID inside other text', () => {
    expect(parseUpid('UPID:pve1:00001234:00567890:66A1B2C3:clustercreate::root@pam:').id).toBe('');
    expect(findUpid('task done\nUPID:pve2:0000ABCD:000123456:66A1B2C3:vzmigrate:101:root@pam:\n')?.type).toBe('vzmigrate');
    expect(findUpid('nothing here')).toBeUndefined();
  });

  it('throws ParseError on anything else', () => {
    expect(() => parseUpid('')).toThrow(ParseError);
    expect(() => parseUpid('UPID:pve1:1234:00567890:66A1B2C3:qmigrate:100:root@pam:')).toThrow(ParseError);
    expect(() => parseUpid('UPID:pve1:00001234:00567890:66A1B2C3:qmigrate:100:root@pam')).toThrow(ParseError);
  });
});

describe('parseMigrationLog', () => {
  it('reads the real HA-initiated live migration (task viewer copy)', () => {
    const m = parseMigrationLog(fixture('migration/pve8-ha-live-success-taskviewer.log'));
    expect(m).toEqual({
      outcome: 'success',
      guestType: 'vm',
      vmid: 105,
      target: 'pve1',
      targetIp: '10.10.1.1',
      startedByHa: true,
      duration: '00:00:18',
      durationSec: 18,
      errors: [],
      taskStatus: 'OK',
      firstTimestamp: '2025-01-04 00:34:24',
      lastTimestamp: '2025-01-04 00:34:42',
    });
  });

  it('reads the same run as a terminal shows it (no TASK OK)', () => {
    const terminal = fixture('migration/pve8-ha-live-success-taskviewer.log').replace('TASK OK\n', '');
    expect(classifyMigration({ stdout: terminal, stderr: '', exitCode: 0 })).toMatchObject({ outcome: 'success', vmid: 105 });
  });

  it('reads the real host-key failure', () => {
    const m = parseMigrationLog(fixture('migration/host-key-failure-taskviewer.log'));
    expect(m).toMatchObject({
      outcome: 'aborted',
      duration: '00:00:00',
      durationSec: 0,
      reason: "Can't connect to destination address using public key",
      taskStatus: 'ERROR: migration aborted',
      errors: ["migration aborted (duration 00:00:00): Can't connect to destination address using public key"],
    });
  });

  it('reads the terminal form of a failure: status on stderr, exit 255', () => {
    const log = fixture('migration/host-key-failure-taskviewer.log').replace('TASK ERROR: migration aborted\n', '');
    const m = classifyMigration({ stdout: log, stderr: 'migration aborted\n', exitCode: 255 });
    expect(m.outcome).toBe('aborted');
    expect(m.reason).toBe("Can't connect to destination address using public key");
  });

  it('reads the container migration without timestamps', () => {
    expect(parseMigrationLog(fixture('migration/ct-zfs-replicated-no-timestamps.log'))).toEqual({
      outcome: 'success',
      guestType: 'ct',
      vmid: 400,
      target: 'pve2',
      targetIp: '192.168.75.158',
      startedByHa: false,
      duration: '00:00:29',
      durationSec: 29,
      errors: [],
      taskStatus: 'OK',
    });
  });

  it('reads the documented problem ending', () => {
    // final-line variants from §4.3
    const log = [
      "2025-01-04 00:34:24 starting migration of VM 105 to node 'pve1' (10.10.1.1)",
      '2025-01-04 00:34:30 ERROR: online migrate failure - some reason',
      '2025-01-04 00:34:30 aborting phase 2 - cleanup resources',
      '2025-01-04 00:34:30 migrate_cancel',
      '2025-01-04 00:34:31 ERROR: migration finished with problems (duration 00:00:07)',
    ].join('\n');
    const m = classifyMigration({ stdout: log, stderr: 'migration problems\n', exitCode: 255 });
    expect(m).toMatchObject({ outcome: 'problems', duration: '00:00:07', errors: ['online migrate failure - some reason', 'migration finished with problems (duration 00:00:07)'] });
  });

  it('reads an HA request and pre-task failures', () => {
    expect(parseMigrationLog('Requesting HA migration for VM 100 to node pve2\n')).toMatchObject({ outcome: 'ha-requested', guestType: 'vm', vmid: 100, target: 'pve2' });
    expect(parseMigrationLog('Requesting HA migration for CT 101 to node pve3\n')).toMatchObject({ outcome: 'ha-requested', guestType: 'ct' });
    expect(classifyMigration({ stdout: '', stderr: 'VM is locked (backup)\n', exitCode: 255 })).toMatchObject({ outcome: 'failed', reason: 'VM is locked (backup)' });
    expect(classifyMigration({ stdout: '', stderr: '', exitCode: 255 })).toMatchObject({ outcome: 'failed', reason: 'exit code 255' });
  });

  it('reads warnings and treats a cut log as unknown', () => {
    const warn = parseMigrationLog(fixture('migration/ct-zfs-replicated-no-timestamps.log').replace('TASK OK', 'TASK WARNINGS: 2'));
    expect(warn).toMatchObject({ outcome: 'success', warnings: 2, taskStatus: 'WARNINGS: 2' });
    const cut = fixture('migration/pve8-ha-live-success-taskviewer.log').split('\n').slice(0, 10).join('\n');
    expect(parseMigrationLog(cut).outcome).toBe('unknown');
    expect(parseMigrationLog('').outcome).toBe('unknown');
  });

  it('parses the line-sequence template without inventing an outcome', () => {
    expect(parseMigrationLog(fixture('migration/pve-line-sequence-template.txt')).outcome).toBe('unknown');
  });
});
