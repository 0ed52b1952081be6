import { describe, expect, it } from 'vitest';
import { factsArgv } from '../../../src/facts/preflight/script.js';
import { inventoryNodes, runScenario, statuses } from './scenario.js';

describe('preflight on healthy nodes', () => {
  it('passes every general check on three standalone nodes', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3) });
    const bad = r.findings.filter((f) => f.status !== 'ok');
    expect(bad).toEqual([]);
    expect(r.checks.map((c) => c.id)).toEqual(['ssh', 'node-names', 'pve-version', 'ntp-sync', 'clock-skew', 'hostname-resolution', 'udp-corosync', 'link-latency']);
    // 6 ordered pairs, 3 unordered
    expect(statuses(r.findings.filter((f) => f.id === 'udp-corosync'))).toEqual({ ok: 6 });
    expect(statuses(r.findings.filter((f) => f.id === 'link-latency'))).toEqual({ ok: 3 });
  });

  it('reads each node once and probes once: two rounds, no more commands', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3) });
    const perNode = new Map<string, string[]>();
    for (const c of r.transport.calls) perNode.set(c.node, [...(perNode.get(c.node) ?? []), c.argv[0] ?? '']);
    expect([...perNode.values()]).toEqual([
      ['sh', 'date', 'perl'],
      ['sh', 'date', 'perl'],
      ['sh', 'date', 'perl'],
    ]);
    expect(r.transport.calls.every((c) => !c.opts.mutates)).toBe(true);
    expect(factsArgv()[0]).toBe('sh');
  });

  it('passes every create check and learns the facts create needs', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3), spec: { purpose: 'create', clusterName: 'prod' } });
    expect(r.findings.filter((f) => f.status !== 'ok')).toEqual([]);
    expect(r.roles).toEqual({ creator: 'pve1', targetCluster: 'prod', joining: ['pve2', 'pve3'], alreadyMembers: [] });
    const f = r.nodeFacts.get('pve2');
    expect(f?.pve.ok && f.pve.value.manager.version).toBe('9.1.7');
    expect(f?.link0).toBe('10.77.13.12');
    expect(f?.corosyncRunning).toBe(false);
    expect(f?.cluster).toEqual({ ok: true, value: null });
    expect(f?.guests).toEqual({ ok: true, value: [] });
  });
});
