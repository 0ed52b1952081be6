/** `pvx preflight`: run the checks of a workflow on its nodes, change nothing. */
import type { InventoryNode } from '../../config/inventory.js';
import type { Deps } from '../../context.js';
import { EXIT, PreflightError, UsageError } from '../../errors.js';
import { noneReachable } from '../shared/preflight-gate.js';
import { clusterNameProblem, nodeNameProblem } from '../../pve/names.js';
import { DEFAULT_THRESHOLDS, PURPOSES, preflightFailed, runPreflight, type Finding, type NodeFacts, type Purpose, type Thresholds } from '../../checks/index.js';
import type { Outcome } from '../../ui/report.js';

/** Flags of `pvx preflight`, as commander hands them over (strings, validated here). */
export interface PreflightOptions {
  for?: string | undefined;
  nodes?: string | undefined;
  clusterName?: string | undefined;
  via?: string | undefined;
  skewWarn?: string | undefined;
  skewFail?: string | undefined;
  latencyWarn?: string | undefined;
}

/** What was learned about a node, for scripts (the JSON result's `nodes`). */
export interface PreflightNode {
  name: string;
  reachable: boolean;
  hostname: string | null;
  pveVersion: string | null;
  /** the cluster the node is in, null when standalone or unknown */
  cluster: string | null;
  corosyncRunning: boolean;
  link0: string | null;
  guests: number | null;
}

/** The result of `preflight` (CLI.md shape, plus the purpose and the per-node summary). */
export interface PreflightCommandResult {
  purpose: Purpose;
  checks: Finding[];
  nodes: PreflightNode[];
}

/** Validated input of a run. */
export interface PreflightInput {
  purpose: Purpose;
  nodes: string[] | undefined;
  clusterName: string | undefined;
  via: string | undefined;
  thresholds: Thresholds;
}

function seconds(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw) || Number(raw) <= 0) {
    throw new UsageError(`${flag} must be a positive number, got '${raw}'`, { hint: `for example ${flag} ${fallback}` });
  }
  return Number(raw);
}

