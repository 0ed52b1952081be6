import { describe, expect, it } from 'vitest';
import { cfgtool, corosyncConf, inventoryNodes, of, procNetUdp, quorumtool, runScenario, statuses, type NodeScript } from './scenario.js';

const MEMBERS = [
  { name: 'pve1', nodeid: 1, address: '10.77.13.11' },
  { name: 'pve2', nodeid: 2, address: '10.77.13.12' },
  { name: 'pve3', nodeid: 3, address: '10.77.13.13' },
];

/** A member of cluster 'prod' whose link-0 peers have these states. */
function member(local: number, states: Record<number, string>): NodeScript {
  const addr = MEMBERS[local - 1]?.address ?? '';
  return {
    sections: {
      files: { stdout: '/etc/pve/corosync.conf\n/etc/corosync/authkey\n/etc/corosync/corosync.conf\n' },
      conf: { stdout: corosyncConf('prod', MEMBERS) },
      cfgtool: { stdout: cfgtool(local, addr, MEMBERS.map((m) => ({ nodeid: m.nodeid, state: states[m.nodeid] ?? 'connected' }))) },
      quorum: { stdout: quorumtool({ local, members: MEMBERS.map((m) => ({ nodeid: m.nodeid, address: m.address })), expected: 3 }) },
    },
  };
}

