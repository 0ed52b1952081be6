/**
 * The one-conversation-per-node preflight on real processes: two stand-in nodes on loopback
 * addresses, each a real /bin/sh running the session script with stand-ins for the PVE tools
 * (the reference's captured output), and real perl probing corosync's ports between them.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { factsArgv, parseSections, SECTION_NAMES } from '../../../src/facts/preflight/script.js';
import { factsFromRun } from '../../../src/facts/preflight/gather.js';
import { runPreflight } from '../../../src/checks/index.js';
import type { InventoryNode } from '../../../src/config/inventory.js';
import { gatherBySession, sessionArgv } from '../../../src/facts/preflight/session.js';
import { COROSYNC_PORTS } from '../../../src/facts/preflight/udp-probe.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ExecOptions, Transport } from '../../../src/transport/types.js';
import { fixture } from '../parse/fixture.js';

const NODES = [
  { name: 'sa', host: '127.0.0.21', link0: '127.0.0.21' },
  { name: 'sb', host: '127.0.0.22', link0: '127.0.0.22' },
];

/** corosync's ports held on this host by anything (then this test cannot bind them and says so). */
function corosyncPortsHeld(): boolean {
  const held = new Set<number>();
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const port = /^\s*\d+:\s+[0-9A-F]+:([0-9A-F]{4})/.exec(line)?.[1];
        if (port) held.add(parseInt(port, 16));
      }
    } catch {
      // no such table
    }
  }
  return COROSYNC_PORTS.some((p) => held.has(p));
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A directory of stand-in PVE tools for one node. */
function standIns(address: string, opts: { pveversion?: string; failDate?: boolean; noPerl?: boolean } = {}): string {
  const bin = mkdtempSync(path.join(tmpdir(), 'pvx-session-'));
  dirs.push(bin);
  const tool = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  const sample = (name: string, text: string) => {
    writeFileSync(path.join(bin, `${name}.txt`), text);
    return `cat ${JSON.stringify(path.join(bin, `${name}.txt`))}`;
  };
  tool('pveversion', sample('pveversion', opts.pveversion ?? fixture('pveversion/pve9.1.7-verbose.txt')));
  tool('chronyc', sample('chrony', fixture('chrony/tracking-synchronised.txt')));
  tool('corosync-cfgtool', "echo 'Could not initialize corosync configuration API error 2' >&2; exit 1");
  tool('corosync-quorumtool', "echo 'Cannot initialize QUORUM service' >&2; exit 1");
  tool('ip', `printf '%s\\n' '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever' '1: lo    inet ${address}/8 scope host secondary lo\\       valid_lft forever preferred_lft forever'`);
  if (opts.failDate) tool('date', 'exit 3');
  if (opts.noPerl) tool('perl', "echo 'sh: 1: perl: not found' >&2; exit 127");
  return bin;
}

/** Each node a local shell with its own stand-ins first on PATH. */
class StandInNodes implements Transport {
  readonly conversations = true;
  readonly calls: string[] = [];
  constructor(private readonly bins: Record<string, string>) {}
  exec(node: string, argv: readonly string[], opts?: ExecOptions) {
    this.calls.push(node);
    return new LocalTransport({ PATH: `${this.bins[node]}:/usr/bin:/bin` }).exec(node, argv, opts);
  }
}

/**
 * Logs, in order, each line a node's session read, each line pvx wrote to it, and each reading of
 * the workstation clock ('now'), so a test can see where the clock samples sit in the dialogue.
 */
function dialogueLog(inner: Transport): { transport: Transport; log: string[]; now: () => number } {
  const log: string[] = [];
  const transport: Transport = {
    conversations: true,
    exec: (node, argv, opts) => {
      const converse = opts?.converse;
      if (!converse) return inner.exec(node, argv, opts);
      return inner.exec(node, argv, {
        ...opts,
        converse: (c) =>
          converse({
            line: async () => {
              const l = await c.line();
              log.push(`${node} read ${l?.split(' ')[0]}`);
              return l;
            },
            write: (text) => (log.push(`${node} wrote ${text.split('\n')[0]}`), c.write(text)),
            end: () => c.end(),
          }),
      });
    },
  };
  return { transport, log, now: () => (log.push('now'), Date.now()) };
}

