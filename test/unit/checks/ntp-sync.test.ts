import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario, sample } from './scenario.js';

// reference §7.1: the unsynchronised shape of chronyc tracking
const UNSYNCED = [
  'Reference ID    : 00000000 ()',
  'Stratum         : 0',
  'Ref time (UTC)  : Thu Jan 01 00:00:00 1970',
  'System time     : 0.000000000 seconds fast of NTP time',
  'Last offset     : +0.000000000 seconds',
  'RMS offset      : 0.000000000 seconds',
  'Frequency       : 0.000 ppm slow',
  'Residual freq   : +0.000 ppm',
  'Skew            : 0.000 ppm',
  'Root delay      : 1.000000000 seconds',
  'Root dispersion : 1.000000000 seconds',
  'Update interval : 0.0 seconds',
  'Leap status     : Not synchronised',
  '',
].join('\n');
const DAEMON_DOWN = { exitCode: 1, stdout: '506 Cannot talk to daemon\n' };

async function ntp(sections: Record<string, unknown>) {
  const r = await runScenario({ nodes: inventoryNodes(1), node: { pve1: { sections } } });
  return of(r, 'ntp-sync')[0];
}

describe('ntp-sync check', () => {
  it('passes when chrony is synchronised', async () => {
    expect(await ntp({})).toEqual({ id: 'ntp-sync', node: 'pve1', status: 'ok', message: 'chrony is synchronised to chablis.fnal.gov (offset +0.000 s)' });
  });

  it('fails when chrony is not synchronised', async () => {
    const f = await ntp({ chrony: { stdout: UNSYNCED } });
    expect(f).toMatchObject({ status: 'fail', message: 'chrony is not synchronised (Leap status: Not synchronised)' });
    expect(f?.hint).toMatch(/chronyc sources/);
  });

  it('warns when chrony is synchronised but the clock is still far off', async () => {
    const fast = sample('pve/chrony/tracking-synchronised.txt').replace('0.000004709 seconds fast', '2.499995000 seconds fast');
    expect(await ntp({ chrony: { stdout: fast } })).toMatchObject({ status: 'warn', message: 'chrony is synchronised to chablis.fnal.gov, but the clock is still +2.50 s off NTP time' });
  });

  it('falls back to timedatectl when chronyd is down', async () => {
    expect(await ntp({ chrony: DAEMON_DOWN, timedatectl: { stdout: 'yes\n' } })).toMatchObject({
      status: 'ok',
      message: 'timedatectl reports the clock synchronised (chronyd is not running: chronyc says 506 Cannot talk to daemon)',
    });
    expect(await ntp({ chrony: DAEMON_DOWN, timedatectl: { stdout: 'no\n' } })).toMatchObject({ status: 'fail' });
  });

  it('fails when chronyd is down and timedatectl cannot answer', async () => {
    const f = await ntp({ chrony: DAEMON_DOWN, timedatectl: { exitCode: 1, stderr: 'System has not been booted with systemd as init system (PID 1). Can\'t operate.\n' } });
    expect(f?.status).toBe('fail');
    expect(f?.message).toMatch(/^the clock is not known to be synchronised: chronyd is not running: chronyc says 506 Cannot talk to daemon; timedatectl failed: System has not been booted/);
    expect(f?.hint).toMatch(/systemctl enable --now chrony/);
  });

  it('warns when neither tool is installed', async () => {
    const f = await ntp({ chrony: { exitCode: 127, stderr: 'sh: chronyc: not found\n' }, timedatectl: { exitCode: 127, stderr: 'sh: timedatectl: not found\n' } });
    expect(f).toMatchObject({ status: 'warn', message: 'cannot tell whether the clock is synchronised: neither chronyc nor timedatectl is installed', hint: 'install chrony, the NTP client PVE uses: apt install chrony' });
  });

  it('uses timedatectl where chrony is not installed', async () => {
    expect(await ntp({ chrony: { exitCode: 127 }, timedatectl: { stdout: 'yes\n' } })).toMatchObject({ status: 'ok' });
  });

  it('warns on garbage from chronyc or timedatectl', async () => {
    const a = await ntp({ chrony: { stdout: 'Reference ID: ??\n' } });
    expect(a?.status).toBe('warn');
    expect(a?.message).toMatch(/chronyc tracking printed something unexpected/);
    const b = await ntp({ chrony: DAEMON_DOWN, timedatectl: { stdout: 'maybe\n' } });
    expect(b?.status).toBe('warn');
    expect(b?.message).toMatch(/timedatectl printed something unexpected/);
  });
});
