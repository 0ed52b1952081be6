/**
 * Preflight over one conversation per node: the facts read, the clock samples and the UDP probe
 * ride one remote command. The node starts its facts jobs, answers clock pings while they run,
 * prints the facts the probe plan needs, then takes its plan (which pvx can only write once every
 * node has sent those) and probes while its slow reads finish. One ssh process per node instead
 * of three to five, and the clock is sampled over a session that is already open, so its round
 * trip no longer counts the session's start.
 */
import type { InventoryNode } from '../../config/inventory.js';
import { UnreachableError } from '../../errors.js';
import { readOnlyScript } from '../../transport/read-only-scripts.js';
import type { Conversation } from '../../transport/types.js';
import { clockReading } from './clock.js';
import { FACTS_PARTS, type SectionName } from './script.js';
import { factsFromRun, probeOutcome, probePlans, type GatherEnv, type Gathered, type ProbeOutcome } from './gather.js';
import { unreachableFacts } from './node-facts.js';
import { emptyProbeResults, PROBE_PROGRAM, PROBE_TIMING, probeLine, type ProbePlan, type ProbeTiming } from './udp-probe.js';
import type { ClockReading, NodeFacts, Reading } from './types.js';

const READY = '@@pvx-ready';
const CLOCK = '@@pvx-clock ';
const PLAN_FACTS = '@@pvx-plan-facts';
const FACTS_END = '@@pvx-facts-end';

const fast = FACTS_PARTS.jobs.filter((j) => !j.slow);
const slow = FACTS_PARTS.jobs.filter((j) => j.slow);

/** The lines that frame a session's output (for stand-ins of nodes in tests). */
export const SESSION_MARKS = { ready: READY, clock: CLOCK, planFacts: PLAN_FACTS, factsEnd: FACTS_END } as const;

/** Which sections come before the probe plan and which after it. */
export function sessionSections(): { early: SectionName[]; late: SectionName[] } {
  return { early: ['hostname', ...fast.flatMap((j) => j.sections)], late: slow.flatMap((j) => j.sections) };
}

// Lines pvx writes: 't' asks for the time, 'facts' ends the clock samples; then 'probe' and the
// plan's line, or 'none'. A date that fails answers '!<exit code>', so no ping goes unanswered.
// The probe needs only the fast reads (addresses, corosync's state, ports in use), so it runs
// while the slow ones (pveversion, chrony) still do; its output waits in a file until they end.
// fd 3 keeps the session's stdin for perl: a background job's own stdin is /dev/null.
const SESSION = [
  ...FACTS_PARTS.setup,
  'exec 3<&0',
  'p=$1; A=; B=; P=',
  ...FACTS_PARTS.sync,
  ...fast.map((j) => `${j.line} & A="$A $!"`),
  ...slow.map((j) => `${j.line} & B="$B $!"`),
  `echo ${READY}`,
  `while IFS= read -r l && [ "$l" = t ]; do date '+${CLOCK}%s.%N' || echo "${CLOCK}!$?"; done`,
  'wait $A',
  ...FACTS_PARTS.printLines(sessionSections().early),
  `printf '\\n${PLAN_FACTS}\\n'`,
  'IFS= read -r l || l=none',
  'if [ "$l" = probe ]; then perl -e "$p" -- - <&3 >"$d/probe.o" 2>"$d/probe.e" & P=$!; fi',
  'wait $B',
  ...FACTS_PARTS.printLines(sessionSections().late),
  `printf '\\n${FACTS_END}\\n'`,
  'if [ -z "$P" ]; then exit 0; fi',
  'wait $P; c=$?; cat "$d/probe.o"; cat "$d/probe.e" >&2; exit $c',
].join('\n');
// dry-run may run it with exactly this probe program as $1: that argument is code the script runs
const SESSION_ARGS = ['pvx-preflight', PROBE_PROGRAM] as const;
readOnlyScript(SESSION, { args: SESSION_ARGS });

/** The exact command of a node's session (its only argument is the probe's perl program). */
export function sessionArgv(): string[] {
  return ['sh', '-c', SESSION, ...SESSION_ARGS];
}

// generous: pveversion and friends are slow perl programs on a busy node
const FACTS_TIMEOUT_MS = 60_000;
/** Up to this many clock pings; a sample this precise ends them early. */
const CLOCK_PINGS = 3;
const CLOCK_GOOD_SEC = 0.02;

/** One clock ping over the open session: the NTP idea, on a round trip of milliseconds. */
async function ping(env: GatherEnv, c: Conversation): Promise<Reading<ClockReading> | undefined> {
  const before = env.now();
  c.write('t\n');
  const line = await c.line();
  const after = env.now();
  if (line === undefined) return undefined;
  if (!line.startsWith(CLOCK)) return { ok: false, reason: 'garbage', message: `the clock sample printed '${line.slice(0, 40)}'` };
  const text = line.slice(CLOCK.length);
  const failed = /^!(\d+)$/.exec(text);
  const exitCode = failed ? Number(failed[1]) : 0;
  return clockReading({ exitCode, stdout: failed ? '' : text, stderr: '', durationMs: after - before }, before, after);
}

async function sampleClock(env: GatherEnv, c: Conversation): Promise<Reading<ClockReading> | undefined> {
  let best: Reading<ClockReading> | undefined;
  for (let i = 0; i < CLOCK_PINGS; i++) {
    const r = await ping(env, c);
    if (!r) break;
    if (!best || (r.ok && (!best.ok || r.value.uncertaintySec < best.value.uncertaintySec))) best = r;
    if (!best.ok || best.value.uncertaintySec <= CLOCK_GOOD_SEC) break;
  }
  return best;
}