describe.skipIf(corosyncPortsHeld())('preflight session on real sh and perl (two loopback stand-in nodes)', () => {
  it('one command per node: versions, clocks, every corosync port both ways, link latency', async () => {
    const t = new StandInNodes({ sa: standIns('127.0.0.21'), sb: standIns('127.0.0.22') });
    const d = dialogueLog(t);
    const rounds: string[] = [];
    const r = await runPreflight({ purpose: 'create', nodes: NODES, clusterName: 'demo' }, { transport: d.transport, now: d.now, probeTiming: { waitSec: 1.5, resendSec: 0.1 }, onRound: (s) => rounds.push(s) });
    expect(t.calls.sort()).toEqual(['sa', 'sb']);
    expect(rounds).toEqual(['reading 2 node(s)', 'probing corosync UDP ports between 2 node(s)']);
    const by = (check: string) => r.findings.filter((f) => f.id === check);
    expect(by('pve-version').map((f) => f.status)).toEqual(['ok', 'ok']);
    expect(by('ntp-sync').map((f) => f.status)).toEqual(['ok', 'ok']);
    expect(by('clock-skew').map((f) => f.status)).toEqual(['ok', 'ok']);
    const udp = by('udp-corosync');
    expect(udp.map((f) => `${f.node}>${f.peer} ${f.status}`).sort()).toEqual(['sa>sb ok', 'sb>sa ok']);
    expect(udp[0]?.message).toContain('udp/5405-5412');
    expect(by('link-latency').map((f) => f.status)).toEqual(['ok']);
    for (const n of ['sa', 'sb']) {
      expect(r.nodeFacts.get(n)?.clock?.ok).toBe(true);
      // sampled over the open session: the clock is read right before the ping and right after its
      // answer, both after the node said it was ready, so the session's start is not in the round trip
      const ready = d.log.indexOf(`${n} read @@pvx-ready`);
      const ping = d.log.indexOf(`${n} wrote t`);
      const answer = d.log.indexOf(`${n} read @@pvx-clock`);
      expect(ready).toBeGreaterThanOrEqual(0);
      expect([ping > ready, d.log[ping - 1], answer > ping, d.log[answer + 1]]).toEqual([true, 'now', true, 'now']);
    }
  });

  it('a version mismatch and a node whose date fails are read the same way as over separate commands', async () => {
    const old = fixture('pveversion/pve8.4.11-verbose.txt');
    const t = new StandInNodes({ sa: standIns('127.0.0.21'), sb: standIns('127.0.0.22', { pveversion: old, failDate: true }) });
    const g = await gatherBySession({ transport: t, now: () => Date.now(), probeTiming: { waitSec: 1, resendSec: 0.1 } }, NODES);
    const sb = g.facts.get('sb');
    expect(sb?.clock).toEqual({ ok: false, reason: 'failed', message: 'date failed (exit code 3)' });
    expect(sb?.pve.ok && sb.pve.value.manager.version).toBe('8.4.11');
    expect(g.facts.get('sa')?.pve.ok).toBe(true);
    // the probe still ran between both
    expect([...g.udp.outputs.values()].every((o) => o.ok)).toBe(true);
  });

  it('a node whose script cannot start reports why, and the other is still read', async () => {
    const t = new StandInNodes({ sa: standIns('127.0.0.21'), sb: '/nonexistent' });
    // PATH without /bin/sh's helpers still finds sh (absolute), but mktemp fails: no usable PATH dirs
    const broken: Transport = {
      conversations: true,
      exec: (node, argv, opts) => (node === 'sb' ? new LocalTransport({ PATH: '/nonexistent' }).exec(node, ['/bin/sh', ...argv.slice(1)], opts) : t.exec(node, argv, opts)),
    };
    const g = await gatherBySession({ transport: broken, now: () => Date.now(), probeTiming: { waitSec: 0.5, resendSec: 0.1 } }, NODES);
    expect(g.facts.get('sb')?.scriptProblem).toMatch(/exit code 97/);
    expect(g.facts.get('sa')?.pve.ok).toBe(true);
    expect(g.udp.plans.size).toBe(0);
  });

  it('a node without perl: its probe is reported as not run, and its peer hears nothing from it', async () => {
    const t = new StandInNodes({ sa: standIns('127.0.0.21'), sb: standIns('127.0.0.22', { noPerl: true }) });
    const g = await gatherBySession({ transport: t, now: () => Date.now(), probeTiming: { waitSec: 0.5, resendSec: 0.1 } }, NODES);
    expect(g.udp.outputs.get('sb')).toEqual({ ok: false, message: 'perl is not installed' });
    const sa = g.udp.outputs.get('sa');
    expect(sa?.ok && [...sa.output.sent.values()].every((x) => x.state !== 'ok')).toBe(true);
    // the facts were read all the same
    expect(g.facts.get('sb')?.pve.ok).toBe(true);
  });

  it('reads exactly what the plain facts script reads (sections split around the probe plan, joined back)', async () => {
    const bins = { sa: standIns('127.0.0.21'), sb: standIns('127.0.0.22') };
    const t = new StandInNodes(bins);
    const g = await gatherBySession({ transport: t, now: () => Date.now(), probeTiming: { waitSec: 1, resendSec: 0.1 } }, NODES);
    const plain = await new LocalTransport({ PATH: `${bins.sa}:/usr/bin:/bin` }).exec('sa', factsArgv());
    const sections = parseSections(plain.stdout);
    expect(sections.size).toBe(SECTION_NAMES.length - 1); // chrony answered, so timedatectl never ran
    const fromPlain = factsFromRun(NODES[0] as InventoryNode, plain, { ok: false, reason: 'failed', message: 'not sampled' });
    const fromSession = g.facts.get('sa');
    // the host's UDP table may change between the two reads (other tests bind ports): compare the rest
    expect(fromSession?.udpPortsInUse.ok && fromPlain.udpPortsInUse.ok).toBe(true);
    expect({ ...fromSession, clock: undefined, udpPortsInUse: undefined }).toEqual({ ...fromPlain, clock: undefined, udpPortsInUse: undefined });
  });

  it('the session command carries the probe program as its one argument', () => {
    const argv = sessionArgv();
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv[4]).toMatch(/^use strict;/);
  });
});
