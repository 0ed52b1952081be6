import { describe, expect, it } from 'vitest';
import { changedWords, executePlan, type PlanEvent } from '../../../src/workflows/execute.js';
import { UnreachableError } from '../../../src/errors.js';
import { describePlan, type Plan } from '../../../src/workflows/plan.js';
import { DryRunTransport } from '../../../src/transport/dry-run.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { isLockTimeout } from '../../../src/pve/parse/lock-timeout.js';

const plan = (extra: Partial<Plan> = {}): Plan => ({
  title: 't',
  steps: [
    { node: 'a', title: 'read', argv: ['pvecm', 'status'], mutates: false },
    { node: 'a', title: 'create', argv: ['pvecm', 'create', 'c1'], mutates: true, undo: [{ node: 'a', title: 'undo create', argv: ['rm', '-f', '/x'], mutates: true }] },
    { node: 'b', title: 'join', argv: ['pvecm', 'add', 'a'], mutates: true, input: () => 'secret-pw', judge: (r) => (r.stdout.includes('successfully added') ? undefined : 'join did not finish') },
  ],
  ...extra,
});

describe('executePlan', () => {
  const LOCKED = { exitCode: 255, stderr: "create resource failed: cfs-lock 'domain-ha' error: got lock request timeout\n" };
  const haAdd = (retry = true): Plan => ({
    title: 'ha',
    steps: [{ node: 'a', title: 'add vm:100', argv: ['ha-manager', 'add', 'vm:100'], mutates: true, ...(retry ? { retry: { when: isLockTimeout, delaysMs: [2000, 5000] } } : {}) }],
  });

  it('runs a step again after its pauses while its lock was held elsewhere, and goes on once it gets it', async () => {
    const t = new FakeTransport([
      { node: 'a', argv: ['ha-manager', 'add', 'vm:100'], result: LOCKED },
      { node: 'a', argv: ['ha-manager', 'add', 'vm:100'], result: LOCKED },
      { node: 'a', argv: ['ha-manager', 'add', 'vm:100'] },
    ]);
    const slept: number[] = [];
    const run = await executePlan(haAdd(), t, { sleep: async (ms) => void slept.push(ms) });
    t.verify();
    expect(run.ok).toBe(true);
    expect(slept).toEqual([2000, 5000]);
  });

  it('fails with the last answer once the pauses are used up; other failures and steps without retry are not tried again', async () => {
    const locked = new FakeTransport(Array.from({ length: 3 }, () => ({ node: 'a', argv: ['ha-manager', 'add', 'vm:100'], result: LOCKED })));
    const run = await executePlan(haAdd(), locked, { sleep: async () => undefined });
    locked.verify();
    expect(run.failed?.message).toBe("create resource failed: cfs-lock 'domain-ha' error: got lock request timeout");
    const other = new FakeTransport([{ node: 'a', argv: ['ha-manager', 'add', 'vm:100'], result: { exitCode: 255, stderr: "resource ID 'vm:100' already defined\n" } }]);
    expect((await executePlan(haAdd(), other, { sleep: async () => undefined })).ok).toBe(false);
    other.verify();
    const plain = new FakeTransport([{ node: 'a', argv: ['ha-manager', 'add', 'vm:100'], result: LOCKED }]);
    expect((await executePlan(haAdd(false), plain, { sleep: async () => undefined })).ok).toBe(false);
    plain.verify();
  });

  it('starts no new try after Ctrl-C: the step fails as it stands', async () => {
    const ac = new AbortController();
    const t = new FakeTransport([{ node: 'a', argv: ['ha-manager', 'add', 'vm:100'], result: LOCKED }]);
    const run = await executePlan(haAdd(), t, { signal: ac.signal, sleep: async () => undefined, onEvent: (e) => void (e.type === 'started' && ac.abort()) });
    t.verify();
    expect(run.ok).toBe(false);
    expect(run.changed).toBe(false);
  });

  it('runs steps in order, feeds the secret on stdin and reports events', async () => {
    const t = new FakeTransport([
      { node: 'a', argv: ['pvecm', 'status'] },
      { node: 'a', argv: ['pvecm', 'create', 'c1'] },
      { node: 'b', argv: ['pvecm', 'add', 'a'], result: { stdout: "successfully added node 'b' to cluster.\n" } },
    ]);
    const events: PlanEvent['type'][] = [];
    const run = await executePlan(plan(), t, { onEvent: (e) => void events.push(e.type) });
    t.verify();
    expect(run.ok).toBe(true);
    expect(run.changed).toBe(true);
    expect(events).toEqual(['started', 'succeeded', 'started', 'succeeded', 'started', 'succeeded']);
    expect(t.calls[2]!.opts.input).toBe('secret-pw');
  });

  it('judges by output, not by exit code, and undoes earlier changes', async () => {
    const t = new FakeTransport([
      { node: 'a', argv: ['pvecm', 'status'] },
      { node: 'a', argv: ['pvecm', 'create', 'c1'] },
      { node: 'b', argv: ['pvecm', 'add', 'a'], result: { exitCode: 0, stderr: '401 authentication failure\n' } },
      { node: 'a', argv: ['rm', '-f', '/x'] },
    ]);
    const events: string[] = [];
    const run = await executePlan(plan(), t, { onEvent: (e) => void events.push(`${e.type}:${e.step.title}`) });
    t.verify();
    expect(run.ok).toBe(false);
    expect(run.failed?.message).toBe('join did not finish');
    expect(run.changed).toBe(false);
    expect(events).toContain('undone:create');
  });

  it('reports a change that could not be undone', async () => {
    const p = plan();
    delete p.steps[1]!.undo;
    const t = new FakeTransport([
      { node: 'a', argv: ['pvecm', 'status'] },
      { node: 'a', argv: ['pvecm', 'create', 'c1'] },
      { node: 'b', argv: ['pvecm', 'add', 'a'], unreachable: true },
    ]);
    const run = await executePlan(p, t);
    expect(run.ok).toBe(false);
    expect(run.changed).toBe(true);
    expect(run.failed?.unreachable).toBe(true);
  });

  it('a change whose command was cut off may have run: the run counts as changed, a refused login does not', async () => {
    const one: Plan = { title: 'one', steps: [{ node: 'a', title: 'create', argv: ['pvecm', 'create', 'c1'], mutates: true }] };
    const throwing = (e: Error) => ({ exec: async () => Promise.reject(e) });
    const broke = await executePlan(one, throwing(new UnreachableError('a', 'connection to a lost: Broken pipe')));
    expect(broke).toMatchObject({ ok: false, changed: true, uncertain: true, failed: { unreachable: true, cutOff: true } });
    expect(changedWords(broke)).toBe('where a change may have run (its command was cut off)');
    const refused = await executePlan(one, throwing(new UnreachableError('a', 'cannot reach a over SSH: Connection refused', { beforeCommand: true })));
    expect(refused).toMatchObject({ ok: false, changed: false, uncertain: false, failed: { unreachable: true, cutOff: false } });
    // the transport's word for a session that broke after the command started, or hit its time limit
    const cut = await executePlan(one, new FakeTransport([{ node: 'a', argv: ['pvecm', 'create', 'c1'], result: { exitCode: 255, stderr: 'Connection to 10.0.0.1 closed by remote host.\n', cutOff: true } }]));
    expect(cut).toMatchObject({ ok: false, changed: true, uncertain: true });
    // a read cut off changes nothing
    const read: Plan = { title: 'read', steps: [{ node: 'a', title: 'read', argv: ['pvecm', 'status'], mutates: false }] };
    expect(await executePlan(read, throwing(new UnreachableError('a', 'connection to a lost: Broken pipe')))).toMatchObject({ ok: false, changed: false, uncertain: false });
    // a command that failed on its own, whole, changed nothing
    const failed = await executePlan(one, new FakeTransport([{ node: 'a', argv: ['pvecm', 'create', 'c1'], result: { exitCode: 255, stderr: 'cluster config already exists\n' } }]));
    expect(failed).toMatchObject({ ok: false, changed: false, uncertain: false });
    expect(changedWords({ ...broke, done: one.steps })).toBe('after changes');
  });

  it('stops between steps when cancelled', async () => {
    const ac = new AbortController();
    const t = new FakeTransport([{ node: 'a', argv: ['pvecm', 'status'] }]);
    const run = await executePlan(plan(), t, { signal: ac.signal, onEvent: (e) => { if (e.type === 'succeeded') ac.abort(); } });
    expect(run.cancelled).toBe(true);
    expect(run.done).toHaveLength(1);
  });

  it('under dry-run, reads run and writes are only recorded', async () => {
    const fake = new FakeTransport([{ node: 'a', argv: ['pvecm', 'status'] }]);
    const dry = new DryRunTransport(fake);
    const p = plan();
    p.steps[2]!.judge = undefined;
    const run = await executePlan(p, dry);
    fake.verify();
    expect(run.ok).toBe(true);
    expect(dry.planned.map((c) => c.command.join(' '))).toEqual(['pvecm create c1', 'pvecm add a']);
  });

  it('describes a plan without its secrets', () => {
    const d = describePlan(plan());
    expect(d[2]).toEqual({ node: 'b', title: 'join', command: ['pvecm', 'add', 'a'], mutates: true, stdin: 'secret' });
    expect(JSON.stringify(d)).not.toContain('secret-pw');
  });

  it('runs the argv completed at run time and prints the planned one', async () => {
    let learned = '';
    const p: Plan = {
      title: 't',
      steps: [
        { node: 'a', title: 'read', argv: ['pvesh', 'get', '/x'], mutates: false, run: async () => ((learned = 'FP'), { ok: true }) },
        { node: 'b', title: 'join', argv: ['pvecm', 'add', 'a', '--fingerprint', '<fp>'], argvAtRun: () => ['pvecm', 'add', 'a', '--fingerprint', learned], mutates: true },
      ],
    };
    const t = new FakeTransport([{ node: 'b', argv: ['pvecm', 'add', 'a', '--fingerprint', 'FP'] }]);
    const run = await executePlan(p, t);
    t.verify();
    expect(run.ok).toBe(true);
    expect(describePlan(p)[1]!.command).toEqual(['pvecm', 'add', 'a', '--fingerprint', '<fp>']);
  });
});