describe('udp-corosync check', () => {
  it('fails exactly the blocked direction and port, and nothing else', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3), blocks: [{ from: 'pve1', to: 'pve2', port: 5407 }] });
    const f = of(r, 'udp-corosync');
    expect(f.filter((x) => x.status !== 'ok')).toEqual([
      {
        id: 'udp-corosync',
        node: 'pve1',
        peer: 'pve2',
        port: 5407,
        status: 'fail',
        message: 'pve1 → pve2 udp/5407 is blocked: nothing arrived within 1.5 s',
        hint: 'allow UDP 5405-5412 from 10.77.13.11 to 10.77.13.12 (firewall on pve2, on pve1 or between them); corosync needs the whole range',
      },
    ]);
    expect(f.find((x) => x.node === 'pve2' && x.peer === 'pve1')).toMatchObject({ status: 'ok', message: 'udp/5405-5412 reach pve1 (10.77.13.12 → 10.77.13.11)' });
  });

  it('reports every blocked port of a pair on its own', async () => {
    const blocks = [5405, 5412].map((port) => ({ from: 'pve2', to: 'pve1', port }));
    const r = await runScenario({ nodes: inventoryNodes(2), blocks });
    expect(of(r, 'udp-corosync').filter((x) => x.status === 'fail').map((x) => `${x.node}>${x.peer}:${x.port}`)).toEqual(['pve2>pve1:5405', 'pve2>pve1:5412']);
  });

  it('names a rejected port (ICMP unreachable) differently from a dropped one', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), blocks: [{ from: 'pve1', to: 'pve2', port: 5410, reject: true }] });
    expect(of(r, 'udp-corosync')[0]).toMatchObject({ status: 'fail', port: 5410, message: 'pve1 → pve2 udp/5410 is rejected (ICMP port unreachable)' });
  });

  it('counts a probe the receiver heard as open even when the echo back was lost', async () => {
    const stdout = ['probe 10.77.13.12 5405 timeout', ...[5406, 5407, 5408, 5409, 5410, 5411, 5412].map((p) => `probe 10.77.13.12 ${p} ok 0.2`), 'done 1.5'].join('\n');
    const withBind = [5405, 5406, 5407, 5408, 5409, 5410, 5411, 5412].map((p) => `bind ${p} ok`).concat([5405, 5406, 5407, 5408, 5409, 5410, 5411, 5412].map((p) => `recv 10.77.13.12 ${p}`));
    const r = await runScenario({ nodes: inventoryNodes(2), probe: { pve1: { stdout: [...withBind, stdout].join('\n') + '\n' } } });
    expect(statuses(of(r, 'udp-corosync'))).toEqual({ ok: 2 });
  });

  it('fails a port another process holds on the receiver', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), bindFail: { pve2: [5406] } });
    const f = of(r, 'udp-corosync');
    expect(f.filter((x) => x.status !== 'ok')).toEqual([
      {
        id: 'udp-corosync',
        node: 'pve2',
        port: 5406,
        status: 'fail',
        message: 'udp/5406 on pve2 is in use by another process (Address already in use)',
        hint: "find it with: ss -ulpn 'sport = :5406'; corosync needs ports 5405-5412 free",
      },
    ]);
  });

  it('fails a node where perl is missing or prints garbage, and skips its pairs', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(3),
      probe: { pve2: { exitCode: 127, stdout: '', stderr: 'sh: 1: perl: not found\n' }, pve3: { stdout: 'Can\'t locate IO/Socket/IP.pm in @INC\n' } },
    });
    const f = of(r, 'udp-corosync');
    expect(f.find((x) => x.node === 'pve2' && x.peer === undefined)).toMatchObject({ status: 'fail', message: 'could not run the UDP probe on pve2: perl is not installed' });
    expect(f.find((x) => x.node === 'pve3' && x.peer === undefined)?.message).toMatch(/^could not run the UDP probe on pve3: unexpected probe output line: Can't locate/);
    expect(statuses(f.filter((x) => x.peer !== undefined))).toEqual({ skip: 6 });
  });

  it('fails when the node drops out between the rounds', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), probe: { pve2: { unreachable: true } } });
    expect(of(r, 'udp-corosync').find((x) => x.node === 'pve2' && !x.peer)).toMatchObject({ status: 'fail', message: 'could not run the UDP probe on pve2: cannot reach pve2 over SSH: Connection refused' });
  });

  it('reads corosync-cfgtool for link 0 between running members and probes the ports corosync leaves free', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(3),
      spec: { purpose: 'migrate' },
      node: { pve1: member(1, { 3: 'disconnected' }), pve2: member(2, {}), pve3: member(3, { 1: 'disconnected' }) },
      blocks: [{ from: 'pve2', to: 'pve3', port: 5408 }],
    });
    const perl = r.transport.calls.filter((c) => c.argv[0] === 'perl');
    // link 0 of the cluster is UDP 5405: never bound while corosync runs
    expect(perl.map((c) => c.argv[8])).toEqual(['5406,5407,5408,5409,5410,5411,5412', '5406,5407,5408,5409,5410,5411,5412', '5406,5407,5408,5409,5410,5411,5412']);
    const f = of(r, 'udp-corosync');
    expect(f.filter((x) => x.status !== 'ok').map((x) => x.message)).toEqual([
      'corosync link 0 pve1 → pve3 is disconnected (corosync-cfgtool -s)',
      'pve2 → pve3 udp/5408 is blocked: nothing arrived within 1.5 s',
      'corosync link 0 pve3 → pve1 is disconnected (corosync-cfgtool -s)',
    ]);
    expect(f.find((x) => x.node === 'pve1' && x.peer === 'pve2' && x.message.startsWith('udp/'))?.message).toBe('udp/5406-5412 reach pve2 (10.77.13.11 → 10.77.13.12)');
    expect(statuses(of(r, 'link-latency'))).toEqual({ ok: 3 });
  });

  it('probes a member only on the ports corosync does not use, and says which were left alone', async () => {
    const nodes = inventoryNodes(2);
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: member(1, {}) } });
    const f = of(r, 'udp-corosync');
    expect(f.filter((x) => x.node === 'pve1').map((x) => x.message)).toEqual(['udp/5405-5412 reach pve2 (10.77.13.11 → 10.77.13.12)']);
    expect(f.filter((x) => x.node === 'pve2').map((x) => `${x.status} ${x.message}`)).toEqual([
      'skip udp/5405 not probed: corosync on pve1 uses it; corosync-cfgtool -s shows the link once both are in one cluster',
      'ok udp/5406-5412 reach pve1 (10.77.13.12 → 10.77.13.11)',
    ]);
  });

  it('does not listen at all on a member whose ports cannot be read', async () => {
    const nodes = inventoryNodes(2);
    const m = member(1, {});
    m.sections = { ...m.sections, udp: { exitCode: 1, stderr: 'cat: /proc/net/udp: Permission denied\n' } };
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: m } });
    expect(r.transport.calls.filter((c) => c.argv[0] === 'perl').map((c) => [c.node, c.argv[5]]).sort()).toEqual([
      ['pve1', '0'],
      ['pve2', '1'],
    ]);
    expect(of(r, 'udp-corosync').find((x) => x.node === 'pve2')?.message).toMatch(/^udp\/5405-5412 not probed: corosync runs on pve1 and which ports it holds could not be read/);
  });

  it('warns about lines of corosync-cfgtool and /proc/net/udp it cannot read, and reads the rest', async () => {
    const nodes = inventoryNodes(2);
    const m = member(1, {});
    const cfg = cfgtool(1, '10.77.13.11', MEMBERS.map((x) => ({ nodeid: x.nodeid, state: 'connected' })));
    m.sections = { ...m.sections, cfgtool: { stdout: `${cfg}\tmtu\t= 1397\n` }, udp: { stdout: `${procNetUdp(123, 5405)}  99: garbage\n` } };
    const r = await runScenario({ nodes, spec: { purpose: 'join', existingMember: nodes[0] }, node: { pve1: m } });
    const warns = of(r, 'udp-corosync').filter((x) => x.node === 'pve1' && x.status === 'warn');
    expect(warns.map((x) => x.message)).toEqual([
      "corosync-cfgtool -s on pve1 printed a line pvx could not read, left out: '\\tmtu\\t= 1397'",
      "/proc/net/udp on pve1 printed a line pvx could not read, left out: '  99: garbage'",
    ]);
    // the ports it could read still count: 5405 is corosync's own and left alone
    expect(r.transport.calls.filter((c) => c.argv[0] === 'perl' && c.node === 'pve1').map((c) => c.argv[8])).toEqual(['5406,5407,5408,5409,5410,5411,5412']);
  });

  it('has nothing to probe on a single node', async () => {
    const r = await runScenario({ nodes: inventoryNodes(1) });
    expect(of(r, 'udp-corosync')).toEqual([{ id: 'udp-corosync', node: 'pve1', status: 'skip', message: 'one node only: no pair to probe' }]);
  });
});

