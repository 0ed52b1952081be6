/** `link-latency`: the round trip between nodes on link0, from the UDP probe's echoes (warn above 5 ms). */
import { finding, notRun } from './finding.js';
import type { Check, CheckContext, Finding, NodeFacts } from './types.js';

const ID = 'link-latency';

/** The best round trip a's probe measured to b, in ms. */
function bestRtt(ctx: CheckContext, a: NodeFacts, b: NodeFacts): number | undefined {
  const o = ctx.udp.outputs.get(a.name);
  if (!o?.ok || b.link0 === undefined) return undefined;
  let best: number | undefined;
  for (const [key, r] of o.output.sent) {
    // keys are "<address> <port>", addresses canonical on both sides
    if (!key.startsWith(`${b.link0} `) || r.rttMs === undefined) continue;
    if (best === undefined || r.rttMs < best) best = r.rttMs;
  }
  return best;
}

function pair(ctx: CheckContext, a: NodeFacts, b: NodeFacts): Finding {
  const rtts = [bestRtt(ctx, a, b), bestRtt(ctx, b, a)].filter((x): x is number => x !== undefined);
  if (rtts.length === 0) {
    const why = a.corosyncRunning && b.corosyncRunning ? 'corosync owns the ports on both nodes' : 'no echo came back (see udp-corosync)';
    return finding(ID, a.name, 'skip', `not measured: ${why}`, { peer: b.name });
  }
  const rtt = Math.min(...rtts);
  const text = `${rtt < 1 ? rtt.toFixed(2) : rtt.toFixed(1)} ms`;
  if (rtt > ctx.thresholds.latencyWarnMs) {
    return finding(ID, a.name, 'warn', `link0 round trip ${a.name} ↔ ${b.name} is ${text}, more than ${ctx.thresholds.latencyWarnMs} ms`, {
      peer: b.name,
      hint: 'corosync wants LAN latency (< 5 ms): put link0 on a dedicated, quiet network, or add a lower-latency link',
    });
  }
  return finding(ID, a.name, 'ok', `link0 round trip ${a.name} ↔ ${b.name} is ${text}`, { peer: b.name });
}

/** The link-latency check. */
export const linkLatencyCheck: Check = {
  id: ID,
  title: 'Link latency',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    const out: Finding[] = [];
    ctx.nodes.forEach((a, i) => {
      for (const b of ctx.nodes.slice(i + 1)) {
        const fa = ctx.facts.get(a);
        const fb = ctx.facts.get(b);
        const skip = notRun(ID, fa, a) ?? notRun(ID, fb, b);
        if (skip) out.push(finding(ID, a, 'skip', skip.message, { peer: b }));
        else out.push(pair(ctx, fa as NodeFacts, fb as NodeFacts));
      }
    });
    return out;
  },
};
