import { describe, expect, it } from 'vitest';
import { executePlan, type PlanEvent } from '../../../src/workflows/execute.js';
import type { Plan, Step } from '../../../src/workflows/plan.js';
import type { ExecOptions, ExecResult, Transport } from '../../../src/transport/types.js';
import { verifySteps } from '../../../src/workflows/cluster/verify.js';

/** A transport whose commands wait until the test releases them; it records starts and ends in order. */
class Held implements Transport {
  readonly log: string[] = [];
  private readonly waiting = new Map<string, () => void>();
  fail = new Set<string>();
  async exec(node: string, argv: readonly string[], _opts?: ExecOptions): Promise<ExecResult> {
    const key = `${node} ${argv.join(' ')}`;
    this.log.push(`start ${key}`);
    await new Promise<void>((r) => this.waiting.set(key, r));
    this.log.push(`end ${key}`);
    return { exitCode: this.fail.has(key) ? 1 : 0, stdout: '', stderr: this.fail.has(key) ? `${key} failed\n` : '', durationMs: 1 };
  }
  /** Let the command `key` finish, once it has started. */
  async release(key: string): Promise<void> {
    for (let i = 0; i < 100 && !this.waiting.has(key); i++) await new Promise((r) => setImmediate(r));
    const r = this.waiting.get(key);
    if (!r) throw new Error(`${key} never started; log: ${this.log.join('; ')}`);
    this.waiting.delete(key);
    r();
  }
  started(): string[] {
    return this.log.filter((l) => l.startsWith('start ')).map((l) => l.slice(6));
  }
}

const step = (node: string, word: string, group?: string): Step => ({ node, title: `${word} on ${node}`, argv: [word], mutates: word !== 'read', ...(group ? { group } : {}) });
const tick = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('executePlan: a group of steps runs at once, one chain per node', () => {
  const plan: Plan = {
    title: 'g',
    steps: [step('a', 'change'), step('a', 'read', 'v'), step('a', 'touch', 'v'), step('b', 'read', 'v'), step('b', 'touch', 'v'), step('c', 'after')],
  };

  it('starts every node first step together, keeps each node in plan order, reports in plan order', async () => {
    const t = new Held();
    const events: string[] = [];
    const run = executePlan(plan, t, { onEvent: (e: PlanEvent) => void events.push(`${e.type} ${e.step.title}`) });
    await t.release('a change');
    await tick();
    // both nodes' first checks run at once; no node's second step before its first ended
    expect(t.started()).toEqual(['a change', 'a read', 'b read']);
    await t.release('b read');
    await tick();
    expect(t.started()).toEqual(['a change', 'a read', 'b read', 'b touch']);
    await t.release('b touch');
    await t.release('a read');
    await t.release('a touch');
    await t.release('c after');
    const r = await run;
    expect(r.ok).toBe(true);
    expect(r.done.map((s) => s.title)).toEqual(plan.steps.map((s) => s.title));
    expect(events.filter((e) => e.startsWith('succeeded'))).toEqual(plan.steps.map((s) => `succeeded ${s.title}`));
  });

  it('a failure stops its node chain and the run at that step; the other node finishes before the executor returns', async () => {
    const t = new Held();
    t.fail.add('a read');
    const run = executePlan(plan, t);
    await t.release('a change');
    await tick();
    await t.release('a read');
    await tick();
    let returned = false;
    void run.then(() => (returned = true));
    await tick();
    // b's chain is still running: the executor waits for it
    expect(returned).toBe(false);
    await t.release('b read');
    await t.release('b touch');
    const r = await run;
    expect(r.ok).toBe(false);
    expect(r.failed?.step.title).toBe('read on a');
    expect(r.failed?.message).toBe('a read failed');
    // a's touch never ran after a's read failed, and nothing after the group ran
    expect(t.started()).toEqual(['a change', 'a read', 'b read', 'b touch']);
    expect(r.done.map((s) => s.title)).toEqual(['change on a']);
  });

  it('Ctrl-C during a group stops the run at the next step boundary, after what the group started has ended', async () => {
    const t = new Held();
    const ac = new AbortController();
    const run = executePlan(plan, t, { signal: ac.signal, onEvent: (e) => void (e.type === 'succeeded' && e.step.title === 'read on a' && ac.abort()) });
    await t.release('a change');
    await tick();
    await t.release('a read');
    await t.release('b read');
    await t.release('a touch');
    await t.release('b touch');
    const r = await run;
    expect(r.cancelled).toBe(true);
    expect(t.started()).not.toContain('c after');
  });

  it('the final verification of a cluster change is one group: membership, write, removal per node', () => {
    const steps = verifySteps(['a', 'b'], { cluster: 'c', members: ['a', 'b'], partition: 2 }, async () => {
      throw new Error('not read here');
    }, { quorumTimeoutMs: 1, settleTimeoutMs: 1, pollMs: 1, membershipPollMs: 1, now: () => 0, sleep: async () => undefined });
    expect(steps.map((s) => [s.node, s.group])).toEqual([['a', 'verify'], ['a', 'verify'], ['a', 'verify'], ['b', 'verify'], ['b', 'verify'], ['b', 'verify']]);
    expect(steps.map((s) => s.argv[0])).toEqual(['pvecm', 'touch', 'rm', 'pvecm', 'touch', 'rm']);
  });
});
