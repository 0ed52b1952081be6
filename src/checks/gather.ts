/**
 * Reads every node. Over a transport that holds conversations, one session per node does it all
 * (node-session.ts). Otherwise in two rounds: first the facts read and the clock sample of all
 * nodes at once, then the UDP probe of all nodes at once (it needs every node's link0 and
 * corosync state).
 */
import type { InventoryNode } from '../config/inventory.js';
import { UnreachableError } from '../errors.js';
import type { ExecResult, Transport } from '../transport/types.js';
import { clockArgv, clockReading } from './clock-probe.js';
import { factsArgv, parseSections } from './facts-script.js';
import { factsFromSections, link0IsLocal, unreachableFacts } from './node-facts.js';
import { COROSYNC_PORTS, emptyProbeResults, PROBE_TIMING, parseProbeOutput, probeArgv, type ProbeOutput, type ProbePlan, type ProbeTiming, type UdpProbeResults } from './udp-probe.js';
import type { ClockReading, NodeFacts, Reading } from './types.js';

/** What gathering needs from its caller. */
export interface GatherEnv {
  transport: Transport;
  /** workstation clock, milliseconds since the epoch */
  now(): number;
  probeTiming?: ProbeTiming;
}

// generous: pveversion and friends are slow perl programs on a busy node
const FACTS_TIMEOUT_MS = 60_000;
const CLOCK_TIMEOUT_MS = 20_000;

async function readClock(env: GatherEnv, node: string): Promise<Reading<ClockReading>> {
  const before = env.now();
  const r = await env.transport.exec(node, clockArgv(), { timeoutMs: CLOCK_TIMEOUT_MS, title: 'read the clock' });
  return clockReading(r, before, env.now());
}

/** A sample this precise is kept (a multiplexed `date` takes ~0.1-0.2 s here); the NTP way, a less precise one is taken again and the tightest kept. */
const CLOCK_PRECISE_SEC = 0.15;
const CLOCK_RESAMPLES = 2;

/** Re-sample a clock whose round trip was long (a busy node, or the facts read beside it). */
async function tightestClock(env: GatherEnv, node: string, first: Reading<ClockReading>): Promise<Reading<ClockReading>> {
  let best = first;
  for (let i = 0; i < CLOCK_RESAMPLES && best.ok && best.value.uncertaintySec > CLOCK_PRECISE_SEC; i++) {
    const next = await readClock(env, node);
    if (next.ok && best.ok && next.value.uncertaintySec < best.value.uncertaintySec) best = next;
  }
  return best;
}

/** Round 1 for one node: the facts read and the clock sample ride the same connection side by side. */
export async function readNode(env: GatherEnv, node: InventoryNode): Promise<NodeFacts> {
  const facts = env.transport.exec(node.name, factsArgv(), { timeoutMs: FACTS_TIMEOUT_MS, title: 'read preflight facts' });
  const clock = readClock(env, node.name);
  const [f, c] = await Promise.allSettled([facts, clock]);
  if (f.status === 'rejected') {
    if (f.reason instanceof UnreachableError) return unreachableFacts(node, f.reason);
    throw f.reason;
  }
  let clockValue: Reading<ClockReading>;
  if (c.status === 'fulfilled') clockValue = await tightestClock(env, node.name, c.value).catch((e: unknown) => (e instanceof UnreachableError ? c.value : Promise.reject(e)));
  else if (c.reason instanceof UnreachableError) clockValue = { ok: false, reason: 'failed', message: c.reason.message };
  else throw c.reason;
  return factsFromRun(node, f.value, clockValue);
}

/** A node's facts from what the facts script printed; when it printed nothing, why it did not run. */
export function factsFromRun(node: InventoryNode, r: Pick<ExecResult, 'exitCode' | 'stdout' | 'stderr'>, clock: Reading<ClockReading>): NodeFacts {
  const sections = parseSections(r.stdout);
  const facts = factsFromSections(node, sections, clock);
  if (sections.size === 0) {
    // the script itself did not run (no /bin/sh, no mktemp, a timeout): keep what the shell said
    const why = r.exitCode === 124 ? 'the facts read timed out' : `the facts read failed (exit code ${r.exitCode}): ${r.stderr.trim().split('\n').pop() ?? ''}`;
    return { ...facts, scriptProblem: why };
  }
  return facts;
}

