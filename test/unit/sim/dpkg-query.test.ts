/** The lab's dpkg-query: the node's PVE packages as dpkg-query prints installed packages; the rest from the host. */
import { describe, expect, it } from 'vitest';
import { dpkgQuery } from '../../../src/lab/sim/tools/dpkg-query.js';
import { recordingCtx } from './ctx.js';

async function query(args: string[], pveVersion: string): Promise<{ code: number; out: string; err: string }> {
  const r = recordingCtx({ pveVersion });
  const code = await dpkgQuery.run(args, r.ctx);
  return { code, out: r.out(), err: r.err() };
}

describe('dpkg-query on a lab node', () => {
  it("pve-manager's state and version, as pveversion -v lists it on that release", async () => {
    expect(await query(['-W', '-f', '${db:Status-Status} ${Version}\\n', 'pve-manager'], '9.1.7')).toEqual({ code: 0, out: 'installed 9.1.7\n', err: '' });
    expect(await query(['--show', '--showformat=${Package} ${Version}\\n', 'pve-manager', 'corosync'], '8.4.11')).toEqual({ code: 0, out: 'pve-manager 8.4.11\ncorosync 3.1.9-pve1\n', err: '' });
  });

  it("the default format is dpkg-query's: name, a tab, the version", async () => {
    expect((await query(['-W', 'pve-cluster'], '9.1.7')).out).toBe('pve-cluster\t9.1.1\n');
  });

  it("a package that is not PVE's is the host's answer (here: dpkg itself, installed)", async () => {
    const r = await query(['-W', '-f', '${db:Status-Status} ${Version}\\n', 'dpkg'], '9.1.7');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^installed \S+\n$/);
  });

  it('an unknown package is refused the way dpkg-query refuses it', async () => {
    const r = await query(['-W', 'no-such-package-pvx'], '9.1.7');
    expect(r.code).toBe(1);
    expect(r.err).toBe('dpkg-query: no packages found matching no-such-package-pvx\n');
  });
});
