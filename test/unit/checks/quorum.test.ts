import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { corosyncConf, inventoryNodes, of, quorumtool, runScenario } from './scenario.js';
import { clusterMember } from './members.js';

const M = [
  { name: 'pve1', nodeid: 1, address: '10.77.13.11' },
  { name: 'pve5', nodeid: 2, address: '10.77.13.15' },
  { name: 'pve6', nodeid: 3, address: '10.77.13.16' },
];

describe('quorum check', () => {
  it('passes a quorate cluster to join', async () => {
    const nodes = inventoryNodes(2);
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: clusterMember('prod', 1, M) } });
    expect(of(r, 'quorum')).toEqual([{ id: 'quorum', node: 'pve1', status: 'ok', message: "cluster 'prod' is quorate: 3 of 3 votes, quorum 2" }]);
  });

  it('finds the member itself when none is named', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'join' }, node: { pve1: clusterMember('prod', 1, M) } });
    expect(r.roles).toEqual({ member: 'pve1', targetCluster: 'prod', joining: ['pve2'], alreadyMembers: [] });
    expect(of(r, 'quorum')[0]?.status).toBe('ok');
  });

  it('fails a cluster that is not quorate', async () => {
    const nodes = inventoryNodes(2);
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: clusterMember('prod', 1, M, { present: [1] }) } });
    const f = of(r, 'quorum')[0];
    expect(f).toMatchObject({ status: 'fail', message: "cluster 'prod' is not quorate as pve1 sees it: 1 of 3 votes, quorum 2" });
    expect(f?.hint).toMatch(/cluster not ready - no quorum\?/);
  });

  it('fails a join into a cluster with a QDevice (pvecm.adoc: remove it before adding a node), naming the command to run first', async () => {
    const nodes = inventoryNodes(2);
    // the device is running: pvecm status shows its flag and row
    const live = clusterMember('prod', 1, M, { qdevice: true });
    live.sections = { ...live.sections, conf: { stdout: corosyncConf('prod', M, { qdevice: { host: '10.77.13.50' } }) } };
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: live } });
    expect(of(r, 'quorum')).toEqual([
      { id: 'quorum', node: 'pve1', status: 'ok', message: "cluster 'prod' is quorate: 4 of 4 votes, quorum 3" },
      {
        id: 'quorum',
        node: 'pve1',
        status: 'fail',
        message: `cluster 'prod' has a QDevice (QNetd host 10.77.13.50): Proxmox asks to remove it before a node is added (pvecm.adoc, "Adding/Deleting Nodes After QDevice Setup")`,
        hint: 'pvx cluster qdevice remove (every node must be online), then join; afterwards, with an even node count, add it again: pvx cluster qdevice add 10.77.13.50',
      },
    ]);
    expect(r.nodeFacts.get('pve1')?.cluster).toMatchObject({ ok: true, value: { qdevice: { model: 'net', host: '10.77.13.50', algorithm: 'ffsplit', votes: 1 } } });
  });

  it('fails a join when only the configuration names a QDevice (its daemon down), and when only pvecm status shows one', async () => {
    const nodes = inventoryNodes(2);
    const confOnly = clusterMember('prod', 1, M);
    confOnly.sections = { ...confOnly.sections, conf: { stdout: corosyncConf('prod', M, { qdevice: { host: 'qnetd.example.org' } }) } };
    const a = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: confOnly } });
    expect(of(a, 'quorum').map((f) => f.status)).toEqual(['ok', 'fail']);
    expect(of(a, 'quorum')[1]?.hint).toContain('pvx cluster qdevice add qnetd.example.org');
    const statusOnly = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: clusterMember('prod', 1, M, { flags: 'Quorate Qdevice ' }) } });
    expect(of(statusOnly, 'quorum').map((f) => f.status)).toEqual(['ok', 'fail']);
    expect(of(statusOnly, 'quorum')[1]?.hint).toContain('pvx cluster qdevice add <QNetd address>');
  });

  it('fails when there is no cluster to join, or corosync is down on the member', async () => {
    const none = await runScenario({ nodes: inventoryNodes(2), spec: { purpose: 'join' } });
    expect(of(none, 'quorum')[0]).toMatchObject({ status: 'fail', message: 'none of the nodes is a cluster member: there is no cluster to join' });
    const nodes = inventoryNodes(2);
    const down = clusterMember('prod', 1, M);
    down.sections = { ...down.sections, cfgtool: { exitCode: 1, stderr: 'Could not initialize corosync configuration API error 2\n' }, quorum: { exitCode: 1, stderr: 'Cannot initialize CMAP service\n' } };
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: down } });
    expect(of(r, 'quorum')[0]).toMatchObject({ status: 'fail', message: "corosync is not running on pve1 (cluster 'prod')" });
  });

  it('fails on garbage from corosync-quorumtool', async () => {
    const nodes = inventoryNodes(2);
    const bad = clusterMember('prod', 1, M);
    bad.sections = { ...bad.sections, quorum: { stdout: 'Quorum information\n???\n' } };
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: bad } });
    expect(of(r, 'quorum')[0]?.status).toBe('fail');
    expect(of(r, 'quorum')[0]?.message).toMatch(/^could not read the quorum of cluster 'prod': corosync-quorumtool -s printed something unexpected/);
  });

  it('fails on a membership row it cannot read: a partial membership is not one to act on', async () => {
    const nodes = inventoryNodes(2);
    const odd = clusterMember('prod', 1, M);
    odd.sections = { ...odd.sections, quorum: { stdout: `${String(odd.sections?.quorum?.stdout)}0x00000004          1 10.77.13.17 (new)\n` } };
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: odd } });
    expect(of(r, 'quorum')[0]?.status).toBe('fail');
    expect(of(r, 'quorum')[0]?.message).toContain("a line pvx cannot read, so the answer may be incomplete: '0x00000004          1 10.77.13.17 (new)'");
  });

  it('checks every node for migrate and fails one outside the cluster', async () => {
    const members = [{ name: 'pve1', nodeid: 1, address: '10.77.13.11' }, { name: 'pve2', nodeid: 2, address: '10.77.13.12' }];
    const r = await runScenario({ nodes: inventoryNodes(3), spec: { purpose: 'migrate' }, node: { pve1: clusterMember('prod', 1, members), pve2: clusterMember('prod', 2, members) } });
    expect(of(r, 'quorum').map((f) => `${f.node}:${f.status}`)).toEqual(['pve1:ok', 'pve2:ok', 'pve3:fail']);
    expect(of(r, 'quorum')[2]?.message).toBe('pve3 is not in a cluster');
  });
});

describe('the stand-in corosync-quorumtool with a QDevice', () => {
  it('prints the votequorum block and membership table of the real 2-node sample (reference §1.5)', () => {
    const real = readFileSync(new URL('../../fixtures/pve/pvecm-status/pve9.2.9-2node-qdevice-krnn.txt', import.meta.url), 'utf8');
    const fake = quorumtool({ local: 1, members: [{ nodeid: 1, address: '192.168.202.121' }, { nodeid: 2, address: '192.168.202.179' }], expected: 3, qdevice: { votes: 1, voting: true } });
    // the pasted sample lost the trailing spaces corosync prints after Quorum and Flags
    const from = (text: string, label: string) => text.slice(text.indexOf(label)).split('\n').map((l) => l.trimEnd()).filter(Boolean);
    expect(from(fake, 'Votequorum information')).toEqual(from(real, 'Votequorum information'));
  });
});
