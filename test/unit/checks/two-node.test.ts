import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario } from './scenario.js';
import { clusterMember } from './members.js';

describe('two-node check', () => {
  it('warns when create would make a two-vote cluster and suggests a QDevice', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' } });
    const [f] = of(r, 'two-node');
    expect(f).toMatchObject({ node: 'pve1', peer: 'pve2', status: 'warn' });
    expect(f?.hint).toMatch(/pvx cluster qdevice add <its IP>/);
  });

  it('passes three votes', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3), spec: { purpose: 'create' } });
    expect(of(r, 'two-node')).toEqual([{ id: 'two-node', node: 'pve1', status: 'ok', message: 'the cluster would have 3 vote(s)' }]);
  });

  it('counts the existing votes when joining', async () => {
    const one = [{ name: 'pve1', nodeid: 1, address: '10.77.13.11' }];
    const nodes = inventoryNodes(2);
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: clusterMember('solo', 1, one) } });
    expect(of(r, 'two-node')[0]).toMatchObject({ node: 'pve1', peer: 'pve2', status: 'warn' });
    const two = [...one, { name: 'pve9', nodeid: 2, address: '10.77.13.19' }];
    const r3 = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: clusterMember('duo', 1, two) } });
    expect(of(r3, 'two-node')[0]).toMatchObject({ status: 'ok', message: 'the cluster would have 3 vote(s)' });
  });

  it('says nothing when the member could not be read', async () => {
    const nodes = inventoryNodes(2);
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: { unreachable: true } } });
    expect(of(r, 'two-node')).toEqual([]);
  });
});
