import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario } from './scenario.js';

const GUESTS = '/etc/pve/nodes/pve2/qemu-server/100.conf web01\n/etc/pve/nodes/pve2/lxc/101.conf db\n/etc/pve/nodes/pve2/qemu-server/102.conf \n';

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
    expect(r.nodeFacts.get('pve2')?.guests).toEqual({ ok: true, value: [{ vmid: 100, type: 'qemu', name: 'web01' }, { vmid: 101, type: 'lxc', name: 'db' }, { vmid: 102, type: 'qemu' }] });
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
