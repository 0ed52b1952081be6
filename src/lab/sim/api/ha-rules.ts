/** GET /cluster/ha/rules as `ha-manager rules config|list` prints it. */
import type { SimEnv } from '../core/env.js';
import { readRules } from '../core/ha.js';
import type { Values } from '../core/schema.js';
import { apiResult, terminalOf, type OutputOptions } from '../render/api-result.js';

/** The rules index, filtered by type and resource. */
export function rulesIndex(env: SimEnv, v: Values): Array<Record<string, unknown>> {
  return readRules(env.paths)
    .filter((r) => !v['type'] || r.type === v['type'])
    .filter((r) => !v['resource'] || (r.props['resources'] ?? '').split(',').includes(String(v['resource'])))
    .map((r, i) => {
      const o: Record<string, unknown> = { rule: r.id, type: r.type, order: i + 1, digest: '', ...r.props };
      if (o['disable'] !== undefined) o['disable'] = Number(o['disable']);
      return o;
    });
}

/** Print the rules like the CLI's output handlers do (`config` adds enabled and state columns). */
export function printRules(env: SimEnv, v: Values, cols: string[] | undefined): void {
  const data = rulesIndex(env, v);
  if (cols) {
    for (const r of data) {
      r['enabled'] = r['disable'] === undefined ? 1 : 0;
      r['state'] = 'in use';
    }
  }
  const opts: OutputOptions = {};
  for (const k of ['output-format', 'noborder', 'noheader', 'quiet', 'human-readable'] as const) if (v[k] !== undefined) (opts as Record<string, unknown>)[k] = v[k];
  env.ctx.out(apiResult(data, { type: 'array', props: { rule: { type: 'string' } } }, opts, terminalOf(env.ctx.env), cols));
}
