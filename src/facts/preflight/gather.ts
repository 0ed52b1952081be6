/**
 * What reading the nodes needs and yields (node-session.ts does the reading, one conversation per
 * node): facts from the script's output, who probes whom, and how a probe run is judged.
 */
import type { InventoryNode } from '../../config/inventory.js';
import type { ExecResult, Transport } from '../../transport/types.js';
import { parseSections } from './script.js';
import { factsFromSections, link0IsLocal } from './node-facts.js';
import { COROSYNC_PORTS, parseProbeOutput, type ProbeOutput, type ProbePlan, type ProbeTiming, type UdpProbeResults } from './udp-probe.js';
import type { ClockReading, NodeFacts, Reading } from './types.js';

/** What gathering needs from its caller. */
export interface GatherEnv {
  transport: Transport;
  /** workstation clock, milliseconds since the epoch */
  now(): number;
  probeTiming?: ProbeTiming;
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

/** Every node's facts, and the UDP probe between them. */
export interface Gathered {
  facts: Map<string, NodeFacts>;
  udp: UdpProbeResults;
}
