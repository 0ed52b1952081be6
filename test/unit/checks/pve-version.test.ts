import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario, sample } from './scenario.js';

const PVE8 = sample('pve/pveversion/pve8.4.11-verbose.txt');
const PVE9 = sample('pve/pveversion/pve9.1.7-verbose.txt');

describe('pve-version check', () => {
  it('passes when every node runs the same packages', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2) });
    expect(of(r, 'pve-version')).toEqual([
      { id: 'pve-version', node: 'pve1', status: 'ok', message: 'runs pve-manager 9.1.7' },
      { id: 'pve-version', node: 'pve2', status: 'ok', message: 'runs pve-manager 9.1.7, same packages as pve1' },
    ]);
  });

  it('fails the node whose release differs from the majority and says which way to upgrade', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3), node: { pve2: { sections: { pveversion: { stdout: PVE8 } } } } });
    const f = of(r, 'pve-version');
    expect(f.map((x) => x.status)).toEqual(['ok', 'fail', 'ok']);
    expect(f[1]).toEqual({
      id: 'pve-version',
      node: 'pve2',
      peer: 'pve1',
      status: 'fail',
      message: 'runs pve-manager 8.4.11, but pve1 runs 9.1.7: the PVE release (8.4 vs 9.1) must match',
      hint: 'upgrade pve2 to PVE 9.1 (apt update && apt full-upgrade) before clustering',
    });
  });

  it("takes the member's release as the reference when joining", async () => {
    const nodes = inventoryNodes(2);
    const r = await runScenario({
      nodes,
      spec: { purpose: 'join', existingMember: nodes[1] },
      node: { pve2: { sections: { pveversion: { stdout: PVE8 } } } },
    });
    expect(of(r, 'pve-version')[0]).toMatchObject({ node: 'pve1', status: 'fail', peer: 'pve2' });
    expect(of(r, 'pve-version')[0]?.hint).toMatch(/upgrade pve2 \(and the other nodes\) to PVE 9.1/);
  });

  it('warns about other package differences within the same release, naming them', async () => {
    const older = PVE9.replace('corosync: 3.1.10-pve2', 'corosync: 3.1.9-pve2').replace('qemu-server: 9.1.6', 'qemu-server: 9.1.5');
    const r = await runScenario({ nodes: inventoryNodes(2), node: { pve2: { sections: { pveversion: { stdout: older } } } } });
    expect(of(r, 'pve-version')[1]).toMatchObject({
      status: 'warn',
      peer: 'pve1',
      message: 'runs pve-manager 9.1.7 like pve1, but 2 package version(s) differ: corosync 3.1.9-pve2 (pve1: 3.1.10-pve2), qemu-server 9.1.5 (pve1: 9.1.6)',
    });
  });

  it('ignores kernel packages: a node that has not rebooted yet is fine', async () => {
    const newer = PVE9.replace('proxmox-kernel-6.17.13-2-pve-signed: 6.17.13-2\n', '');
    const r = await runScenario({ nodes: inventoryNodes(2), node: { pve2: { sections: { pveversion: { stdout: newer } } } } });
    expect(of(r, 'pve-version')[1]?.status).toBe('ok');
  });

  it('fails when pveversion is missing (not a PVE node) or prints garbage', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(3),
      node: {
        pve2: { sections: { pveversion: { exitCode: 127, stderr: 'sh: 1: pveversion: not found\n' } } },
        pve3: { sections: { pveversion: { stdout: 'Segmentation fault\n' } } },
      },
    });
    const f = of(r, 'pve-version');
    expect(f[1]).toMatchObject({ status: 'fail', message: 'pveversion is not installed: pve2 does not look like a Proxmox VE node' });
    expect(f[2]?.status).toBe('fail');
    expect(f[2]?.message).toMatch(/^could not read the PVE version: pveversion -v printed something unexpected: pveversion: no 'pve-manager' version found/);
    expect(f[0]?.status).toBe('ok');
  });
});
