import { describe, expect, it } from 'vitest';
import { classifyPvecmAdd } from '../../../src/pve/parse/pvecm-add-output.js';
import { parseJoinInfo } from '../../../src/pve/parse/pvesh-join-info.js';
import type { Membership } from '../../../src/facts/node.js';
import { expectedFailure, expectedRange, planExpected, votesPresentText } from '../../../src/workflows/cluster/expected.js';
import { planClusterJoin } from '../../../src/workflows/cluster/join.js';
import { joinFailure, joinInfoProblem } from '../../../src/workflows/cluster/join-steps.js';
import { planRemoveNode } from '../../../src/workflows/cluster/remove-node.js';
import { executePlan } from '../../../src/workflows/execute.js';
import { describePlan } from '../../../src/workflows/plan.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { fakeTiming, fp, joinInfoJson, member, scriptedReader, standalone } from './cluster-plans.helpers.js';

const wiring = () => ({ read: scriptedReader({}), timing: fakeTiming() });
const two = [
  { name: 'pve1', address: '10.0.0.1', fp: fp('ab'), link1: '10.1.0.1' },
  { name: 'pve2', address: '10.0.0.2', fp: fp('cd'), link1: '10.1.0.2' },
];

describe('joinInfoProblem', () => {
  const info = parseJoinInfo(joinInfoJson('lab', two, [0, 1]));
  const base = { cluster: 'lab', node: 'pve3', via: 'pve1' };
  it('asks for an address on every link of the cluster', () => {
    expect(joinInfoProblem(info, { ...base, links: { 0: '10.0.0.3' } })).toBe("cluster 'lab' uses corosync link(s) 0, 1; pve3 needs an address for each (missing: --link1)");
    expect(joinInfoProblem(info, { ...base, links: { 0: '10.0.0.3', 1: '10.1.0.3' } })).toBeUndefined();
  });
  it('rejects links the cluster lacks, a node it already lists, another cluster and a malformed fingerprint', () => {
    const one = parseJoinInfo(joinInfoJson('lab', two));
    expect(joinInfoProblem(one, { ...base, links: { 0: '10.0.0.3', 2: '10.2.0.3' } })).toBe("cluster 'lab' has no corosync link 2; give only --link0");
    expect(joinInfoProblem(one, { ...base, node: 'pve2', links: { 0: '10.0.0.3' } })).toContain('pve2 is already in the configuration');
    expect(joinInfoProblem(one, { ...base, cluster: 'prod', links: { 0: '10.0.0.3' } })).toBe("pve1 is in cluster 'lab', not 'prod'");
    // the parser refuses such a fingerprint already; the plan checks it again for join information built elsewhere
    expect(() => parseJoinInfo(joinInfoJson('lab', [{ name: 'pve1', address: '10.0.0.1', fp: 'AB:CD' }]))).toThrow(/fingerprint/);
    const bad = { ...one, nodes: one.nodes.map((n) => ({ ...n, fingerprint: 'AB:CD' })) };
    expect(joinInfoProblem(bad, { ...base, links: { 0: '10.0.0.3' } })).toContain('malformed');
  });
});

describe('joinFailure (pvecm add judged by its output)', () => {
  const judge = (stdout: string, stderr = '', exitCode = 0) => joinFailure(classifyPvecmAdd({ stdout, stderr, exitCode }), 'pve3', 'pve1', exitCode);
  it('accepts only the success line naming the node', () => {
    expect(judge("successfully added node 'pve3' to cluster.\n")).toBeUndefined();
    expect(judge("successfully added node 'pve9' to cluster.\n")).toBe("pvecm add reports it added 'pve9', not 'pve3'");
  });
  it('names each refusal', () => {
    expect(judge('detected the following error(s):\n* this host already contains virtual guests\nCheck if node may join a cluster failed!\n')).toBe('pve3 refused to join: this host already contains virtual guests');
    expect(judge('An error occurred on the cluster node: cluster not ready - no quorum?\nCluster join aborted!\n')).toBe('the cluster refused the join: cluster not ready - no quorum?');
    expect(judge('', "fingerprint 'AA' not verified, abort!\n")).toContain('did not match the pinned fingerprint');
    expect(judge('', '', 0)).toBe('pvecm add exited 0 without reporting that pve3 was added: the join did not finish');
  });
});

