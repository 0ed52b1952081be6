/**
 * `udp-corosync`: every ordered pair of nodes, every port 5405-5412, over link0. A pair is open
 * when the receiver heard the sender; where corosync already runs on both ends, its own link
 * state (corosync-cfgtool -s) answers instead.
 */
import { finding, notRun, unreadLineFindings } from './finding.js';
import { link0IsLocal } from '../facts/preflight/node-facts.js';
import { clusterOf } from './roles.js';
import { COROSYNC_PORTS, portRanges, probeKey, type ProbeOutput } from '../facts/preflight/udp-probe.js';
import type { Check, CheckContext, Finding, NodeFacts } from './types.js';

const ID = 'udp-corosync';

/** A node's probe output, or why there is none (undefined when it was never planned). */
function outputOf(ctx: CheckContext, node: string): { ok: true; output: ProbeOutput } | { ok: false; message: string } | undefined {
  return ctx.udp.outputs.get(node);
}

/** Findings about a node's own probe run: did it run, could it listen on every port. */
function nodeFindings(ctx: CheckContext, node: string): Finding[] {
  const o = outputOf(ctx, node);
  if (!o) return [];
  if (!o.ok) {
    return [
      finding(ID, node, 'fail', `could not run the UDP probe on ${node}: ${o.message}`, {
        hint: 'pvx probes with a perl one-liner (IO::Socket::IP, part of perl on every PVE node); run with -v to see it',
      }),
    ];
  }
  const out: Finding[] = [];
  const failed = [...o.output.bind].filter((b): b is [number, string] => b[1] !== null).sort((a, b) => a[0] - b[0]);
  const errors = new Set(failed.map(([, e]) => e));
  if (failed.length > 1 && failed.length === o.output.bind.size && errors.size === 1) {
    // the same error on every port is about the address or the node, not about one port
    return [
      finding(ID, node, 'fail', `could not listen on udp/5405-5412 of ${node} (${[...errors][0]})`, {
        hint: `check that link0 ${ctx.facts.get(node)?.link0 ?? ''} is configured on ${node} and that no other program holds the ports: ss -ulpn`,
      }),
    ];
  }
  for (const [port, err] of failed) {
    out.push(
      finding(ID, node, 'fail', `udp/${port} on ${node} is in use by another process (${err})`, {
        port,
        hint: `find it with: ss -ulpn 'sport = :${port}'; corosync needs ports 5405-5412 free`,
      }),
    );
  }
  return out;
}

function corosyncPair(a: NodeFacts, b: NodeFacts): Finding {
  const to = b.hostname.ok ? b.hostname.value : b.name;
  const conf = a.cluster.ok ? a.cluster.value : null;
  const nodeid = conf?.nodes.find((n) => n.name === to)?.nodeid;
  if (!a.links.ok) return finding(ID, a.name, 'warn', `could not read corosync's link state on ${a.name}: ${a.links.message}`, { peer: b.name });
  const link0 = a.links.value.links.find((l) => l.id === 0);
  const state = link0?.peers.find((p) => p.nodeid === nodeid)?.state;
  if (nodeid === undefined || state === undefined) {
    return finding(ID, a.name, 'warn', `corosync on ${a.name} reports no link 0 state for ${b.name}`, { peer: b.name, hint: `compare corosync-cfgtool -s on ${a.name} with the nodelist in /etc/pve/corosync.conf` });
  }
  if (state === 'connected') return finding(ID, a.name, 'ok', `corosync link 0 ${a.name} → ${b.name} is connected (corosync-cfgtool -s)`, { peer: b.name });
  return finding(ID, a.name, 'fail', `corosync link 0 ${a.name} → ${b.name} is ${state} (corosync-cfgtool -s)`, {
    peer: b.name,
    hint: `check that UDP 5405-5412 passes between ${a.link0 ?? a.name} and ${b.link0 ?? b.name} in both directions (firewalls on both nodes and between)`,
  });
}