describe('udp-corosync check, link0 problems', () => {
  it('does not probe from or to a node whose link0 is not configured there', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3), node: { pve3: { sections: { addrs: { stdout: '2: eth0    inet 10.77.13.99/24 scope global eth0\n' } } } } });
    const f = of(r, 'udp-corosync');
    expect(f.filter((x) => x.node === 'pve3' || x.peer === 'pve3').map((x) => x.status)).toEqual(['skip', 'skip', 'skip', 'skip']);
    expect(f.find((x) => x.node === 'pve1' && x.peer === 'pve3')?.message).toBe('not probed: link0 10.77.13.13 is not configured on pve3 (see hostname-resolution)');
    expect(r.transport.calls.filter((c) => c.argv[0] === 'perl').map((c) => c.node)).toEqual(['pve1', 'pve2']);
  });

  it('reports one finding when no port could be bound at all', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2), bindFail: { pve2: [5405, 5406, 5407, 5408, 5409, 5410, 5411, 5412] } });
    expect(of(r, 'udp-corosync').filter((x) => x.status === 'fail')).toEqual([
      {
        id: 'udp-corosync',
        node: 'pve2',
        status: 'fail',
        message: 'could not listen on udp/5405-5412 of pve2 (Address already in use)',
        hint: 'check that link0 10.77.13.12 is configured on pve2 and that no other program holds the ports: ss -ulpn',
      },
    ]);
  });
});