/**
 * The ports a node may echo on. Where corosync runs: none of the ports its configured links use
 * (link N is UDP 5405+N) and none that anything holds; nothing at all when that is unknown.
 */
export function listenPorts(f: NodeFacts): number[] {
  const inUse = f.udpPortsInUse.ok ? f.udpPortsInUse.value : undefined;
  if (!f.corosyncRunning) return [...COROSYNC_PORTS];
  const cluster = f.cluster.ok ? f.cluster.value : null;
  if (!cluster || inUse === undefined) return [];
  const corosyncs = new Set(cluster.linkNumbers.map((n) => (COROSYNC_PORTS[0] as number) + n));
  return COROSYNC_PORTS.filter((p) => !corosyncs.has(p) && !inUse.includes(p));
}

/**
 * Who probes whom: every node echoes on the ports it may use and probes every peer's echo ports.
 * Nodes that could not be read, or have no usable link0 address, sit out.
 */
export function probePlans(nodes: readonly string[], facts: ReadonlyMap<string, NodeFacts>): Map<string, ProbePlan> {
  const able = nodes.filter((n) => {
    const f = facts.get(n);
    return f?.reachable && f.link0 !== undefined && !f.scriptProblem && link0IsLocal(f) !== false;
  });
  const ports = new Map(able.map((n) => [n, listenPorts(facts.get(n) as NodeFacts)]));
  const plans = new Map<string, ProbePlan>();
  for (const n of able) {
    const self = facts.get(n)?.link0 ?? '';
    const listen = ports.get(n) ?? [];
    const peers = able.filter((p) => p !== n);
    const targets = peers.filter((p) => (ports.get(p) ?? []).length > 0).map((p) => ({ address: facts.get(p)?.link0 ?? '', ports: ports.get(p) ?? [] }));
    const expect = listen.length > 0 ? peers.map((p) => facts.get(p)?.link0 ?? '') : [];
    if (targets.length === 0 && expect.length === 0) continue;
    plans.set(n, { node: n, self, listen, expect, targets });
  }
  return plans;
}

/** What one node's probe run says, or why it says nothing. */
export type ProbeOutcome = { ok: true; output: ProbeOutput } | { ok: false; message: string };

/** Judge a finished probe command by its exit code and output. */
export function probeOutcome(r: Pick<ExecResult, 'exitCode' | 'stdout' | 'stderr'>): ProbeOutcome {
  if (r.exitCode === 127) return { ok: false, message: 'perl is not installed' };
  if (r.exitCode !== 0) {
    const why = r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`;
    return { ok: false, message: `the probe failed: ${why}` };
  }
  try {
    return { ok: true, output: parseProbeOutput(r.stdout) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** Round 2: every node's probe at the same moment. */
export async function runProbes(env: GatherEnv, plans: ReadonlyMap<string, ProbePlan>): Promise<UdpProbeResults> {
  const timing = env.probeTiming ?? PROBE_TIMING;
  const outputs: UdpProbeResults['outputs'] = new Map();
  await Promise.all(
    [...plans.values()].map(async (plan) => {
      try {
        const r = await env.transport.exec(plan.node, probeArgv(plan, timing), {
          timeoutMs: (timing.waitSec + 20) * 1000,
          title: 'probe corosync UDP ports',
        });
        outputs.set(plan.node, probeOutcome(r));
      } catch (e) {
        if (!(e instanceof UnreachableError)) throw e;
        outputs.set(plan.node, { ok: false, message: e.message });
      }
    }),
  );
  return { waitSec: timing.waitSec, plans: new Map(plans), outputs };
}

/** Every node's facts, and the UDP probe between them. */
export interface Gathered {
  facts: Map<string, NodeFacts>;
  udp: UdpProbeResults;
}

/** Facts and clocks of all nodes at once, then every probe at once: one command per exchange. */
export async function gatherByRounds(env: GatherEnv, nodes: readonly InventoryNode[], onProbing?: (nodes: number) => void): Promise<Gathered> {
  const read = await Promise.all(nodes.map((n) => readNode(env, n)));
  const facts = new Map(read.map((f) => [f.name, f]));
  const plans = probePlans(
    nodes.map((n) => n.name),
    facts,
  );
  if (plans.size === 0) return { facts, udp: emptyProbeResults() };
  onProbing?.(plans.size);
  return { facts, udp: await runProbes(env, plans) };
}
