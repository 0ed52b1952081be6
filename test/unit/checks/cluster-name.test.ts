import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario } from './scenario.js';
import { clusterMember } from './members.js';

const P1 = [{ name: 'pve1', nodeid: 1, address: '10.77.13.11' }];
const P2 = [{ name: 'pve2', nodeid: 1, address: '10.77.13.12' }];

describe('cluster-name check', () => {
  it('passes a valid, unused name for create', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create', clusterName: 'prod-1' } });
    expect(of(r, 'cluster-name')).toEqual([{ id: 'cluster-name', node: 'pve1', status: 'ok', message: "'prod-1' is a valid cluster name that none of the nodes uses yet" }]);
  });

  it('fails an invalid or too long name', async () => {
    const r = await runScenario({ nodes: inventoryNodes(1), spec: { purpose: 'create', clusterName: 'a-very-long-cluster' } });
    expect(of(r, 'cluster-name')[0]).toMatchObject({ status: 'fail', message: "cluster name 'a-very-long-cluster' is 19 characters long; Proxmox allows at most 15" });
  });

  it('fails when another node already has a cluster of that name', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create', clusterName: 'prod' }, node: { pve2: clusterMember('prod', 1, P2) } });
    expect(of(r, 'cluster-name')[0]).toMatchObject({ status: 'fail', message: "pve2 already belong(s) to a cluster named 'prod'; a second cluster of that name would clash on the network" });
  });

  it('continues a cluster the creating node already has', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create', clusterName: 'prod' }, node: { pve1: clusterMember('prod', 1, P1) } });
    expect(of(r, 'cluster-name')[0]).toMatchObject({ status: 'ok', message: "cluster 'prod' already exists on pve1; create continues it" });
  });

  it("compares the member's cluster with the name given for a join", async () => {
    const nodes = inventoryNodes(2);
    const r = await runScenario({ nodes, spec: { purpose: 'join', clusterName: 'other', existingMember: nodes[0] }, node: { pve1: clusterMember('prod', 1, P1) } });
    expect(of(r, 'cluster-name')[0]).toMatchObject({ node: 'pve1', status: 'fail', message: "pve1 is in cluster 'prod', not 'other'" });
  });

  it('does not run without a name', async () => {
    const r = await runScenario({ nodes: inventoryNodes(1), spec: { purpose: 'create' } });
    expect(of(r, 'cluster-name')).toEqual([]);
  });

  it('is not run when the creating node is unreachable', async () => {
    const r = await runScenario({ nodes: inventoryNodes(1), spec: { purpose: 'create', clusterName: 'prod' }, node: { pve1: { unreachable: true } } });
    expect(of(r, 'cluster-name')[0]?.status).toBe('skip');
  });
});
