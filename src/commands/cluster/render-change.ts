/** Human rendering of cluster changes: the dry-run plan per node, the final summary, where nodes stand. */
import type { Deps } from '../../context.js';
import type { ClusterChangeResult, PlanResult } from '../shared/plan-run.js';
import { shJoin } from '../../transport/quote.js';
import type { PlannedStep } from '../../workflows/plan.js';
import type { Outcome } from '../../ui/report.js';
import type { Theme } from '../../ui/theme.js';

/** The plan as numbered steps, grouped under the node each runs on (in execution order). */
export function renderPlan(title: string, plan: readonly PlannedStep[], theme: Theme): string {
  const { c } = theme;
  const out = [`Plan: ${title} ${c.dim('(--dry-run: nothing was changed)')}`];
  if (plan.length === 0) out.push('', 'Nothing to do.');
  const width = String(plan.length).length;
  let node: string | undefined;
  plan.forEach((s, i) => {
    if (s.node !== node) {
      node = s.node;
      out.push('', c.bold(node));
    }
    const n = `${String(i + 1).padStart(width)}.`;
    out.push(`  ${n} ${s.title}${s.mutates ? '' : c.dim('  [read]')}`);
    const pad = ' '.repeat(width + 4);
    out.push(`  ${pad}${c.cyan(shJoin(s.command))}${s.stdin === 'secret' ? c.dim('  < root password on stdin (secret, never shown)') : ''}`);
  });
  return out.join('\n') + '\n';
}

/** `cluster create|join|remove-node|expected` for a person: the plan under --dry-run, else the summary. */
export function renderClusterChange(o: Outcome<ClusterChangeResult | PlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  if ('plan' in r) return renderPlan(r.title, r.plan, theme);
  // a failure is told on stderr (message, node states, journal, recovery); stdout stays empty for scripts
  if (r.outcome === 'failed') return '';
  const mark = r.outcome === 'unchanged' ? theme.info : theme.ok;
  const lines = [`${mark} ${r.summary}.`];
  if (r.members.length > 0 && r.outcome !== 'set') lines.push(`  members: ${r.members.join(', ')}`);
  for (const n of r.next ?? []) lines.push(`  next: ${n}`);
  return lines.join('\n') + '\n';
}