function nameList(raw: string): string[] {
  const names = raw.split(',').map((s) => s.trim());
  if (names.length === 0 || names.some((n) => n === '')) {
    throw new UsageError(`--nodes must be a comma-separated list of inventory node names, got '${raw}'`, { hint: 'for example --nodes pve1,pve2,pve3' });
  }
  for (const n of names) {
    const p = nodeNameProblem(n);
    if (p) throw new UsageError(`--nodes: ${p}`);
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--nodes names '${dup}' twice`, { hint: 'list every node once' });
  return names;
}

/** Check every flag before anything touches a node; throws UsageError (exit 2). */
export function validatePreflightOptions(o: PreflightOptions): PreflightInput {
  const purpose = (o.for ?? 'general') as Purpose;
  if (!PURPOSES.includes(purpose)) {
    throw new UsageError(`--for must be one of ${PURPOSES.join(', ')}; got '${o.for}'`, { hint: 'for example --for create' });
  }
  if (o.clusterName !== undefined) {
    const p = clusterNameProblem(o.clusterName);
    if (p) throw new UsageError(p, { hint: 'cluster names are 1-15 letters, digits and hyphens' });
    if (purpose !== 'create' && purpose !== 'join') throw new UsageError('--cluster-name applies to --for create or --for join', { hint: 'add --for create' });
  }
  if (o.via !== undefined) {
    const p = nodeNameProblem(o.via);
    if (p) throw new UsageError(`--via: ${p}`);
    if (purpose !== 'join') throw new UsageError('--via applies to --for join', { hint: 'add --for join' });
  }
  const skewWarnSec = seconds('--skew-warn', o.skewWarn, DEFAULT_THRESHOLDS.skewWarnSec);
  const skewFailSec = seconds('--skew-fail', o.skewFail, Math.max(DEFAULT_THRESHOLDS.skewFailSec, skewWarnSec));
  if (skewFailSec < skewWarnSec) {
    throw new UsageError(`--skew-fail (${skewFailSec} s) must not be below --skew-warn (${skewWarnSec} s)`);
  }
  const latencyWarnMs = seconds('--latency-warn', o.latencyWarn, DEFAULT_THRESHOLDS.latencyWarnMs);
  return {
    purpose,
    nodes: o.nodes !== undefined ? nameList(o.nodes) : undefined,
    clusterName: o.clusterName,
    via: o.via,
    thresholds: { skewWarnSec, skewFailSec, latencyWarnMs },
  };
}

function pick(all: readonly InventoryNode[], names: readonly string[], file: string): InventoryNode[] {
  const missing = names.filter((n) => !all.some((a) => a.name === n));
  if (missing.length > 0) {
    throw new UsageError(`${missing.map((m) => `'${m}'`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in the inventory ${file}`, {
      hint: `known nodes: ${all.map((n) => n.name).join(', ')}`,
    });
  }
  return names.map((n) => all.find((a) => a.name === n) as InventoryNode);
}

/** The per-node summary of the JSON result. */
export function summarizeNode(f: NodeFacts): PreflightNode {
  return {
    name: f.name,
    reachable: f.reachable,
    hostname: f.hostname.ok ? f.hostname.value : null,
    pveVersion: f.pve.ok ? f.pve.value.manager.version : null,
    cluster: f.cluster.ok && f.cluster.value ? f.cluster.value.name : null,
    corosyncRunning: f.corosyncRunning,
    link0: f.link0 ?? null,
    guests: f.guests.ok ? f.guests.value.length : null,
  };
}

function failureSummary(findings: readonly Finding[]): string {
  const failed = findings.filter((f) => f.status === 'fail');
  const where = (f: Finding) => `${f.id} on ${f.node}${f.peer ? ` → ${f.peer}` : ''}${f.port !== undefined ? ` udp/${f.port}` : ''}`;
  const shown = failed.slice(0, 3).map(where).join(', ');
  const more = failed.length > 3 ? `, and ${failed.length - 3} more` : '';
  return `preflight failed: ${failed.length} check(s) failed (${shown}${more})`;
}

/** Run `preflight`. */
export async function preflight(deps: Deps, opts: PreflightOptions): Promise<Outcome<PreflightCommandResult>> {
  const input = validatePreflightOptions(opts);
  const inv = deps.inventory();
  const nodes = input.nodes ? pick(inv.nodes, input.nodes, inv.file) : inv.nodes;
  const via = input.via !== undefined ? pick(inv.nodes, [input.via], inv.file)[0] : undefined;
  const t = deps.transport(via && !nodes.includes(via) ? [...nodes, via] : nodes);
  const step = await deps.progress.start(`preflight: reading ${nodes.length} node(s)`);
  const r = await runPreflight(
    {
      purpose: input.purpose,
      nodes,
      ...(input.clusterName !== undefined ? { clusterName: input.clusterName } : {}),
      ...(via ? { existingMember: via } : {}),
      thresholds: input.thresholds,
    },
    { transport: t, now: () => deps.now(), onRound: (text) => step.update(`preflight: ${text}`) },
  );
  const result: PreflightCommandResult = { purpose: input.purpose, checks: r.findings, nodes: [...r.nodeFacts.values()].map(summarizeNode) };
  const failed = preflightFailed(r.findings);
  const counted = `${r.nodeFacts.size} node(s), ${r.findings.length} result(s)`;
  if (failed) {
    step.fail(`preflight: ${counted}`);
    const failures = r.findings.filter((f) => f.status === 'fail');
    const none = noneReachable(r.nodeFacts);
    if (none) return { command: 'preflight', result, exitCode: EXIT.UNREACHABLE, warnings: [], error: none };
    return {
      command: 'preflight',
      result,
      exitCode: EXIT.PREFLIGHT_FAILED,
      warnings: [],
      error: new PreflightError(failureSummary(r.findings), {
        hint: 'fix what the failed checks name, then run pvx preflight again',
        details: { failed: failures.map((f) => ({ id: f.id, node: f.node, ...(f.peer ? { peer: f.peer } : {}), ...(f.port !== undefined ? { port: f.port } : {}) })) },
      }),
    };
  }
  step.succeed(`preflight: ${counted}`);
  return { command: 'preflight', result, exitCode: EXIT.OK, warnings: [] };
}
