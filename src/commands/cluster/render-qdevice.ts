/** Human rendering of `cluster qdevice add|remove`: the plan under --dry-run, else the summary and each node's votes. */
import type { Deps } from '../../context.js';
import type { Outcome } from '../../ui/report.js';
import type { QdevicePlanResult, QdeviceResult } from './qdevice.js';
import { renderPlan } from './render-change.js';

/** `cluster qdevice add|remove` for a person; a failure is told on stderr, so stdout stays empty then. */
export function renderQdevice(o: Outcome<QdeviceResult | QdevicePlanResult | undefined>, deps: Deps): string {
  const r = o.result;
  if (!r) return '';
  const { theme } = deps;
  if ('plan' in r) {
    const passed = r.checks.map((c) => `  ${theme.ok} ${c.node}: ${c.message}`);
    return `Checks:\n${passed.join('\n')}\n\n${renderPlan(r.title, r.plan, theme)}`;
  }
  if (r.outcome === 'failed') return '';
  const lines = [`${theme.ok} ${r.summary}.`];
  for (const v of r.votes) lines.push(`  ${v.node}: ${v.totalVotes} of ${v.expectedVotes} votes${v.qdevice ? ', Qdevice' : ''}`);
  return lines.join('\n') + '\n';
}
