import { describe, expect, it } from 'vitest';
import { parseJoinInfo } from '../../../src/pve/parse/pvesh-join-info.js';
import { assessClusterCreate, planClusterCreate, type CreateRequest } from '../../../src/workflows/cluster/create.js';
import { executePlan } from '../../../src/workflows/execute.js';
import type { Membership } from '../../../src/facts/node.js';
import { describePlan } from '../../../src/workflows/plan.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { fakeTiming, fp, joinInfoJson, member, scriptedReader, standalone } from './cluster-plans.helpers.js';

const SECRET = 'hunter2 with spaces';
const req = (names = ['pve1', 'pve2', 'pve3'], auth: CreateRequest['auth'] = { kind: 'password', password: () => SECRET }): CreateRequest => ({
  cluster: 'lab',
  // a dedicated corosync network: links on 10.0.0.x, management (API, SSH) on 192.0.2.x
  nodes: names.map((name, i) => ({ name, links: { 0: `10.0.0.${i + 1}` }, address: `192.0.2.${i + 1}` })),
  auth,
});
const states = (...ms: Membership[]) => new Map(ms.map((m) => [m.node, m]));
const wiring = () => ({ read: scriptedReader({}), timing: fakeTiming() });

describe('planClusterCreate: fresh nodes', () => {
  it('creates on the first node, then reads the join info, joins and waits for quorum per node, then verifies every node', () => {
    const d = planClusterCreate(req(), { membership: states(standalone('pve1'), standalone('pve2'), standalone('pve3')) }, wiring());
    expect(d.kind).toBe('plan');
    if (d.kind !== 'plan') return;
    expect(d).toMatchObject({ creates: true, via: 'pve1', joiners: ['pve2', 'pve3'], members: ['pve1', 'pve2', 'pve3'] });
    const p = describePlan(d.plan);
    expect(p.map((s) => `${s.node} ${s.mutates ? 'W' : 'R'} ${s.command.join(' ')}`)).toEqual([
      'pve1 W pvecm create lab --link0 10.0.0.1',
      'pve1 R pvesh get /cluster/config/join --output-format json',
      'pve2 W pvecm add 192.0.2.1 --fingerprint <fingerprint of pve1> --link0 10.0.0.2',
      'pve2 R pvecm status',
      'pve1 R pvesh get /cluster/config/join --output-format json',
      'pve3 W pvecm add 192.0.2.1 --fingerprint <fingerprint of pve1> --link0 10.0.0.3',
      'pve3 R pvecm status',
      ...['pve1', 'pve2', 'pve3'].flatMap((n) => [
        `${n} R pvecm status`,
        `${n} W touch /etc/pve/nodes/${n}/.pvx-write-check`,
        `${n} W rm -f /etc/pve/nodes/${n}/.pvx-write-check`,
      ]),
    ]);
    expect(p.filter((s) => s.stdin === 'secret').map((s) => s.node)).toEqual(['pve2', 'pve3']);
    expect(JSON.stringify(p)).not.toContain(SECRET);
  });

  it('with --use-ssh passes --use_ssh 1, no fingerprint and no stdin', () => {
    const d = planClusterCreate(req(['pve1', 'pve2'], { kind: 'ssh' }), { membership: states(standalone('pve1'), standalone('pve2')) }, wiring());
    if (d.kind !== 'plan') throw new Error(d.kind);
    const add = describePlan(d.plan).find((s) => s.command[1] === 'add')!;
    expect(add.command).toEqual(['pvecm', 'add', '192.0.2.1', '--link0', '10.0.0.2', '--use_ssh', '1']);
    expect(add.stdin).toBeUndefined();
  });

  it('a single node is just create and verify', () => {
    const d = planClusterCreate(req(['pve1']), { membership: states(standalone('pve1')) }, wiring());
    if (d.kind !== 'plan') throw new Error(d.kind);
    expect(d.plan.steps.map((s) => s.argv[0] + ' ' + s.argv[1])).toEqual(['pvecm create', 'pvecm status', 'touch /etc/pve/nodes/pve1/.pvx-write-check', 'rm -f']);
  });
});

