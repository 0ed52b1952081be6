/** Small builders shared by the checks, so every message and skip reads the same way. */
import { excerptOf } from '../pve/parse/errors.js';
import type { CheckContext, Finding, FindingStatus, NodeFacts, Reading } from './types.js';

/** A finding; the optional parts are left out when undefined. */
export function finding(
  id: string,
  node: string,
  status: FindingStatus,
  message: string,
  extra: { peer?: string | undefined; port?: number | undefined; hint?: string | undefined } = {},
): Finding {
  const f: Finding = { id, node, status, message };
  if (extra.peer !== undefined) f.peer = extra.peer;
  if (extra.port !== undefined) f.port = extra.port;
  if (extra.hint !== undefined) f.hint = extra.hint;
  return f;
}

/** A warning per reading whose tool printed lines pvx could not read (the value was read without them). */
export function unreadLineFindings(id: string, node: string, readings: ReadonlyArray<readonly [tool: string, reading: Reading<unknown> | undefined]>): Finding[] {
  return readings.flatMap(([tool, r]) => {
    const lines = r?.ok ? (r.unrecognized ?? []) : [];
    if (lines.length === 0) return [];
    return [
      finding(id, node, 'warn', `${tool} on ${node} printed ${lines.length === 1 ? 'a line' : `${lines.length} lines`} pvx could not read, left out: ${lines.map((l) => `'${excerptOf(l)}'`).join(', ')}`, {
        hint: `run ${tool} on ${node} to see the whole answer`,
      }),
    ];
  });
}

/** The skip of a check on a node whose read never happened, or undefined when it did. */
export function notRun(id: string, f: NodeFacts | undefined, node: string): Finding | undefined {
  if (!f) return finding(id, node, 'skip', `not run: ${node} was not read`);
  if (!f.reachable) return finding(id, node, 'skip', `not run: ${node} could not be reached over SSH`);
  if (f.scriptProblem) return finding(id, node, 'skip', `not run: ${f.scriptProblem}`);
  return undefined;
}

/** Each node's facts, or its skip finding. */
export function eachNode(ctx: CheckContext, id: string, nodes: readonly string[], fn: (f: NodeFacts) => Finding[]): Finding[] {
  return nodes.flatMap((n) => {
    const f = ctx.facts.get(n);
    const skip = notRun(id, f, n);
    return skip ? [skip] : fn(f as NodeFacts);
  });
}

/** A finding for a reading that failed; the status depends on whether the check can live without it. */
export function unreadFinding(id: string, node: string, r: Reading<unknown> & { ok: false }, status: FindingStatus, hint?: string): Finding {
  return finding(id, node, status, `could not tell: ${r.message}`, { hint });
}

/** Seconds with a sign and the right precision for humans. */
export function signedSeconds(s: number): string {
  const abs = Math.abs(s);
  const digits = abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return `${s >= 0 ? '+' : '-'}${abs.toFixed(digits)} s`;
}

/** "a, b and c" */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