describe('planClusterJoin', () => {
  const info = parseJoinInfo(joinInfoJson('lab', two));
  const auth = { kind: 'password' as const, password: () => 'pw' };
  it('plans read, add with the pinned fingerprint, quorum wait, and checks from the member and the new node', () => {
    const d = planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: standalone('pve3'), via: member('pve2', 'lab', ['pve1', 'pve2']), joinInfo: info }, wiring());
    if (d.kind !== 'plan') throw new Error(JSON.stringify(d));
    expect(describePlan(d.plan).map((s) => `${s.node} ${s.command.slice(0, 3).join(' ')}`)).toEqual([
      'pve2 pvesh get /cluster/config/join',
      'pve3 pvecm add 10.0.0.2',
      'pve3 pvecm status',
      'pve2 pvecm status',
      'pve2 touch /etc/pve/nodes/pve2/.pvx-write-check',
      'pve2 rm -f /etc/pve/nodes/pve2/.pvx-write-check',
      'pve3 pvecm status',
      'pve3 touch /etc/pve/nodes/pve3/.pvx-write-check',
      'pve3 rm -f /etc/pve/nodes/pve3/.pvx-write-check',
    ]);
    expect(d.plan.steps[1]!.argv).toContain(fp('CD'));
    expect(d.members).toEqual(['pve1', 'pve2', 'pve3']);
  });
  it('joins through the member`s management address (pve_addr), not its corosync link address', async () => {
    // a dedicated corosync network: 10.0.0.x carries corosync only; the API (8006) and SSH listen on 192.0.2.x
    const split = [
      { name: 'pve1', address: '192.0.2.1', link0: '10.0.0.1', fp: fp('ab') },
      { name: 'pve2', address: '192.0.2.2', link0: '10.0.0.2', fp: fp('cd') },
    ];
    const json = joinInfoJson('lab', split);
    const d = planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: standalone('pve3'), via: member('pve2', 'lab', ['pve1', 'pve2']), joinInfo: parseJoinInfo(json) }, wiring());
    if (d.kind !== 'plan') throw new Error(JSON.stringify(d));
    expect(d.plan.steps[1]!.argv).toEqual(['pvecm', 'add', '192.0.2.2', '--fingerprint', fp('CD'), '--link0', '10.0.0.3']);
    // at run time the address comes from the join information read just before pvecm add
    const t = new FakeTransport([
      { node: 'pve2', argv: ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'], result: { stdout: json } },
      { node: 'pve3', argv: ['pvecm', 'add', '192.0.2.2', '--fingerprint', fp('CD'), '--link0', '10.0.0.3'], result: { exitCode: 0, stderr: '401 authentication failure\n' } },
    ]);
    const r = await executePlan(d.plan, t);
    t.verify();
    expect(r.failed?.message).toBe('login to pve2 failed, wrong root password? (401 authentication failure)');
  });
  it('reads the join information again at run time while the newest member`s certificate has not reached the member', async () => {
    const d = planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: standalone('pve3'), via: member('pve2', 'lab', ['pve1', 'pve2']), joinInfo: parseJoinInfo(joinInfoJson('lab', two)) }, wiring());
    if (d.kind !== 'plan') throw new Error(JSON.stringify(d));
    const info = ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'];
    const t = new FakeTransport([
      { node: 'pve2', argv: info, result: { exitCode: 2, stderr: "unable to read '/etc/pve/nodes/pve1/pve-ssl.pem' - No such file or directory\n" } },
      { node: 'pve2', argv: info, result: { stdout: joinInfoJson('lab', two) } },
      { node: 'pve3', argv: ['pvecm', 'add', '10.0.0.2', '--fingerprint', fp('CD'), '--link0', '10.0.0.3'], result: { exitCode: 0, stderr: '401 authentication failure\n' } },
    ]);
    const r = await executePlan(d.plan, t);
    t.verify();
    expect(r.failed?.message).toBe('login to pve2 failed, wrong root password? (401 authentication failure)');
  });
  it('is unchanged for a member, refuses another cluster, a non-quorate cluster and a missing link address', () => {
    const via = member('pve2', 'lab', ['pve1', 'pve2']);
    const via3 = member('pve2', 'lab', ['pve1', 'pve2', 'pve3']);
    const info3 = parseJoinInfo(joinInfoJson('lab', [...two, { name: 'pve3', address: '10.0.0.3', fp: fp('ef') }]));
    expect(planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: member('pve3', 'lab', ['pve1', 'pve2', 'pve3']), via: via3, joinInfo: info3 }, wiring())).toMatchObject({ kind: 'unchanged' });
    // a quorate member whose cluster gives no join information listing it: its pvecm add was cut off before its files were made
    for (const facts of [{ joinInfoProblem: "unable to read '/etc/pve/nodes/pve3/pve-ssl.pem' - No such file or directory" }, { joinInfo: info }]) {
      expect(planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: member('pve3', 'lab', ['pve1', 'pve2', 'pve3']), via: via3, ...facts }, wiring())).toMatchObject({ kind: 'plan', finishing: true });
    }
    expect(planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: member('pve3', 'x', ['pve3']), via, joinInfo: info }, wiring())).toMatchObject({ kind: 'refused', problems: ["pve3 is already in another cluster, 'x'"] });
    expect(planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: standalone('pve3'), via: member('pve2', 'lab', ['pve1', 'pve2'], { quorate: false, online: ['pve2'] }), joinInfo: info }, wiring())).toMatchObject({ kind: 'refused', notQuorate: true });
    const info2 = parseJoinInfo(joinInfoJson('lab', two, [0, 1]));
    expect(planClusterJoin({ node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth }, { node: standalone('pve3'), via, joinInfo: info2 }, wiring())).toMatchObject({ kind: 'refused', usage: true });
  });
});

