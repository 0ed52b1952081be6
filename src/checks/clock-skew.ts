/**
 * `clock-skew`: every node's clock against the workstation (corrected by the round trip), then
 * the differences between nodes. The node farthest from the others' median is the one named.
 */
import { eachNode, finding, signedSeconds } from './finding.js';
import type { Check, Finding, FindingStatus, Thresholds } from './types.js';

const ID = 'clock-skew';

function verdict(diff: number, t: Thresholds): FindingStatus {
  const d = Math.abs(diff);
  return d > t.skewFailSec ? 'fail' : d > t.skewWarnSec ? 'warn' : 'ok';
}

const RANK: Record<FindingStatus, number> = { skip: 0, ok: 1, warn: 2, fail: 3 };

/** The reference offset: the median; with an even count the middle value nearer the workstation's clock. */
export function medianOffset(offsets: readonly number[]): number {
  const s = [...offsets].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const hi = s[Math.floor(s.length / 2)] ?? 0;
  if (s.length % 2 === 1) return hi;
  const lo = s[s.length / 2 - 1] ?? 0;
  return Math.abs(lo) <= Math.abs(hi) ? lo : hi;
}

/** The clock-skew check. */
export const clockSkewCheck: Check = {
  id: ID,
  title: 'Clock skew',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    const offsets = new Map<string, number>();
    for (const n of ctx.nodes) {
      const f = ctx.facts.get(n);
      if (f?.reachable && f.clock.ok) offsets.set(n, f.clock.value.offsetSec);
    }
    const values = [...offsets.values()];
    const median = medianOffset(values);
    const spread = values.length > 0 ? Math.max(...values) - Math.min(...values) : 0;
    const spreadStatus = verdict(spread, ctx.thresholds);
    const worst = Math.max(0, ...[...offsets.values()].map((o) => RANK[verdict(o - median, ctx.thresholds)]));
    // differences that only show between two moderate outliers: name the two extremes
    const extremes =
      RANK[spreadStatus] > worst
        ? [...offsets].filter(([, o]) => o === Math.max(...values) || o === Math.min(...values)).map(([n]) => n)
        : [];
    const t = ctx.thresholds;
    return eachNode(ctx, ID, ctx.nodes, (f): Finding[] => {
      const n = f.name;
      if (!f.clock.ok) {
        return [finding(ID, n, 'warn', `could not read the clock: ${f.clock.message}`, { hint: 'pvx reads the clock with date +%s.%N (GNU coreutils)' })];
      }
      const { offsetSec, uncertaintySec } = f.clock.value;
      const diff = offsetSec - median;
      const vsHere = `${signedSeconds(offsetSec)} against this workstation, ±${(uncertaintySec * 1000).toFixed(0)} ms`;
      if (offsets.size === 1) return [finding(ID, n, 'ok', `the only clock read (${vsHere})`)];
      let status = verdict(diff, t);
      let message = `clock is ${signedSeconds(diff)} from the other nodes' median (${vsHere})`;
      if (extremes.includes(n)) {
        status = spreadStatus;
        message = `clock is ${signedSeconds(diff)} from the median and the nodes span ${spread.toFixed(2)} s (${vsHere})`;
      }
      if (status === 'ok') return [finding(ID, n, 'ok', message)];
      const limit = status === 'fail' ? t.skewFailSec : t.skewWarnSec;
      return [
        finding(ID, n, status, `${message}; more than ${limit} s`, {
          hint: 'synchronise every node to the same NTP servers (chrony), then step once: chronyc makestep',
        }),
      ];
    });
  },
};
