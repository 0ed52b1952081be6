import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { membershipOf } from '../../../src/commands/cluster-membership.js';
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

  it('refuses a membership with a row it could not read: the partition would be misstated', () => {
    const status = parsePvecmStatus(`${STATUS}0x00000004          1 192.168.1.50 (new state)\n`);
    expect(status.members).toHaveLength(3);
    const m = membershipOf({ node: 'proxmox', kind: 'member', status, clusterStatus: CSTATUS, pveVersion: null });
    expect(m).toEqual({ node: 'proxmox', kind: 'error', message: "pvecm status printed a membership row pvx cannot read: '0x00000004          1 192.168.1.50 (new state)'" });
  });
});