/** The probe results a → b on `ports` (b's echo ports): one finding per bad port, or one ok. */
function probedPair(ctx: CheckContext, a: NodeFacts, b: NodeFacts, ports: readonly number[]): Finding[] {
  const oa = outputOf(ctx, a.name);
  const ob = outputOf(ctx, b.name);
  if (!oa?.ok || !ob?.ok) {
    const which = !oa?.ok ? a.name : b.name;
    return [finding(ID, a.name, 'skip', `not probed: the probe on ${which} did not run`, { peer: b.name })];
  }
  const from = a.link0 ?? '';
  const to = b.link0 ?? '';
  const bad: Finding[] = [];
  const open: number[] = [];
  for (const port of ports) {
    const bind = ob.output.bind.get(port);
    if (bind !== null) continue; // not listening there: reported once for the receiver
    if (ob.output.heard.has(probeKey(from, port)) || oa.output.sent.get(probeKey(to, port))?.state === 'ok') {
      open.push(port);
      continue;
    }
    const sent = oa.output.sent.get(probeKey(to, port));
    const where = `${a.name} → ${b.name} udp/${port}`;
    const hint = `allow UDP 5405-5412 from ${from} to ${to} (firewall on ${b.name}, on ${a.name} or between them); corosync needs the whole range`;
    if (sent === undefined) bad.push(finding(ID, a.name, 'warn', `${where}: the probe reported nothing`, { peer: b.name, port }));
    else if (sent.state === 'refused') bad.push(finding(ID, a.name, 'fail', `${where} is rejected (ICMP port unreachable)`, { peer: b.name, port, hint }));
    else if (sent.state === 'error') bad.push(finding(ID, a.name, 'fail', `${where}: cannot send (${sent.error ?? 'error'})`, { peer: b.name, port, hint: `check the route from ${from} to ${to}` }));
    else bad.push(finding(ID, a.name, 'fail', `${where} is blocked: nothing arrived within ${ctx.udp.waitSec} s`, { peer: b.name, port, hint }));
  }
  if (bad.length > 0 || open.length === 0) return bad;
  return [finding(ID, a.name, 'ok', `udp/${portRanges(open)} reach${open.length === 1 ? 'es' : ''} ${b.name} (${from} → ${to})`, { peer: b.name })];
}

/** A pair whose receiver runs corosync: its own ports by its link state, the free ones by probe. */
function intoCorosync(ctx: CheckContext, a: NodeFacts, b: NodeFacts): Finding[] {
  const echo = ctx.udp.plans.get(b.name)?.listen ?? [];
  const held = COROSYNC_PORTS.filter((p) => !echo.includes(p));
  const cluster = clusterOf(a);
  const out: Finding[] = [];
  if (a.corosyncRunning && cluster !== undefined && cluster === clusterOf(b)) out.push(corosyncPair(a, b));
  else if (held.length > 0) {
    const known = b.udpPortsInUse.ok && b.cluster.ok && b.cluster.value !== null;
    const why = known ? `corosync on ${b.name} uses ${held.length === 1 ? 'it' : 'them'}` : `corosync runs on ${b.name} and which ports it holds could not be read`;
    out.push(finding(ID, a.name, 'skip', `udp/${portRanges(held)} not probed: ${why}; corosync-cfgtool -s shows the link once both are in one cluster`, { peer: b.name }));
  }
  if (echo.length > 0) out.push(...probedPair(ctx, a, b, echo));
  return out;
}

function pair(ctx: CheckContext, a: NodeFacts, b: NodeFacts): Finding[] {
  if (a.link0 === undefined || b.link0 === undefined) {
    const which = a.link0 === undefined ? a.name : b.name;
    return [finding(ID, a.name, 'skip', `not probed: no link0 address for ${which} (see hostname-resolution)`, { peer: b.name })];
  }
  const foreign = [a, b].find((f) => link0IsLocal(f) === false);
  if (foreign) {
    return [finding(ID, a.name, 'skip', `not probed: link0 ${foreign.link0} is not configured on ${foreign.name} (see hostname-resolution)`, { peer: b.name })];
  }
  return b.corosyncRunning ? intoCorosync(ctx, a, b) : probedPair(ctx, a, b, COROSYNC_PORTS);
}

/** The udp-corosync check. */
export const udpCorosyncCheck: Check = {
  id: ID,
  title: 'Corosync UDP 5405-5412',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    const out: Finding[] = [];
    const only = ctx.nodes[0];
    if (ctx.nodes.length === 1 && only !== undefined) return [finding(ID, only, 'skip', 'one node only: no pair to probe')];
    for (const a of ctx.nodes) {
      out.push(...nodeFindings(ctx, a));
      const own = ctx.facts.get(a);
      if (own?.reachable) out.push(...unreadLineFindings(ID, a, [['corosync-cfgtool -s', own.links], ['/proc/net/udp', own.udpPortsInUse]]));
      for (const b of ctx.nodes) {
        if (a === b) continue;
        const fa = ctx.facts.get(a);
        const fb = ctx.facts.get(b);
        const skipA = notRun(ID, fa, a);
        const skipB = notRun(ID, fb, b);
        if (skipA || skipB) {
          out.push(finding(ID, a, 'skip', (skipA ?? skipB)?.message ?? 'not run', { peer: b }));
          continue;
        }
        out.push(...pair(ctx, fa as NodeFacts, fb as NodeFacts));
      }
    }
    return out;
  },
};
