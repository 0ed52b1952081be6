/**
 * Preflight over one conversation per node: the facts read, the clock samples and the UDP probe
 * ride one remote command. The node starts its facts jobs, answers clock pings while they run,
 * prints the facts, then waits for its probe plan, which pvx can only write once every node's
 * facts are in. One ssh process per node instead of three to five, and the clock is sampled over
 * a session that is already open, so its round trip no longer counts the session's start.
 */
import type { InventoryNode } from '../config/inventory.js';
import { UnreachableError } from '../errors.js';
import type { Conversation } from '../transport/types.js';
import { clockReading } from './clock-probe.js';
import { FACTS_PARTS } from './facts-script.js';
import { factsFromRun, probeOutcome, probePlans, type GatherEnv, type Gathered, type ProbeOutcome } from './gather.js';
import { unreachableFacts } from './node-facts.js';
import { emptyProbeResults, PROBE_PROGRAM, PROBE_TIMING, probeLine, type ProbePlan, type ProbeTiming } from './udp-probe.js';
import type { ClockReading, NodeFacts, Reading } from './types.js';

const READY = '@@pvx-ready';
const CLOCK = '@@pvx-clock ';
const FACTS_END = '@@pvx-facts-end';

// Lines pvx writes: 't' asks for the time, 'facts' ends the clock samples; then 'probe' and the
// plan's line, or 'none'. A date that fails answers '!<exit code>', so no ping goes unanswered.
const SESSION = [
  ...FACTS_PARTS.setup,
  'p=$1',
  ...FACTS_PARTS.jobs,
  `echo ${READY}`,
  `while IFS= read -r l && [ "$l" = t ]; do date '+${CLOCK}%s.%N' || echo "${CLOCK}!$?"; done`,
  'wait',
  ...FACTS_PARTS.print,
  `printf '\\n${FACTS_END}\\n'`,
  'IFS= read -r l || exit 0',
  'if [ "$l" = probe ]; then perl -e "$p" -- -; else exit 0; fi',
].join('\n');

/** The exact command of a node's session (its only argument is the probe's perl program). */
export function sessionArgv(): string[] {
  return ['sh', '-c', SESSION, 'pvx-preflight', PROBE_PROGRAM];
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

/** The facts part of a session's stdout (what precedes the end mark; all of it when there is none). */
function factsText(stdout: string): string {
  const at = stdout.indexOf(`\n${FACTS_END}\n`);
  return at < 0 ? stdout : stdout.slice(0, at);
}

function probeText(stdout: string): string {
  const mark = `\n${FACTS_END}\n`;
  const at = stdout.indexOf(mark);
  return at < 0 ? '' : stdout.slice(at + mark.length);
}

/** One node's session: its facts as soon as they are in, and later its probe outcome (none without a plan). */
function runSession(env: GatherEnv, node: InventoryNode, plans: Promise<ReadonlyMap<string, ProbePlan>>, timing: ProbeTiming) {
  let settleFacts!: (f: NodeFacts) => void;
  let failFacts!: (e: unknown) => void;
  let settled = false;
  const facts = new Promise<NodeFacts>((resolve, reject) => {
    settleFacts = (f) => {
      if (!settled) resolve(f);
      settled = true;
    };
    failFacts = (e) => {
      if (!settled) reject(e);
      settled = true;
    };
  });
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
        const lines: string[] = [];
        for (let l = await c.line(); l !== FACTS_END; l = await c.line()) {
          if (l === undefined) return;
          lines.push(l);
        }
        settleFacts(factsFromRun(node, { exitCode: 0, stdout: lines.join('\n'), stderr: '' }, clock));
        const plan = (await plans).get(node.name);
        probing = plan !== undefined;
        c.write(plan ? `probe\n${probeLine(plan, timing)}\n` : 'none\n');
        c.end();
      },
    })
    .then(
      (r) => {
        // a script that ended before its facts were complete: what it printed, and why
        settleFacts(factsFromRun(node, { ...r, stdout: factsText(r.stdout) }, clock));
        return probing ? probeOutcome({ ...r, stdout: probeText(r.stdout) }) : undefined;
      },
      (e: unknown) => {
        if (!(e instanceof UnreachableError)) {
          // a bug: surfaces through the facts, or through the probe once the facts are in
          const late = settled;
          failFacts(e);
          if (late) throw e;
          return undefined;
        }
        settleFacts(unreachableFacts(node, e));
        return probing ? { ok: false as const, message: e.message } : undefined;
      },
    );
  return { facts, probe };
}

/** Every node's facts and the UDP probe between them, over one conversation per node. */
export async function gatherBySession(env: GatherEnv, nodes: readonly InventoryNode[], onProbing?: (nodes: number) => void): Promise<Gathered> {
  const timing = env.probeTiming ?? PROBE_TIMING;
  let givePlans!: (p: ReadonlyMap<string, ProbePlan>) => void;
  const plansReady = new Promise<ReadonlyMap<string, ProbePlan>>((r) => (givePlans = r));
  const runs = nodes.map((n) => runSession(env, n, plansReady, timing));
  let read: NodeFacts[];
  try {
    read = await Promise.all(runs.map((r) => r.facts));
  } catch (e) {
    // no probe runs after a failure: let every session end before reporting it
    givePlans(new Map());
    await Promise.all(runs.map((r) => r.probe));
    throw e;
  }
  const facts = new Map(read.map((f) => [f.name, f]));
  const plans = probePlans(
    nodes.map((n) => n.name),
    facts,
  );
  if (plans.size > 0) onProbing?.(plans.size);
  givePlans(plans);
  const outcomes = await Promise.all(runs.map((r) => r.probe));
  if (plans.size === 0) return { facts, udp: emptyProbeResults() };
  const outputs = new Map<string, ProbeOutcome>();
  nodes.forEach((n, i) => {
    const o = outcomes[i];
    if (o && plans.has(n.name)) outputs.set(n.name, o);
  });
  return { facts, udp: { waitSec: timing.waitSec, plans: new Map(plans), outputs } };
}
