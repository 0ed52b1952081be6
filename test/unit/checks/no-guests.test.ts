import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario } from './scenario.js';

const GUESTS = '/etc/pve/nodes/pve2/qemu-server/100.conf web01\n/etc/pve/nodes/pve2/lxc/101.conf db\n/etc/pve/nodes/pve2/qemu-server/102.conf \n';
// what a node keeps of its old cluster after a separation: the other nodes' folders (reference §2.3)
const STALE = '/etc/pve/nodes/pve1/qemu-server/200.conf web\n/etc/pve/nodes/old3/lxc/301.conf \n';

describe('no-guests check', () => {
  it('passes joining nodes without guests and does not look at the creating node', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' }, node: { pve1: { sections: { guests: { stdout: '/etc/pve/nodes/pve1/qemu-server/100.conf web\n' } } } } });
    expect(of(r, 'no-guests')).toEqual([{ id: 'no-guests', node: 'pve2', status: 'ok', message: 'no VMs or containers' }]);
  });

  it('fails a joining node with guests, lists them and says how to move them', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' }, node: { pve2: { sections: { guests: { stdout: GUESTS } } } } });
    expect(of(r, 'no-guests')).toEqual([
      {
        id: 'no-guests',
        node: 'pve2',
        status: 'fail',
        message: 'has 3 guest(s): VM 100 (web01), CT 101 (db), VM 102; a node with guests cannot join',
        hint: 'back them up (vzdump 100 101 102 --storage <storage>), remove them, join, then restore under free IDs (qmrestore <archive> <newid>, pct restore <newid> <archive>)',
      },
    ]);
    expect(r.nodeFacts.get('pve2')?.guests).toEqual({
      ok: true,
      value: [
        { vmid: 100, type: 'qemu', name: 'web01', node: 'pve2', path: '/etc/pve/nodes/pve2/qemu-server/100.conf' },
        { vmid: 101, type: 'lxc', name: 'db', node: 'pve2', path: '/etc/pve/nodes/pve2/lxc/101.conf' },
        { vmid: 102, type: 'qemu', node: 'pve2', path: '/etc/pve/nodes/pve2/qemu-server/102.conf' },
      ],
    });
  });

  it('fails a joining node that holds other nodes\' guest configurations, as pvecm add counts them, naming each file and the fix', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' }, node: { pve2: { sections: { guests: { stdout: STALE } } } } });
    expect(of(r, 'no-guests')).toEqual([
      {
        id: 'no-guests',
        node: 'pve2',
        status: 'fail',
        message:
          'holds 2 guest configuration(s) in the folders of other nodes, left from an earlier cluster: /etc/pve/nodes/pve1/qemu-server/200.conf (VM 200 (web)), /etc/pve/nodes/old3/lxc/301.conf (CT 301); ' +
          "pvecm add counts every guest configuration under /etc/pve/nodes/ and refuses ('this host already contains virtual guests')",
        hint: 'those guests belong to old3 and pve1, not to pve2: on pve2, keep a copy and remove the folders: tar czf /root/stale-nodes.tar.gz /etc/pve/nodes/old3 /etc/pve/nodes/pve1 && rm -r /etc/pve/nodes/old3 /etc/pve/nodes/pve1',
      },
    ]);
  });

  it('reports the node\'s own guests and the stale ones apart; its own folder is the one named after its hostname', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(2),
      spec: { purpose: 'join', existingMember: inventoryNodes(2)[0] },
      node: { pve2: { sections: { hostname: { stdout: 'pve2\n' }, guests: { stdout: `/etc/pve/nodes/pve2/lxc/101.conf db\n${STALE}` } } } },
    });
    expect(of(r, 'no-guests').map((f) => f.message.split(':')[0])).toEqual(['has 1 guest(s)', 'holds 2 guest configuration(s) in the folders of other nodes, left from an earlier cluster']);
  });

  it('leaves out files pmxcfs does not count (not <vmid>.conf, or a folder not named like a node)', async () => {
    const ignored = '/etc/pve/nodes/pve1/qemu-server/template.conf \n/etc/pve/nodes/pve1/qemu-server/0100.conf \n/etc/pve/nodes/-x/lxc/300.conf \n';
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' }, node: { pve2: { sections: { guests: { stdout: ignored } } } } });
    expect(of(r, 'no-guests')).toEqual([{ id: 'no-guests', node: 'pve2', status: 'ok', message: 'no VMs or containers' }]);
  });

  it('counts a container config an old PVE left under openvz/, as pmxcfs does', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' }, node: { pve2: { sections: { guests: { stdout: '/etc/pve/nodes/pve2/openvz/150.conf \n' } } } } });
    expect(of(r, 'no-guests')[0]).toMatchObject({ status: 'fail', message: 'has 1 guest(s): CT 150; a node with guests cannot join' });
  });

  it('warns when the guest list is garbage or missing', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' }, node: { pve2: { sections: { guests: { stdout: 'ls: cannot access\n' } } } } });
    expect(of(r, 'no-guests')[0]?.status).toBe('warn');
    const m = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'create' }, node: { pve2: { sections: { guests: undefined } } } });
    expect(of(m, 'no-guests')[0]).toMatchObject({ status: 'warn', message: 'could not list the guests: guest configs printed nothing (the read did not finish)' });
  });

  it('does not run for general preflight', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), node: { pve2: { sections: { guests: { stdout: GUESTS } } } } });
    expect(of(r, 'no-guests')).toEqual([]);
  });
});
