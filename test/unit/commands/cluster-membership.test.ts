import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { membershipOf } from '../../../src/facts/node.js';
import { parseClusterStatus } from '../../../src/pve/parse/pvesh-cluster-status.js';
import { parsePvecmStatus } from '../../../src/pve/parse/pvecm-status.js';

const fixture = (p: string) => readFileSync(new URL(`../../fixtures/pve/${p}`, import.meta.url), 'utf8');
const STATUS = fixture('pvecm-status/pve9-3node-cluster-validation.txt');
const CSTATUS = parseClusterStatus(fixture('pvesh/cluster-status-3node-pve9-constructed.json'));

describe('membershipOf', () => {
  it('reads a whole membership as a member view', () => {
    const m = membershipOf({ node: 'proxmox', kind: 'member', status: parsePvecmStatus(STATUS), clusterStatus: CSTATUS, pveVersion: null });
    expect(m).toMatchObject({ kind: 'member', cluster: 'labcluster', partitionSize: 3, configured: ['proxmox', 'pve2', 'pve3'] });
  });

  it('carries a QDevice that corosync reports, and whether it votes here (pve-docs sample of 2 nodes and a QDevice)', () => {
    const krnn = parsePvecmStatus(fixture('pvecm-status/pve9.2.9-2node-qdevice-krnn.txt'));
    const m = membershipOf({ node: 'pve1', kind: 'member', status: krnn, clusterStatus: undefined, pveVersion: null });
    // Expected votes 3 = 2 node votes + the device's 1 (votequorum counts it), all of them present
    expect(m).toMatchObject({ kind: 'member', cluster: 'krnn', expectedVotes: 3, totalVotes: 3, qdevice: { votes: 1, voting: true } });
    const idle = parsePvecmStatus(fixture('pvecm-status/pve9.2.9-2node-qdevice-krnn.txt').replace('0x00000000          1            Qdevice', '0x00000000          0            Qdevice (votes 1)'));
    expect(membershipOf({ node: 'pve1', kind: 'member', status: idle, clusterStatus: undefined, pveVersion: null })).toMatchObject({ qdevice: { votes: 1, voting: false } });
    expect(membershipOf({ node: 'proxmox', kind: 'member', status: parsePvecmStatus(STATUS), clusterStatus: CSTATUS, pveVersion: null })).not.toHaveProperty('qdevice');
  });

  it('refuses a membership with a row it could not read: the partition would be misstated', () => {
    const status = parsePvecmStatus(`${STATUS}0x00000004          1 192.168.1.50 (new state)\n`);
    expect(status.members).toHaveLength(3);
    const m = membershipOf({ node: 'proxmox', kind: 'member', status, clusterStatus: CSTATUS, pveVersion: null });
    expect(m).toEqual({ node: 'proxmox', kind: 'error', message: "pvecm status printed a membership row pvx cannot read: '0x00000004          1 192.168.1.50 (new state)'" });
  });
});