const NO_CLOCK: Reading<ClockReading> = { ok: false, reason: 'failed', message: 'the node ended the session before its clock was read' };

/** What precedes `mark` in a session's stdout (all of it when the mark never came). */
function before(stdout: string, mark: string): string {
  const at = stdout.indexOf(`\n${mark}\n`);
  return at < 0 ? stdout : stdout.slice(0, at);
}

/** What follows `mark` (nothing when it never came). */
function after(stdout: string, mark: string): string {
  const m = `\n${mark}\n`;
  const at = stdout.indexOf(m);
  return at < 0 ? '' : stdout.slice(at + m.length);
}

/** Lines up to `mark`, joined back into text; undefined when output ended first. */
async function upTo(c: Conversation, mark: string): Promise<string | undefined> {
  const lines: string[] = [];
  for (let l = await c.line(); l !== mark; l = await c.line()) {
    if (l === undefined) return undefined;
    lines.push(l);
  }
  return lines.join('\n');
}

/** A promise settled from outside, once. */
function settleOnce<T>() {
  let done = false;
  let ok!: (v: T) => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    ok = resolve;
    fail = reject;
  });
  return {
    promise,
    get done() {
      return done;
    },
    resolve(v: T) {
      if (!done) ok(v);
      done = true;
    },
    reject(e: unknown) {
      if (!done) fail(e);
      done = true;
    },
  };
}

/**
 * One node's session: the facts the probe plan needs as soon as they are in, then all its facts,
 * then its probe outcome (none without a plan).
 */
function runSession(env: GatherEnv, node: InventoryNode, plans: Promise<ReadonlyMap<string, ProbePlan>>, timing: ProbeTiming) {
  const early = settleOnce<NodeFacts>();
  const full = settleOnce<NodeFacts>();
  // nobody waits for the full facts when the early ones already failed
  full.promise.catch(() => undefined);
  let clock = NO_CLOCK;
  let probing = false;
  const probe: Promise<ProbeOutcome | undefined> = env.transport
    .exec(node.name, sessionArgv(), {
      title: 'read preflight facts, sample the clock, probe corosync UDP ports',
      timeoutMs: FACTS_TIMEOUT_MS + (timing.waitSec + 20) * 1000,
      converse: async (c) => {
        for (let l = await c.line(); l !== READY; l = await c.line()) if (l === undefined) return;
        clock = (await sampleClock(env, c)) ?? NO_CLOCK;
        c.write('facts\n');
        const first = await upTo(c, PLAN_FACTS);
        if (first === undefined) return;
        early.resolve(factsFromRun(node, { exitCode: 0, stdout: first, stderr: '' }, clock));
        const plan = (await plans).get(node.name);
        probing = plan !== undefined;
        c.write(plan ? `probe\n${probeLine(plan, timing)}\n` : 'none\n');
        c.end();
        const rest = await upTo(c, FACTS_END);
        if (rest === undefined) return;
        full.resolve(factsFromRun(node, { exitCode: 0, stdout: first + rest, stderr: '' }, clock));
      },
    })
    .then(
      (r) => {
        // a script that ended early: what it printed, and why
        const facts = factsFromRun(node, { ...r, stdout: before(r.stdout, FACTS_END).replace(`\n${PLAN_FACTS}\n`, '') }, clock);
        early.resolve(facts);
        full.resolve(facts);
        return probing ? probeOutcome({ ...r, stdout: after(r.stdout, FACTS_END) }) : undefined;
      },
      (e: unknown) => {
        if (!(e instanceof UnreachableError)) {
          // a bug: surfaces through the facts, or through the probe once the facts are in
          const late = early.done;
          early.reject(e);
          full.reject(e);
          if (late) throw e;
          return undefined;
        }
        const facts = unreachableFacts(node, e);
        early.resolve(facts);
        full.resolve(facts);
        return probing ? { ok: false as const, message: e.message } : undefined;
      },
    );
  return { early: early.promise, facts: full.promise, probe };
}

/** Every node's facts and the UDP probe between them, over one conversation per node. */
export async function gatherBySession(env: GatherEnv, nodes: readonly InventoryNode[], onProbing?: (nodes: number) => void): Promise<Gathered> {
  // a transport that ignored the conversation would leave every node waiting on its stdin
  if (!env.transport.conversations) throw new Error('preflight needs a transport that holds conversations');
  const timing = env.probeTiming ?? PROBE_TIMING;
  let givePlans!: (p: ReadonlyMap<string, ProbePlan>) => void;
  const plansReady = new Promise<ReadonlyMap<string, ProbePlan>>((r) => (givePlans = r));
  const runs = nodes.map((n) => runSession(env, n, plansReady, timing));
  let read: NodeFacts[];
  try {
    read = await Promise.all(runs.map((r) => r.early));
  } catch (e) {
    // no probe runs after a failure: let every session end before reporting it
    givePlans(new Map());
    await Promise.allSettled(runs.map((r) => r.probe));
    throw e;
  }
  const plans = probePlans(
    nodes.map((n) => n.name),
    new Map(read.map((f) => [f.name, f])),
  );
  if (plans.size > 0) onProbing?.(plans.size);
  givePlans(plans);
  const [all, outcomes] = await Promise.all([Promise.all(runs.map((r) => r.facts)), Promise.all(runs.map((r) => r.probe))]);
  const facts = new Map(all.map((f) => [f.name, f]));
  if (plans.size === 0) return { facts, udp: emptyProbeResults() };
  const outputs = new Map<string, ProbeOutcome>();
  nodes.forEach((n, i) => {
    const o = outcomes[i];
    if (o && plans.has(n.name)) outputs.set(n.name, o);
  });
  return { facts, udp: { waitSec: timing.waitSec, plans: new Map(plans), outputs } };
}