describe('planClusterJoin of a node whose join was cut off after pvecm add', () => {
  const req = { node: 'pve3', via: 'pve2', links: { 0: '10.0.0.3' }, auth: { kind: 'ssh' as const } };
  const all = ['pve1', 'pve2', 'pve3'];
  it('runs no pvecm add again, and is done only once the node is a quorate member its cluster lists', async () => {
    const notYet = member('pve3', 'lab', all, { quorate: false, online: ['pve3'] });
    for (const [node, via] of [
      [notYet, member('pve2', 'lab', all, { online: ['pve1', 'pve2'] })],
      // the member does not list it yet: a view not to call finished either
      [member('pve3', 'lab', all), member('pve2', 'lab', ['pve1', 'pve2'])],
    ] as const) {
      const d = planClusterJoin(req, { node, via }, wiring());
      if (d.kind !== 'plan') throw new Error(JSON.stringify(d));
      expect(d.plan.title).toBe("finish joining pve3 to cluster 'lab': wait until it is a quorate member");
      expect(describePlan(d.plan).map((s) => `${s.node} ${s.command.join(' ')}`)).toEqual([
        'pve2 pvecm status', 'pve3 pvecm status',
        // pvecm add may have been cut off before it made the node's directory and certificate: without
        // the directory no file can be written there, without the certificate no member gives the join information
        'pve3 pvecm updatecerts',
        'pve2 touch /etc/pve/nodes/pve2/.pvx-write-check', 'pve2 rm -f /etc/pve/nodes/pve2/.pvx-write-check',
        'pve3 touch /etc/pve/nodes/pve3/.pvx-write-check', 'pve3 rm -f /etc/pve/nodes/pve3/.pvx-write-check',
        'pve2 pvesh get /cluster/config/join --output-format json',
      ]);
    }
    const timing = fakeTiming();
    const whole = member('pve3', 'lab', all);
    const read = scriptedReader({ pve2: [member('pve2', 'lab', all)], pve3: [notYet, notYet, whole] });
    const d = planClusterJoin(req, { node: notYet, via: member('pve2', 'lab', all, { online: ['pve1', 'pve2'] }) }, { read, timing });
    if (d.kind !== 'plan') throw new Error(JSON.stringify(d));
    const info = ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'];
    const threeInfo = joinInfoJson('lab', [...two, { name: 'pve3', address: '10.0.0.3', fp: fp('ef') }]);
    const t = new FakeTransport([
      { node: 'pve3', argv: ['pvecm', 'updatecerts'], result: { stdout: '(re)generate node files\nmerge authorized SSH keys\n' } },
      { node: 'pve2', argv: ['touch', '/etc/pve/nodes/pve2/.pvx-write-check'] },
      { node: 'pve2', argv: ['rm', '-f', '/etc/pve/nodes/pve2/.pvx-write-check'] },
      { node: 'pve3', argv: ['touch', '/etc/pve/nodes/pve3/.pvx-write-check'] },
      { node: 'pve3', argv: ['rm', '-f', '/etc/pve/nodes/pve3/.pvx-write-check'] },
      // pve3's certificate reaches pve2 a sync later
      { node: 'pve2', argv: info, result: { exitCode: 2, stderr: "unable to read '/etc/pve/nodes/pve3/pve-ssl.pem' - No such file or directory\n" } },
      { node: 'pve2', argv: info, result: { stdout: threeInfo } },
    ]);
    const r = await executePlan(d.plan, t);
    t.verify();
    expect(r.ok).toBe(true);
    expect(read.reads.filter((n) => n === 'pve3')).toHaveLength(3);
    // never quorate: the run fails, it does not report a join
    const stuck = planClusterJoin(req, { node: notYet, via: member('pve2', 'lab', all) }, { read: scriptedReader({ pve2: [member('pve2', 'lab', all)], pve3: [notYet] }), timing: fakeTiming() });
    if (stuck.kind !== 'plan') throw new Error(JSON.stringify(stuck));
    // the certificate never arrives: the join is not called finished
    const noCert = planClusterJoin(req, { node: notYet, via: member('pve2', 'lab', all) }, { read: scriptedReader({ pve2: [member('pve2', 'lab', all)], pve3: [whole] }), timing: fakeTiming() });
    if (noCert.kind !== 'plan') throw new Error(JSON.stringify(noCert));
    const certLost = await executePlan(noCert.plan, new FakeTransport([
      { node: 'pve3', argv: ['pvecm', 'updatecerts'] },
      { node: 'pve2', argv: ['touch', '/etc/pve/nodes/pve2/.pvx-write-check'] },
      { node: 'pve2', argv: ['rm', '-f', '/etc/pve/nodes/pve2/.pvx-write-check'] },
      { node: 'pve3', argv: ['touch', '/etc/pve/nodes/pve3/.pvx-write-check'] },
      { node: 'pve3', argv: ['rm', '-f', '/etc/pve/nodes/pve3/.pvx-write-check'] },
      { node: 'pve2', argv: info, result: { exitCode: 2, stderr: "unable to read '/etc/pve/nodes/pve3/pve-ssl.pem' - No such file or directory\n" }, repeat: true },
    ]));
    expect(certLost.failed?.message).toBe("the join information of cluster 'lab' cannot be read on pve2: unable to read '/etc/pve/nodes/pve3/pve-ssl.pem' - No such file or directory");
    const failed = await executePlan(stuck.plan, new FakeTransport([]));
    expect(failed.ok).toBe(false);
    expect(failed.failed?.message).toBe('pve3 is not quorate (1 of 3 votes)');
  });
});