describe('assessClusterCreate: idempotence and refusals', () => {
  const names = ['pve1', 'pve2', 'pve3'];
  it('is unchanged when every node is already a member, and names members not asked for', () => {
    const all = ['pve1', 'pve2', 'pve3', 'pve4'];
    expect(assessClusterCreate('lab', names, states(...names.map((n) => member(n, 'lab', all))))).toEqual({ kind: 'unchanged', members: all, others: ['pve4'] });
  });

  it('refuses a node in another cluster, a node with corosync down, and an unreachable node, all at once', () => {
    const a = assessClusterCreate('lab', names, states(member('pve1', 'other', ['pve1']), { node: 'pve2', kind: 'corosync-down', message: 'Cannot initialize CMAP service' }, { node: 'pve3', kind: 'unreachable', message: 'Connection refused' }));
    expect(a.kind).toBe('refused');
    if (a.kind !== 'refused') return;
    expect(a.problems).toEqual([
      "pve1 is already in another cluster, 'other'",
      'pve2 has a cluster configuration but corosync is not running (Cannot initialize CMAP service)',
      'pve3 unreachable: Connection refused',
    ]);
  });

  it('refuses two clusters that share the name, a standalone node the cluster still lists, and a non-quorate cluster', () => {
    expect(assessClusterCreate('lab', names, states(member('pve1', 'lab', ['pve1']), member('pve2', 'lab', ['pve2']), standalone('pve3')))).toMatchObject({
      kind: 'refused',
      problems: [expect.stringContaining('two clusters with the same name?')],
    });
    expect(assessClusterCreate('lab', names, states(member('pve1', 'lab', ['pve1', 'pve3'], { online: ['pve1'] }), standalone('pve2'), standalone('pve3')))).toMatchObject({
      kind: 'refused',
      problems: [expect.stringContaining('pve3 is standalone but cluster \'lab\' still lists it')],
    });
    expect(assessClusterCreate('lab', names, states(member('pve1', 'lab', ['pve1', 'pve9'], { quorate: false, online: ['pve1'] }), standalone('pve2'), standalone('pve3')))).toMatchObject({
      kind: 'refused',
      problems: [expect.stringContaining('is not quorate')],
    });
  });
});

describe('planClusterCreate: an existing cluster of that name', () => {
  it('joins only the missing nodes through a quorate member, with its real fingerprint and management address', () => {
    const info = parseJoinInfo(joinInfoJson('lab', [{ name: 'pve1', address: '192.0.2.11', link0: '10.0.0.1', fp: fp('ab') }, { name: 'pve2', address: '192.0.2.12', link0: '10.0.0.2', fp: fp('cd') }]));
    const d = planClusterCreate(req(), { membership: states(member('pve1', 'lab', ['pve1', 'pve2']), member('pve2', 'lab', ['pve1', 'pve2']), standalone('pve3')), joinInfo: info }, wiring());
    if (d.kind !== 'plan') throw new Error(d.kind);
    expect(d).toMatchObject({ creates: false, via: 'pve1', joiners: ['pve3'], members: ['pve1', 'pve2', 'pve3'] });
    const add = describePlan(d.plan).find((s) => s.command[1] === 'add')!;
    // pve_addr of the join information wins over the address the request knew
    expect(add.command).toEqual(['pvecm', 'add', '192.0.2.11', '--fingerprint', fp('AB'), '--link0', '10.0.0.3']);
    expect(d.plan.steps.some((s) => s.argv[1] === 'create')).toBe(false);
    expect(d.plan.steps.find((s) => s.title.startsWith('wait until'))!.title).toBe('wait until pve3 is quorate with 3 member(s)');
  });
});

