import { describe, expect, it } from 'vitest';
import {
  ParseError,
  isChronyDaemonUnreachable,
  parseChronyTracking,
  parseNtpSynchronized,
  parseTimedatectlStatus,
} from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parseChronyTracking', () => {
  it('reads the synchronised sample', () => {
    expect(parseChronyTracking(fixture('chrony/tracking-synchronised.txt'))).toEqual({
      kind: 'tracking',
      synchronized: true,
      referenceId: '83E17991',
      referenceName: 'chablis.fnal.gov',
      stratum: 3,
      refTimeUtc: 'Mon Aug 03 21:25:11 2026',
      systemTimeOffsetSec: 0.000004709,
      lastOffsetSec: 0.000004989,
      rmsOffsetSec: 0.000021751,
      frequencyPpm: 2.192,
      residualFreqPpm: 0.001,
      skewPpm: 0.026,
      rootDelaySec: 0.000411626,
      rootDispersionSec: 0.01857001,
      updateIntervalSec: 256.9,
      leapStatus: 'Normal',
    });
  });

  it('makes "slow of NTP time" negative', () => {
    const text = fixture('chrony/tracking-synchronised.txt')
      .replace('0.000004709 seconds fast of NTP time', '1.500000000 seconds slow of NTP time')
      .replace('2.192 ppm fast', '2.192 ppm slow');
    const t = parseChronyTracking(text);
    expect(t.kind === 'tracking' && [t.systemTimeOffsetSec, t.frequencyPpm]).toEqual([-1.5, -2.192]);
  });

  it('reads the not-synchronised shape', () => {
    const text = [
      'Reference ID    : 00000000 ()',
      'Stratum         : 0',
      'Ref time (UTC)  : Thu Jan 01 00:00:00 1970',
      'Leap status     : Not synchronised',
    ].join('\n');
    const t = parseChronyTracking(text);
    expect(t).toEqual({
      kind: 'tracking',
      synchronized: false,
      referenceId: '00000000',
      stratum: 0,
      refTimeUtc: 'Thu Jan 01 00:00:00 1970',
      leapStatus: 'Not synchronised',
    });
  });

  it('recognises 506 Cannot talk to daemon on either stream', () => {
    expect(parseChronyTracking('', '506 Cannot talk to daemon\n')).toEqual({ kind: 'daemon-unreachable', message: '506 Cannot talk to daemon' });
    expect(parseChronyTracking('506 Cannot talk to daemon\n').kind).toBe('daemon-unreachable');
    expect(isChronyDaemonUnreachable('all good')).toBe(false);
  });

  it('throws ParseError on other text', () => {
    expect(() => parseChronyTracking('')).toThrow(ParseError);
    expect(() => parseChronyTracking('chronyc: command not found')).toThrow(/Reference ID/);
    expect(() => parseChronyTracking('Reference ID    : zz\nStratum : 1\nLeap status : Normal')).toThrow(/Reference ID/);
    const bad = fixture('chrony/tracking-synchronised.txt').replace('fast of NTP time', 'sideways');
    expect(() => parseChronyTracking(bad)).toThrow(/System time/);
  });
});

describe('timedatectl', () => {
  it('reads NTPSynchronized with and without --value', () => {
    expect(parseNtpSynchronized('yes\n')).toBe(true);
    expect(parseNtpSynchronized('no\n')).toBe(false);
    expect(parseNtpSynchronized('NTPSynchronized=yes\n')).toBe(true);
  });

  it('rejects anything but yes/no', () => {
    expect(() => parseNtpSynchronized('')).toThrow(ParseError);
    expect(() => parseNtpSynchronized('maybe')).toThrow(ParseError);
    expect(() => parseNtpSynchronized('yes\nno\n')).toThrow(ParseError);
  });

  it('reads the two documented timedatectl status lines, aligned or not', () => {
    const plain = 'System clock synchronized: yes\nNTP service: active\n';
    expect(parseTimedatectlStatus(plain)).toEqual({
      systemClockSynchronized: true,
      ntpService: 'active',
      fields: { 'System clock synchronized': 'yes', 'NTP service': 'active' },
    });
    const aligned = 'System clock synchronized: no\n              NTP service: inactive\n';
    expect(parseTimedatectlStatus(aligned)).toMatchObject({ systemClockSynchronized: false, ntpService: 'inactive' });
  });

  it('throws when the synchronized line is missing', () => {
    expect(() => parseTimedatectlStatus('NTP service: active\n')).toThrow(/System clock synchronized/);
    expect(() => parseTimedatectlStatus('System clock synchronized: perhaps\n')).toThrow(ParseError);
  });
});