describe('planRemoveNode', () => {
  const via = member('pve1', 'lab', ['pve1', 'pve2', 'pve3', 'pve4'], { online: ['pve1', 'pve2', 'pve3'] });
  const base = { node: 'pve4', via: 'pve1', offlineConfirmed: false };
  it('plans delnode, removal of the stale directory and a final check; verifies the member list shrank', async () => {
    const d = planRemoveNode(base, { via, guests: [], nodeDirExists: true, target: { node: 'pve4', kind: 'unreachable', message: 'timeout' } }, wiring());
    if (d.kind !== 'plan') throw new Error(JSON.stringify(d));
    expect(describePlan(d.plan).map((s) => `${s.node} ${s.command.join(' ')}`)).toEqual(['pve1 pvecm delnode pve4', 'pve1 rm -r /etc/pve/nodes/pve4', 'pve1 pvecm status']);
    const after = member('pve1', 'lab', ['pve1', 'pve2', 'pve3']);
    const t = new FakeTransport([
      { node: 'pve1', argv: ['pvecm', 'delnode', 'pve4'], result: { stdout: 'Killing node 4\n', stderr: 'Could not kill node (error = CS_ERR_NOT_EXIST)\n' } },
      { node: 'pve1', argv: ['rm', '-r', '/etc/pve/nodes/pve4'] },
    ]);
    const d2 = planRemoveNode(base, { via, guests: [], nodeDirExists: true }, { read: scriptedReader({ pve1: [after] }), timing: fakeTiming() });
    if (d2.kind !== 'plan') throw new Error(d2.kind);
    const r = await executePlan(d2.plan, t);
    t.verify();
    expect(r.ok).toBe(true);
    expect(d2.progress.delnode).toEqual({ kind: 'removed', killedNodeId: 4, nodeWasDown: true });
  });
  it('refuses guests, a live member (unless confirmed offline), no quorum, and removing the member itself', () => {
    const guest = { type: 'qemu' as const, vmid: 100, node: 'pve4', status: 'stopped', template: false, name: 'web' };
    expect(planRemoveNode(base, { via, guests: [guest], nodeDirExists: true }, wiring())).toMatchObject({ kind: 'refused', problems: [expect.stringContaining('still hosts 1 guest(s): VM 100 (web)')] });
    const live = member('pve1', 'lab', ['pve1', 'pve4']);
    expect(planRemoveNode(base, { via: live, guests: [], nodeDirExists: true }, wiring())).toMatchObject({ kind: 'refused', problems: [expect.stringContaining('still answers as a live member')] });
    expect(planRemoveNode({ ...base, offlineConfirmed: true }, { via: member('pve1', 'lab', ['pve1', 'pve2', 'pve4']), guests: [], nodeDirExists: false }, wiring())).toMatchObject({
      kind: 'plan',
      warnings: [expect.stringContaining('on your word (--offline-confirmed)')],
    });
    expect(planRemoveNode(base, { via: member('pve1', 'lab', ['pve1', 'pve2', 'pve3', 'pve4'], { quorate: false, online: ['pve1'] }), guests: [], nodeDirExists: true }, wiring())).toMatchObject({ kind: 'refused', notQuorate: true });
    expect(planRemoveNode({ ...base, node: 'pve1' }, { via, guests: [], nodeDirExists: true }, wiring())).toMatchObject({ kind: 'refused', usage: true });
  });
  it('refuses while the cluster has a QDevice (pvecm.adoc: remove it first), naming the command to run and how to set it up again', () => {
    const d = planRemoveNode(base, { via, guests: [], nodeDirExists: true, qdevice: { host: '10.0.0.50' } }, wiring());
    expect(d).toEqual({
      kind: 'refused',
      problems: [`cluster 'lab' has a QDevice (QNetd host 10.0.0.50): Proxmox asks to remove it before a node is removed (pvecm.adoc, "Adding/Deleting Nodes After QDevice Setup")`],
      hint: "run 'pvx cluster qdevice remove' first (every node must be online), then this again; once the node count is even, add it again: pvx cluster qdevice add 10.0.0.50",
    });
    // a node already out of the cluster leaves only its folder: that cleanup does not touch the membership
    const gone = member('pve1', 'lab', ['pve1', 'pve2', 'pve3']);
    expect(planRemoveNode(base, { via: gone, guests: [], nodeDirExists: true, qdevice: {} }, wiring())).toMatchObject({ kind: 'plan', cleanupOnly: true });
  });
  it('is unchanged when the node is gone and left nothing, and only cleans up a stale directory otherwise', () => {
    const gone = member('pve1', 'lab', ['pve1', 'pve2', 'pve3']);
    expect(planRemoveNode(base, { via: gone, guests: [], nodeDirExists: false }, wiring())).toMatchObject({ kind: 'unchanged' });
    const d = planRemoveNode(base, { via: gone, guests: [], nodeDirExists: true }, wiring());
    expect(d).toMatchObject({ kind: 'plan', cleanupOnly: true });
    if (d.kind === 'plan') expect(d.plan.steps.map((s) => s.argv.join(' '))).toEqual(['rm -r /etc/pve/nodes/pve4']);
  });
});

