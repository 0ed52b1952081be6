/**
 * The PVX_* variables through the CLI: a bad value fails the command that uses it with exit 2,
 * and a flag that replaces it, or a run that never gets to it, does not look at it.
 */
import { describe, expect, it } from 'vitest';
import { FakeTransport } from '../helpers/fake-transport.js';
import { runInProcess } from '../helpers/run-cli.js';

const NO_CONFIG = { XDG_CONFIG_HOME: '/nonexistent' };

describe('PVX_* variables on the command line', () => {
  it('a PVX_CONNECT_TIMEOUT that is not a positive whole number fails a command with exit 2', async () => {
    const r = await runInProcess(['--json', 'cluster', 'status'], undefined, { env: { ...NO_CONFIG, PVX_CONNECT_TIMEOUT: '2.5' } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'USAGE', message: "PVX_CONNECT_TIMEOUT must be a positive whole number, got '2.5'" });
  });

  it('--connect-timeout replaces PVX_CONNECT_TIMEOUT, which is then not checked', async () => {
    const r = await runInProcess(['--connect-timeout', '3', 'cluster', 'status'], undefined, { env: { ...NO_CONFIG, PVX_CONNECT_TIMEOUT: 'soon' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no inventory');
    expect(r.stderr).not.toContain('PVX_CONNECT_TIMEOUT');
  });

  it('--help runs no command, so bad values are not looked at', async () => {
    const r = await runInProcess(['cluster', 'status', '--help'], undefined, { env: { PVX_CONNECT_TIMEOUT: 'soon', PVX_TEARDOWN_HOLD: 'nowhere' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('a bad PVX_TEARDOWN_HOLD fails only cluster teardown', async () => {
    const t = new FakeTransport([]);
    const r = await runInProcess(['cluster', 'status'], t, { env: { ...NO_CONFIG, PVX_TEARDOWN_HOLD: 'pve2' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no inventory');
    expect(r.stderr).not.toContain('PVX_TEARDOWN_HOLD');
    t.verify();
  });

  it('PVX_INVENTORY naming a missing file says to check it (exit 2)', async () => {
    const r = await runInProcess(['cluster', 'status'], undefined, { env: { PVX_INVENTORY: '/nonexistent/pvx.yaml' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('inventory file /nonexistent/pvx.yaml does not exist');
    expect(r.stderr).toContain('check PVX_INVENTORY, or unset it');
  });
});
