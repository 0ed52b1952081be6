import { describe, expect, it } from 'vitest';
import type { Membership } from '../../../src/facts/node.js';
import { decideTeardown, type NodeReading } from '../../../src/workflows/teardown/decide.js';

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

  it('separates again a node pmxcfs calls standalone that still holds its cluster\'s /etc/corosync/corosync.conf (a separation stopped part-way)', () => {
    const one = { cluster: 'prod', configVersion: 5, nodes: [{ name: 'pve1', votes: 1 }] };
    const d = decideTeardown([{ node: 'pve1', membership: { node: 'pve1', kind: 'standalone' }, conf: one }, r({ node: 'pve2', kind: 'standalone' }), r({ node: 'pve3', kind: 'standalone' })]);
    expect(d.kind).toBe('plan');
    if (d.kind !== 'plan') return;
    expect(d.input).toMatchObject({ cluster: 'prod', last: 'pve1', others: [], removeOnly: [] });
    expect(d.input.nodes.map((n) => [n.name, n.role])).toEqual([['pve1', 'last']]);
    expect(d.input.quorum).toBeUndefined();
    // without that file it is standalone, and there is nothing to tear down
    expect(decideTeardown(ALL.map((n) => r({ node: n, kind: 'standalone' }))).kind).toBe('nothing');
  });

  it('leaves standalone inventory nodes that the cluster does not list alone', () => {
    const two = ['pve1', 'pve2'];
    const d = decideTeardown([r(member('pve1', { configured: two, online: two })), r(member('pve2', { configured: two, online: two })), r({ node: 'pve3', kind: 'standalone' })]);
    expect(d.kind === 'plan' && d.input.nodes.map((n) => n.name)).toEqual(two);
  });

  it('takes a QDevice from the running member\'s corosync.conf, or from what corosync reports, for the plan to remove first', () => {
    const withDevice = { ...conf, qdevice: { model: 'net', host: '10.0.0.50', algorithm: 'ffsplit', votes: 1 } };
    const d = decideTeardown(ALL.map((n) => ({ node: n, membership: member(n), conf: withDevice })));
    expect(d.kind === 'plan' && d.input.qdevice).toEqual({ host: '10.0.0.50' });
    const reported = decideTeardown([r(member('pve1', { qdevice: { votes: 1, voting: true } })), r(member('pve2')), r(member('pve3'))]);
    expect(reported.kind === 'plan' && reported.input.qdevice).toEqual({});
    const none = decideTeardown(ALL.map((n) => r(member(n))));
    expect(none.kind === 'plan' && none.input.qdevice).toBeUndefined();
  });

  it('refuses a cluster with a QDevice while a node is offline or no corosync runs: pvecm qdevice remove needs every node online', () => {
    const withDevice = { ...conf, qdevice: { model: 'net', host: '10.0.0.50' } };
    const online = ['pve1', 'pve2'];
    const d = decideTeardown([
      { node: 'pve1', membership: member('pve1', { online, partitionSize: 2, totalVotes: 2 }), conf: withDevice },
      { node: 'pve2', membership: member('pve2', { online, partitionSize: 2, totalVotes: 2 }), conf: withDevice },
      { node: 'pve3', membership: { node: 'pve3', kind: 'unreachable', message: 'Connection timed out' } },
    ]);
    expect(d).toMatchObject({ kind: 'refused', reason: 'qdevice', nodes: ['pve3'] });
    if (d.kind === 'refused') {
      expect(d.problems[0]).toBe(
        "cluster 'prod' has a QDevice (QNetd host 10.0.0.50), which has to go before nodes leave (pvecm.adoc, \"Adding/Deleting Nodes After QDevice Setup\"), and pvecm qdevice remove needs every node online in a running cluster: pve3 is offline",
      );
      expect(d.hint).toMatch(/^bring pve3 online and run the teardown again; if it is gone for good, remove the QDevice by hand on a quorate member: delete the 'device \{ … \}' block/);
    }
    const down = decideTeardown([{ node: 'pve1', membership: { node: 'pve1', kind: 'corosync-down', message: 'Cannot initialize CMAP service' }, conf: withDevice }]);
    expect(down).toMatchObject({ kind: 'refused', reason: 'qdevice', problems: [expect.stringContaining('no member of it runs corosync')] });
  });
});