type Member = Extract<Membership, { kind: 'member' }>;

describe('planExpected', () => {
  const lone = member('pve1', 'lab', ['pve1', 'pve2', 'pve3'], { online: ['pve1'], quorate: false, expectedVotes: 3, totalVotes: 1 });
  it('spells out the split-brain risk and plans pvecm expected', () => {
    const d = planExpected({ node: 'pve1', votes: 1 }, lone, wiring());
    if (d.kind !== 'plan') throw new Error(d.kind);
    expect(d.plan.steps.map((s) => s.argv)).toEqual([['pvecm', 'expected', '1']]);
    expect(d.risk).toContain('split brain');
    expect(d.risk).toContain('(pve2, pve3)');
  });
  it('is unchanged at the same value and refuses a standalone node', () => {
    expect(planExpected({ node: 'pve1', votes: 3 }, lone, wiring())).toEqual({ kind: 'unchanged', cluster: 'lab' });
    expect(planExpected({ node: 'pve1', votes: 1 }, standalone('pve1'), wiring())).toMatchObject({ kind: 'refused' });
  });
  it('explains CS_ERR_INVALID_PARAM', () => {
    expect(expectedFailure({ exitCode: 1, stdout: '', stderr: 'Unable to set expected votes: CS_ERR_INVALID_PARAM\n', durationMs: 1 })).toContain('below the votes present');
    expect(expectedFailure({ exitCode: 0, stdout: '', stderr: '', durationMs: 1 })).toBeUndefined();
  });
  it('counts a QDevice\'s vote among the votes present when it casts it, as corosync does, and says which values corosync takes', () => {
    // 2 nodes and a QDevice, one node down: the device votes for the survivor (krnn-like cluster)
    const withDevice = member('pve1', 'duo', ['pve1', 'pve2'], { online: ['pve1'], expectedVotes: 3, totalVotes: 2, qdevice: { votes: 1, voting: true } }) as Member;
    expect(votesPresentText(withDevice)).toBe('2 vote(s) present: 1 of the nodes, 1 of the QDevice');
    expect(expectedRange(withDevice)).toEqual({ min: 2, max: 3 });
    const d = planExpected({ node: 'pve1', votes: 2 }, withDevice, wiring());
    if (d.kind !== 'plan') throw new Error(d.kind);
    expect(d.risk).toContain("lets the partition of pve1 (2 vote(s) present: 1 of the nodes, 1 of the QDevice) act as the whole cluster 'duo'");
    expect(d.risk).toContain('corosync accepts 2 to 3 here.');
    // a device that does not vote here adds nothing
    const idle = member('pve1', 'duo', ['pve1', 'pve2'], { online: ['pve1'], quorate: false, expectedVotes: 3, totalVotes: 1, qdevice: { votes: 1, voting: false } }) as Member;
    expect(votesPresentText(idle)).toBe('1 vote(s) present');
    expect(expectedRange(idle)).toEqual({ min: 1 });
    const step = planExpected({ node: 'pve1', votes: 1 }, idle, wiring());
    if (step.kind !== 'plan') throw new Error(step.kind);
    expect(step.plan.steps[0]?.judge?.({ exitCode: 1, stdout: '', stderr: 'Unable to set expected votes: CS_ERR_INVALID_PARAM\n', durationMs: 1 })).toContain('corosync accepts 1 or more here');
  });
});