describe('running the create plan (judged by output and membership, never the exit code alone)', () => {
  const created = (n: string, members: string[]) => member(n, 'lab', members);
  const info1 = joinInfoJson('lab', [{ name: 'pve1', address: '192.0.2.1', link0: '10.0.0.1', fp: fp('ab') }]);
  const createOut = 'Writing corosync config to /etc/pve/corosync.conf\nRestart corosync and cluster filesystem\n';

  function run(addResult: { exitCode?: number; stdout?: string; stderr?: string }, reader: ReturnType<typeof scriptedReader>) {
    const probe = (n: string) => `/etc/pve/nodes/${n}/.pvx-write-check`;
    const t = new FakeTransport([
      ...['pve1', 'pve2'].flatMap((n) => [
        { node: n, argv: ['touch', probe(n)], repeat: true },
        { node: n, argv: ['rm', '-f', probe(n)], repeat: true },
      ]),
      { node: 'pve1', argv: ['pvecm', 'create', 'lab', '--link0', '10.0.0.1'], result: { stdout: createOut } },
      { node: 'pve1', argv: ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'], result: { stdout: info1 } },
      { node: 'pve2', argv: ['pvecm', 'add', '192.0.2.1', '--fingerprint', fp('AB'), '--link0', '10.0.0.2'], result: addResult },
    ]);
    // the creator's management address was not read before planning: the join information gives it
    const r = req(['pve1', 'pve2']);
    const nodes = r.nodes.map(({ address: _unknown, ...n }) => n);
    const d = planClusterCreate({ ...r, nodes }, { membership: states(standalone('pve1'), standalone('pve2')) }, { read: reader, timing: fakeTiming() });
    if (d.kind === 'plan') expect(d.plan.steps.find((s) => s.argv[1] === 'add')?.argv.slice(0, 3)).toEqual(['pvecm', 'add', '<address of pve1>']);
    if (d.kind !== 'plan') throw new Error(d.kind);
    return { t, exec: executePlan(d.plan, t) };
  }

  it('feeds the password as one line on stdin and pins the fingerprint read after create', async () => {
    const reader = scriptedReader({ pve1: [created('pve1', ['pve1']), created('pve1', ['pve1', 'pve2'])], pve2: [created('pve2', ['pve1', 'pve2'])] });
    const { t, exec } = run({ stdout: "successfully added node 'pve2' to cluster.\n" }, reader);
    const r = await exec;
    expect(r.ok).toBe(true);
    expect(t.calls.find((c) => c.argv[1] === 'add')!.opts.input).toBe(`${SECRET}\n`);
  });

  it('a wrong password (exit 0, 401 on stderr) fails the join after the create: the run has changed the cluster', async () => {
    const reader = scriptedReader({ pve1: [created('pve1', ['pve1'])] });
    const r = await (await run({ exitCode: 0, stderr: '401 401 authentication failure\n' }, reader)).exec;
    expect(r.ok).toBe(false);
    expect(r.changed).toBe(true);
    expect(r.failed?.message).toBe('login to pve1 failed, wrong root password? (401 401 authentication failure)');
  });

  it('pvecm add exiting 0 without the success line is a failed join', async () => {
    const reader = scriptedReader({ pve1: [created('pve1', ['pve1'])] });
    const r = await (await run({ exitCode: 0, stdout: 'Join request OK, finishing setup locally\nstopping pve-cluster service\n' }, reader)).exec;
    expect(r.failed?.message).toBe("pvecm add exited 0 without reporting that pve2 was added: the join did not finish");
  });

  it('the success line without the node in the membership is a failed join (re-read until the settle time is up)', async () => {
    const reader = scriptedReader({ pve1: [created('pve1', ['pve1'])] });
    const r = await (await run({ stdout: "successfully added node 'pve2' to cluster.\n" }, reader)).exec;
    expect(r.failed?.message).toBe('pvecm add reported success, but pve1 does not list pve2 as a member');
    expect(reader.reads.filter((n) => n === 'pve1').length).toBeGreaterThan(2);
  });

  it('a node that never becomes quorate stops the plan when the quorum wait times out', async () => {
    const reader = scriptedReader({
      pve1: [created('pve1', ['pve1']), created('pve1', ['pve1', 'pve2'])],
      pve2: [member('pve2', 'lab', ['pve1', 'pve2'], { quorate: false, online: ['pve2'] })],
    });
    const r = await (await run({ stdout: "successfully added node 'pve2' to cluster.\n" }, reader)).exec;
    expect(r.failed?.step.title).toBe('wait until pve2 is quorate with 2 member(s)');
    expect(r.failed?.message).toBe('no quorum with 2 member(s) after 10 s: pve2 is not quorate (1 of 2 votes)');
  });

  it('a password echoed by the tool never reaches the failure message', async () => {
    const reader = scriptedReader({ pve1: [created('pve1', ['pve1'])] });
    const r = await (await run({ exitCode: 0, stderr: `bad input near '${SECRET}'\n` }, reader)).exec;
    expect(r.failed?.message).toBe("pvecm add failed (though it exited 0): bad input near '********'");
  });

  it('pvecm create exiting 0 without its closing line is a failure', async () => {
    const t = new FakeTransport([{ node: 'pve1', argv: ['pvecm', 'create', 'lab', '--link0', '10.0.0.1'], result: { stdout: '' } }]);
    const d = planClusterCreate(req(['pve1']), { membership: states(standalone('pve1')) }, wiring());
    if (d.kind !== 'plan') throw new Error(d.kind);
    const r = await executePlan(d.plan, t);
    expect(r.failed?.message).toContain("without its closing line 'Restart corosync and cluster filesystem'");
  });
});
