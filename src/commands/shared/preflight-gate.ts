/** The preflight gate of cluster changes: every check on every node, exit 3 on any failure, before any change. */
import { runPreflight, type Finding, type NodeFacts, type PreflightSpec } from '../../checks/index.js';
import type { Deps } from '../../context.js';
import { PreflightError, UnreachableError } from '../../errors.js';
import type { Transport } from '../../transport/types.js';

/** What a passed preflight hands to the plan. */
export interface PreflightGate {
  findings: Finding[];
  /** warnings, one line each, for the outcome */
  warnings: string[];
  /** link 0 address per node as preflight settled it (inventory, else what the name resolves to on the node) */
  link0: Map<string, string>;
  /** preflight already warned about a two-vote cluster */
  twoNodeWarned: boolean;
  /** what was read on each node */
  nodeFacts: Map<string, NodeFacts>;
}

function where(f: Finding): string {
  return `${f.node}${f.peer ? ` → ${f.peer}` : ''}${f.port ? ` (UDP ${f.port})` : ''}`;
}

/** One line per finding, for messages. */
export function findingLine(f: Finding): string {
  return `${where(f)}: ${f.id}: ${f.message}${f.hint ? ` (${f.hint})` : ''}`;
}

/**
 * When not one node could be reached, the preflight read nothing: that is exit 6 (unreachable), not a
 * failed check, so a script can tell "the network is down" from "the cluster is not ready".
 */
export function noneReachable(nodeFacts: ReadonlyMap<string, NodeFacts>): UnreachableError | undefined {
  const all = [...nodeFacts.values()];
  if (all.length === 0 || all.some((f) => f.reachable)) return undefined;
  const first = all[0]!;
  const message = all.length === 1
    ? first.unreachable?.message ?? `${first.name} could not be reached over SSH`
    : `none of the ${all.length} nodes could be reached over SSH (${all.map((f) => f.name).join(', ')}): ${first.unreachable?.message ?? 'no answer'}`;
  return new UnreachableError(first.name, `${message}; nothing was changed`, {
    code: first.unreachable?.code ?? 'UNREACHABLE',
    hint: first.unreachable?.hint ?? 'check that the nodes are up and that sshd runs on them',
  });
}

/** Run preflight; throws PreflightError (exit 3, nothing changed) listing every failure, UnreachableError (6) when no node answered. */
export async function preflightGate(deps: Deps, t: Transport, spec: PreflightSpec): Promise<PreflightGate> {
  const names = [...spec.nodes, ...(spec.existingMember ? [spec.existingMember] : [])].map((n) => n.name);
  const step = await deps.progress.start(`preflight of ${names.join(', ')}`);
  const res = await runPreflight(spec, { transport: t, now: deps.now, onRound: (text) => step.update(`preflight: ${text}`) });
  const fails = res.findings.filter((f) => f.status === 'fail');
  const warns = res.findings.filter((f) => f.status === 'warn');
  if (fails.length > 0) {
    step.fail(`preflight: ${fails.length} check(s) failed`);
    const none = noneReachable(res.nodeFacts);
    if (none) throw none;
    throw new PreflightError(`preflight failed, nothing was changed:\n${fails.map((f) => `  ${findingLine(f)}`).join('\n')}`, {
      hint: `fix the problems above and run again; 'pvx preflight --for ${spec.purpose} --nodes ${names.join(',')}' shows every check`,
      details: { checks: res.findings },
    });
  }
  step.succeed(`preflight: ${res.checks.length} check(s) passed on ${names.length} node(s)${warns.length ? `, ${warns.length} warning(s)` : ''}`);
  const link0 = new Map<string, string>();
  for (const [name, f] of res.nodeFacts) if (f.link0 !== undefined) link0.set(name, f.link0);
  return {
    findings: res.findings,
    warnings: warns.map(findingLine),
    link0,
    twoNodeWarned: warns.some((f) => f.id === 'two-node'),
    nodeFacts: res.nodeFacts,
  };
}
