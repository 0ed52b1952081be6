import { describe, expect, it } from 'vitest';
import { readJoinInfoSettled } from '../../../src/facts/join-info.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { fakeTiming, fp, joinInfoJson } from '../workflows/cluster-plans.helpers.js';

const argv = ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'];
// what PVE prints while a member's certificate has not reached this node's /etc/pve
const missingCert = { exitCode: 2, stderr: "unable to read '/etc/pve/nodes/pve2/pve-ssl.pem' - No such file or directory\n" };
const members = [
  { name: 'pve1', address: '10.0.0.1', fp: fp('ab') },
  { name: 'pve2', address: '10.0.0.2', fp: fp('cd') },
];

describe('readJoinInfoSettled', () => {
  it('reads again while a member that has just joined has no certificate here yet', async () => {
    const timing = fakeTiming();
    const t = new FakeTransport([
      { node: 'pve1', argv, result: missingCert },
      { node: 'pve1', argv, result: missingCert },
      { node: 'pve1', argv, result: { stdout: joinInfoJson('lab', members) } },
    ]);
    const r = await readJoinInfoSettled(t, 'pve1', timing);
    t.verify();
    if (!('info' in r)) throw new Error(r.problem);
    expect(r.info.nodes.map((n) => n.name)).toEqual(['pve1', 'pve2']);
    expect(timing.slept).toBe(2 * timing.pollMs);
  });
  it('gives up after the settle time with what PVE said', async () => {
    const timing = fakeTiming();
    const t = new FakeTransport([{ node: 'pve1', argv, result: missingCert, repeat: true }]);
    const r = await readJoinInfoSettled(t, 'pve1', timing);
    expect(r).toEqual({ problem: "unable to read '/etc/pve/nodes/pve2/pve-ssl.pem' - No such file or directory", failed: true });
    expect(timing.now()).toBeLessThanOrEqual(timing.settleTimeoutMs);
    expect(t.calls.length).toBeGreaterThan(1);
  });
  it('does not read again output it cannot parse: that will not change', async () => {
    const timing = fakeTiming();
    const t = new FakeTransport([{ node: 'pve1', argv, result: { stdout: 'not json' }, repeat: true }]);
    const r = await readJoinInfoSettled(t, 'pve1', timing);
    expect(r).toMatchObject({ failed: false });
    expect(t.calls).toHaveLength(1);
    expect(timing.slept).toBe(0);
  });
});
