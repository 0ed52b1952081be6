import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario } from './scenario.js';
import { clusterMember } from './members.js';

const create = { purpose: 'create' as const, clusterName: 'prod' };

describe('not-clustered check', () => {
  it('passes standalone nodes', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: create });
    expect(of(r, 'not-clustered')[1]).toEqual({ id: 'not-clustered', node: 'pve2', status: 'ok', message: 'not in a cluster: no corosync.conf, no authkey, corosync stopped' });
  });

  it('fails a node in another cluster', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(2),
      spec: create,
      node: { pve2: clusterMember('other', 1, [{ name: 'pve2', nodeid: 1, address: '10.77.13.12' }]) },
    });
    const f = of(r, 'not-clustered')[1];
    expect(f).toMatchObject({ status: 'fail', message: "already in cluster 'other' (/etc/pve/corosync.conf exists, /etc/corosync/authkey exists and corosync is running)" });
    expect(f?.hint).toMatch(/pvecm delnode pve2/);
  });

  it('reports a node already in the target cluster as such, so create and join skip it', async () => {
    const members = [{ name: 'pve1', nodeid: 1, address: '10.77.13.11' }];
    const r = await runScenario({ nodes: inventoryNodes(2), spec: create, node: { pve1: clusterMember('prod', 1, members) } });
    expect(of(r, 'not-clustered')[0]).toMatchObject({ status: 'ok', message: "already a member of cluster 'prod'; create skips it" });
    expect(r.roles.alreadyMembers).toEqual(['pve1']);
    expect(r.roles.joining).toEqual(['pve2']);
  });

  it('fails a leftover authkey on a joining node but only warns on the creating one', async () => {
    const authkey = { sections: { files: { stdout: '/etc/corosync/authkey\n' } } };
    const r = await runScenario({ nodes: inventoryNodes(2), spec: create, node: { pve1: authkey, pve2: authkey } });
    const f = of(r, 'not-clustered');
    expect(f[0]).toMatchObject({ status: 'warn', message: 'a leftover /etc/corosync/authkey exists; pvecm create will reuse it' });
    expect(f[1]).toMatchObject({ status: 'fail', message: 'a leftover /etc/corosync/authkey exists; pvecm add refuses to join while it does', hint: 'if this node is in no cluster, remove it: rm /etc/corosync/authkey' });
  });

  it('fails a running corosync without a PVE cluster config', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(1),
      spec: create,
      node: { pve1: { sections: { cfgtool: { stdout: 'Local node ID 1, transport knet\nLINK ID 0 udp\n\taddr\t= 10.77.13.11\n\tstatus:\n\t\tnodeid:          1:\tlocalhost\n' } } } },
    });
    expect(of(r, 'not-clustered')[0]).toMatchObject({ status: 'fail', message: 'corosync is running: is this node already in a cluster?' });
  });

  it('ignores the example /etc/corosync/corosync.conf that Debian ships while corosync is stopped', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(1),
      spec: create,
      node: { pve1: { sections: { files: { stdout: '/etc/corosync/corosync.conf\n' }, localconf: { stdout: 'totem {\n  version: 2\n  cluster_name: debian\n  config_version: 0\n}\n' } } } },
    });
    expect(of(r, 'not-clustered')[0]?.status).toBe('ok');
  });

  it('fails when the cluster config is garbage, and warns when nothing could be listed', async () => {
    const bad = await runScenario({
      nodes: inventoryNodes(1),
      spec: create,
      node: { pve1: { sections: { files: { stdout: '/etc/pve/corosync.conf\n' }, conf: { stdout: 'totem { version: 2 }\n' } } } },
    });
    expect(of(bad, 'not-clustered')[0]?.status).toBe('fail');
    expect(of(bad, 'not-clustered')[0]?.message).toMatch(/^\/etc\/pve\/corosync.conf exists, and \/etc\/pve\/corosync.conf printed something unexpected/);
    const missing = await runScenario({ nodes: inventoryNodes(1), spec: create, node: { pve1: { sections: { files: undefined } } } });
    expect(of(missing, 'not-clustered')[0]?.status).toBe('warn');
  });
});
