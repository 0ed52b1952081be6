import { describe, expect, it } from 'vitest';
import { cfgtool, corosyncConf, inventoryNodes, of, quorumtool, runScenario } from './scenario.js';

describe('node-names check', () => {
  it('passes valid, unique names that match the inventory', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2) });
    expect(of(r, 'node-names')[0]).toEqual({ id: 'node-names', node: 'pve1', status: 'ok', message: "'pve1' is a valid node name and unique" });
  });

  it('fails a node whose hostname is not its inventory name', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), node: { pve2: { sections: { hostname: { stdout: 'pve-b\n' } } } } });
    expect(of(r, 'node-names')[1]).toMatchObject({ status: 'fail', message: "the node calls itself 'pve-b', but the inventory names it 'pve2'" });
  });

  it('fails an invalid hostname', async () => {
    const r = await runScenario({ nodes: inventoryNodes(1), node: { pve1: { sections: { hostname: { stdout: 'pve_1\n' } } } } });
    expect(of(r, 'node-names')[0]?.status).toBe('fail');
    expect(of(r, 'node-names')[0]?.message).toMatch(/node name 'pve_1' is invalid/);
  });

  it('fails two nodes with the same hostname', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), node: { pve2: { sections: { hostname: { stdout: 'pve1\n' } } } } });
    expect(of(r, 'node-names')[0]).toMatchObject({ status: 'fail', message: "pve1 and pve2 both call themselves 'pve1'" });
  });

  it('fails a joining node whose name the cluster already has', async () => {
    const nodes = inventoryNodes(2);
    const members = [{ name: 'pve1', nodeid: 1, address: '10.77.13.11' }, { name: 'pve2', nodeid: 2, address: '10.77.13.99' }];
    const r = await runScenario({
      nodes,
      spec: { purpose: 'join', existingMember: nodes[0] },
      node: {
        pve1: {
          sections: {
            files: { stdout: '/etc/pve/corosync.conf\n/etc/corosync/authkey\n' },
            conf: { stdout: corosyncConf('prod', members) },
            cfgtool: { stdout: cfgtool(1, '10.77.13.11', [{ nodeid: 1, state: '' }, { nodeid: 2, state: 'disconnected' }]) },
            quorum: { exitCode: 2, stdout: quorumtool({ local: 1, members: [{ nodeid: 1, address: '10.77.13.11' }], expected: 2 }) },
          },
        },
      },
    });
    expect(of(r, 'node-names')[1]).toMatchObject({ node: 'pve2', peer: 'pve1', status: 'fail', message: "cluster 'prod' already has a node named 'pve2'" });
  });

  it('warns when the name cannot be read', async () => {
    const r = await runScenario({ nodes: inventoryNodes(1), node: { pve1: { sections: { hostname: { stdout: 'two words\n' } } } } });
    expect(of(r, 'node-names')[0]?.status).toBe('warn');
  });
});
