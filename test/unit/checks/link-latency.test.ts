import { describe, expect, it } from 'vitest';
import { COROSYNC_PORTS } from '../../../src/facts/preflight/udp-probe.js';
import { inventoryNodes, of, runScenario, statuses } from './scenario.js';

describe('link-latency check', () => {
  it('passes a LAN round trip, once per pair of nodes', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3), rttMs: 0.21 });
    const f = of(r, 'link-latency');
    expect(f.map((x) => `${x.node}-${x.peer}`)).toEqual(['pve1-pve2', 'pve1-pve3', 'pve2-pve3']);
    expect(f[0]).toEqual({ id: 'link-latency', node: 'pve1', peer: 'pve2', status: 'ok', message: 'link0 round trip pve1 ↔ pve2 is 0.21 ms' });
  });

  it('warns above 5 ms, and the limit is settable', async () => {
    const slow = await runScenario({ nodes: inventoryNodes(2), rttMs: 7.25 });
    expect(of(slow, 'link-latency')[0]).toMatchObject({ status: 'warn', message: 'link0 round trip pve1 ↔ pve2 is 7.3 ms, more than 5 ms' });
    const tight = await runScenario({ nodes: inventoryNodes(2), rttMs: 1.5, spec: { thresholds: { latencyWarnMs: 1 } } });
    expect(of(tight, 'link-latency')[0]?.status).toBe('warn');
  });

  it('is not measured when no echo came back in either direction', async () => {
    const blocks = COROSYNC_PORTS.flatMap((port) => [
      { from: 'pve1', to: 'pve2', port },
      { from: 'pve2', to: 'pve1', port },
    ]);
    const r = await runScenario({ nodes: inventoryNodes(2), blocks });
    expect(of(r, 'link-latency')).toEqual([{ id: 'link-latency', node: 'pve1', peer: 'pve2', status: 'skip', message: 'not measured: no echo came back (see udp-corosync)' }]);
    expect(statuses(of(r, 'udp-corosync'))).toEqual({ fail: 16 });
  });

  it('is not run for a pair with an unreachable node', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), node: { pve2: { unreachable: true } } });
    expect(of(r, 'link-latency')[0]).toMatchObject({ status: 'skip', message: 'not run: pve2 could not be reached over SSH' });
  });
});
