import { describe, expect, it } from 'vitest';
import type { Membership } from '../../../src/workflows/membership.js';
import { decideTeardown, type NodeReading } from '../../../src/workflows/teardown-decide.js';

const ALL = ['pve1', 'pve2', 'pve3'];

function member(node: string, o: Partial<Extract<Membership, { kind: 'member' }>> = {}): Membership {
  return { node, kind: 'member', cluster: 'prod', quorate: true, configured: ALL, online: ALL, partitionSize: 3, expectedVotes: 3, totalVotes: 3, ...o };
}

const conf = { cluster: 'prod', configVersion: 3, nodes: ALL.map((name) => ({ name, votes: 1 })) };

function r(membership: Membership, withConf = true): NodeReading {
  return { node: membership.node, membership, ...(withConf && membership.kind !== 'standalone' && membership.kind !== 'unreachable' ? { conf } : {}) };
}

describe('who is what in a teardown', () => {
  it('keeps the first quorate member for last and separates the others in reverse inventory order', () => {
    const d = decideTeardown(ALL.map((n) => r(member(n))));
    expect(d.kind).toBe('plan');
    if (d.kind !== 'plan') return;
    expect(d.input).toMatchObject({ cluster: 'prod', last: 'pve1', others: [{ node: 'pve3', configured: true }, { node: 'pve2', configured: true }], removeOnly: [] });
    expect(d.input.quorum).toEqual({ configured: ALL.map((name) => ({ name, votes: 1 })), online: ALL, expectedVotes: 3 });
    expect(d.input.nodes.map((n) => [n.name, n.role])).toEqual([['pve1', 'last'], ['pve2', 'separate'], ['pve3', 'separate']]);
  });

  it('only removes nodes that are down or already standalone, and those not in the inventory that are offline', () => {
    const online = ['pve1', 'pve3'];
    const configured = [...ALL, 'pve4'];
    const d = decideTeardown([
      r(member('pve1', { online, configured, partitionSize: 2, expectedVotes: 4, totalVotes: 2 })),
      r({ node: 'pve2', kind: 'unreachable', message: 'Connection timed out' }),
      r({ node: 'pve3', kind: 'standalone' }),
    ]);
    expect(d.kind).toBe('plan');
    if (d.kind !== 'plan') return;
    expect(d.input.last).toBe('pve1');
    expect(d.input.others).toEqual([]);
    expect(d.input.removeOnly).toEqual(['pve2', 'pve3', 'pve4']);
    expect(d.input.nodes.map((n) => [n.name, n.role, n.inInventory])).toEqual([
      ['pve1', 'last', true],
      ['pve2', 'down', true],
      ['pve3', 'separated', true],
      ['pve4', 'down', false],
    ]);
  });

  it('refuses when a node online in the cluster cannot be reached, or is not in the inventory', () => {
    const d = decideTeardown([r(member('pve1')), r({ node: 'pve2', kind: 'unreachable', message: 'Permission denied' }), r(member('pve3'))]);
    expect(d).toMatchObject({ kind: 'refused', reason: 'unreachable-online' });
    const e = decideTeardown([r(member('pve1', { configured: [...ALL, 'pve4'], online: [...ALL, 'pve4'] })), r(member('pve2')), r(member('pve3'))]);
    expect(e).toMatchObject({ kind: 'refused', reason: 'unknown-online' });
    if (e.kind === 'refused') expect(e.problems[0]).toMatch(/pve4 is an online member of 'prod' but not in the inventory/);
  });

  it('refuses an inventory of two clusters, and has nothing to do when every node is standalone', () => {
    const d = decideTeardown([r(member('pve1')), r(member('pve2', { cluster: 'other' }))]);
    expect(d).toMatchObject({ kind: 'refused', reason: 'several-clusters' });
    expect(decideTeardown(ALL.map((n) => r({ node: n, kind: 'standalone' })))).toEqual({ kind: 'nothing', standalone: ALL });
  });

  it('separates nodes whose corosync is down by their own corosync.conf, without delnode when no corosync runs', () => {
    const d = decideTeardown([
      r({ node: 'pve1', kind: 'corosync-down', message: 'Cannot initialize CMAP service' }),
      r({ node: 'pve2', kind: 'standalone' }),
      r({ node: 'pve3', kind: 'error', message: 'pve configuration filesystem (pmxcfs) not mounted' }),
    ]);
    expect(d.kind).toBe('plan');
    if (d.kind !== 'plan') return;
    expect(d.input).toMatchObject({ last: 'pve1', others: [{ node: 'pve3' }], removeOnly: ['pve2'] });
    expect(d.input.quorum).toBeUndefined();
  });

  it('leaves standalone inventory nodes that the cluster does not list alone', () => {
    const two = ['pve1', 'pve2'];
    const d = decideTeardown([r(member('pve1', { configured: two, online: two })), r(member('pve2', { configured: two, online: two })), r({ node: 'pve3', kind: 'standalone' })]);
    expect(d.kind === 'plan' && d.input.nodes.map((n) => n.name)).toEqual(two);
  });
});
