/**
 * Scripted nodes for preflight tests: each node answers the facts read, the clock read and the
 * UDP probe as a real PVE node would, built from the reference samples; tests change one thing.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InventoryNode } from '../../../src/config/inventory.js';
import { runPreflight, type PreflightResult } from '../../../src/checks/index.js';
import { clockArgv } from '../../../src/facts/preflight/clock.js';
import { factsArgv, parseSections, renderSections, type Section, type SectionName } from '../../../src/facts/preflight/script.js';
import { probePlans } from '../../../src/facts/preflight/gather.js';
import type { ExecOptions, Transport } from '../../../src/transport/types.js';
import { isSession, playSession } from '../../helpers/session-node.js';
import { probeArgv, type ProbePlan } from '../../../src/facts/preflight/udp-probe.js';
import type { Finding, NodeFacts, PreflightSpec } from '../../../src/checks/types.js';
import { FakeTransport, type Script } from '../../helpers/fake-transport.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** A reference sample, byte for byte. */
export function sample(path: string): string {
  return readFileSync(FIXTURES + path, 'utf8');
}

/** The workstation's clock in these tests: 2026-08-19 17:22:53 UTC. */
export const NOW_MS = 1_787_246_573_000;

/** pve1 … pveN with link0 10.77.13.1N. */
export function inventoryNodes(count: number, link0 = true): InventoryNode[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `pve${i + 1}`,
    host: `10.77.13.${11 + i}`,
    ...(link0 ? { link0: `10.77.13.${11 + i}` } : {}),
  }));
}

/** `ip -o addr show` of a node with one address. */
export function ipAddr(address: string): string {
  return (
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n' +
    '1: lo    inet6 ::1/128 scope host noprefixroute \\       valid_lft forever preferred_lft forever\n' +
    `2: eth0@if7    inet ${address}/24 brd 10.77.13.255 scope global eth0\\       valid_lft forever preferred_lft forever\n`
  );
}

/** `getent ahosts <name>` resolving to these addresses. */
export function getent(name: string, ...addresses: string[]): string {
  return addresses.map((a) => `${a.padEnd(15)} STREAM ${name}\n${a.padEnd(15)} DGRAM  \n${a.padEnd(15)} RAW    \n`).join('');
}

/**
 * corosync.conf of a cluster with these nodes (PVE's layout, reference §1.3); with `qdevice`, the
 * quorum section `pvecm qdevice setup` writes (pve-cluster PVE/CLI/pvecm.pm, keys sorted by write_conf).
 */
export function corosyncConf(cluster: string, nodes: ReadonlyArray<{ name: string; nodeid: number; address: string }>, opts: { qdevice?: { host: string } } = {}): string {
  const body = nodes
    .map((n) => `  node {\n    name: ${n.name}\n    nodeid: ${n.nodeid}\n    quorum_votes: 1\n    ring0_addr: ${n.address}\n  }\n`)
    .join('');
  const device = opts.qdevice
    ? `  device {\n    model: net\n    net {\n      algorithm: ffsplit\n      host: ${opts.qdevice.host}\n      tls: on\n    }\n    votes: 1\n  }\n`
    : '';
  return (
    `logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n${body}}\n\nquorum {\n${device}  provider: corosync_votequorum\n}\n\n` +
    `totem {\n  cluster_name: ${cluster}\n  config_version: ${nodes.length}\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n` +
    '  link_mode: passive\n  secauth: on\n  version: 2\n}\n'
  );
}

/**
 * `corosync-quorumtool -siH` as a member with these votes sees it; with `qdevice`, the Qdevice column,
 * flag and id-0 row as corosync prints them (tools/corosync-quorumtool.c, reference §1.5).
 */
export function quorumtool(opts: {
  local: number;
  members: ReadonlyArray<{ nodeid: number; address: string }>;
  expected: number;
  flags?: string;
  qdevice?: { votes: number; voting: boolean };
}): string {
  const qd = opts.qdevice;
  const total = opts.members.length + (qd?.voting ? qd.votes : 0);
  const quorum = Math.floor(opts.expected / 2) + 1;
  const quorate = total >= quorum;
  const column = qd ? `${(qd.voting ? 'A,V,NMW' : 'A,NV,NMW').padStart(10)} ` : '';
  const rows =
    opts.members
      .map((m) => `0x${m.nodeid.toString(16).padStart(8, '0')}          1 ${column}${m.address}${m.nodeid === opts.local ? ' (local)' : ''}\n`)
      .join('') + (qd ? `0x00000000 ${String(qd.voting ? qd.votes : 0).padStart(10)}            Qdevice${qd.voting ? '' : ` (votes ${qd.votes})`}\n` : '');
  const flags = opts.flags ?? `${quorate ? 'Quorate ' : ''}${qd ? 'Qdevice ' : ''}`;
  return (
    'Quorum information\n------------------\nDate:             Wed Aug 19 17:22:53 2026\nQuorum provider:  corosync_votequorum\n' +
    `Nodes:            ${opts.members.length}\nNode ID:          0x${opts.local.toString(16).padStart(8, '0')}\nRing ID:          1.685\nQuorate:          ${quorate ? 'Yes' : 'No'}\n\n` +
    `Votequorum information\n----------------------\nExpected votes:   ${opts.expected}\nHighest expected: ${opts.expected}\nTotal votes:      ${total}\n` +
    `Quorum:           ${quorum}${quorate ? '  ' : ' Activity blocked'}\nFlags:            ${flags}\n\n` +
    `Membership information\n----------------------\n    Nodeid      Votes ${qd ? '   Qdevice ' : ''}Name\n${rows}`
  );
}

/** `corosync-cfgtool -s` of node `local` with these link-0 peer states. */
export function cfgtool(local: number, address: string, peers: ReadonlyArray<{ nodeid: number; state: string }>): string {
  const lines = peers.map((p) => `\t\tnodeid: ${String(p.nodeid).padStart(10)}:\t${p.nodeid === local ? 'localhost' : p.state}\n`).join('');
  return `Local node ID ${local}, transport knet\nLINK ID 0 udp\n\taddr\t= ${address}\n\tstatus:\n${lines}`;
}

/** /proc/net/udp with these ports bound on the wildcard address (header as the kernel prints it). */
export function procNetUdp(...ports: number[]): string {
  const head = '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
  return head + ports.map((p, i) => `${String(1000 + i).padStart(5)}: 00000000:${p.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 ${327000 + i} 2 0000000000000000 0\n`).join('');
}

const NOT_RUNNING_CFG: Partial<Section> = { exitCode: 1, stderr: 'Could not initialize corosync configuration API error 2\n' };
const NOT_RUNNING_QUORUM: Partial<Section> = { exitCode: 1, stderr: 'Cannot initialize CMAP service\n' };

/** The sections of a healthy standalone PVE 9.1.7 node. */
export function healthySections(name: string, address: string): Partial<Record<SectionName, Partial<Section>>> {
  return {
    user: { stdout: '0\nroot\n' },
    hostname: { stdout: `${name}\n` },
    pveversion: { stdout: sample('pve/pveversion/pve9.1.7-verbose.txt') },
    chrony: { stdout: sample('pve/chrony/tracking-synchronised.txt') },
    resolve: { stdout: getent(name, address) },
    addrs: { stdout: ipAddr(address) },
    files: { stdout: '' },
    conf: { stdout: '' },
    localconf: { stdout: '' },
    cfgtool: NOT_RUNNING_CFG,
    quorum: NOT_RUNNING_QUORUM,
    udp: { stdout: procNetUdp(123, 323) },
    guests: { stdout: '' },
  };
}

/** What one node says; `sections` entries replace the healthy ones (undefined removes one). */
export interface NodeScript {
  sections?: Partial<Record<SectionName, Partial<Section> | undefined>>;
  /** stdout of `date +%s.%N`; default: the workstation time */
  clock?: string;
  clockExit?: number;
  unreachable?: boolean;
  /** replace the whole facts output (garbage, a failed script) */
  factsResult?: { exitCode: number; stdout: string; stderr: string };
}

/** A blocked direction: nothing from `from` arrives at `to` on `port`. */
export interface Block {
  from: string;
  to: string;
  port: number;
  /** rejected with ICMP instead of dropped */
  reject?: boolean;
}

/** A whole scenario. */
export interface Scenario {
  nodes: InventoryNode[];
  spec?: Partial<PreflightSpec>;
  node?: Record<string, NodeScript>;
  blocks?: Block[];
  /** per node: replace the probe's stdout or exit code */
  probe?: Record<string, { stdout?: string; exitCode?: number; stderr?: string; unreachable?: boolean }>;
  /** round trip every probe reports, ms */
  rttMs?: number;
  /** per node: ports that node could not bind */
  bindFail?: Record<string, number[]>;
}

/** The facts read's output for a node. */
export function factsOutput(name: string, address: string, s: NodeScript = {}): string {
  const sections: Partial<Record<SectionName, Partial<Section>>> = { ...healthySections(name, address) };
  for (const [k, v] of Object.entries(s.sections ?? {})) {
    if (v === undefined) delete sections[k as SectionName];
    else sections[k as SectionName] = v;
  }
  return renderSections(sections);
}

function probeOutput(plan: ProbePlan, sc: Scenario, nameOf: Map<string, string>): string {
  const blocked = (from: string, to: string, port: number) => sc.blocks?.find((b) => b.from === from && b.to === to && b.port === port);
  const lines: string[] = [];
  const fails = sc.bindFail?.[plan.node] ?? [];
  for (const p of plan.listen) lines.push(fails.includes(p) ? `bind ${p} fail Address already in use` : `bind ${p} ok`);
  for (const addr of plan.expect) {
    for (const p of plan.listen) {
      if (fails.includes(p) || blocked(nameOf.get(addr) ?? '', plan.node, p)) continue;
      lines.push(`recv ${addr} ${p}`);
    }
  }
  for (const t of [...plan.targets].sort((a, b) => (a.address < b.address ? -1 : 1))) {
    const peer = nameOf.get(t.address) ?? '';
    const peerFails = sc.bindFail?.[peer] ?? [];
    for (const p of t.ports) {
      const b = blocked(plan.node, peer, p);
      if (peerFails.includes(p)) lines.push(`probe ${t.address} ${p} refused`);
      else if (b) lines.push(`probe ${t.address} ${p} ${b.reject ? 'refused' : 'timeout'}`);
      else lines.push(`probe ${t.address} ${p} ok ${(sc.rttMs ?? 0.2).toFixed(3)}`);
    }
  }
  lines.push('done 0.040');
  return lines.join('\n') + '\n';
}

/** The scripts of a whole scenario; probe scripts follow the plans the facts lead to. */
export function scriptsOf(sc: Scenario, facts?: ReadonlyMap<string, NodeFacts>): Script[] {
  const scripts: Script[] = [];
  const all = [...sc.nodes, ...(sc.spec?.existingMember && !sc.nodes.some((n) => n.name === sc.spec?.existingMember?.name) ? [sc.spec.existingMember] : [])];
  for (const n of all) {
    const s = sc.node?.[n.name] ?? {};
    const address = n.link0 ?? n.host;
    if (s.unreachable) {
      // one session per node: its one command fails, nothing else is asked
      scripts.push({ node: n.name, argv: factsArgv(), unreachable: true });
      continue;
    }
    const factsResult = s.factsResult ?? { stdout: factsOutput(n.name, address, s) };
    scripts.push({ node: n.name, argv: factsArgv(), result: factsResult });
    // a script that did not run ends the session before the clock is asked
    if (parseSections(factsResult.stdout ?? '').size === 0) continue;
    const clock = s.clock ?? `${Math.floor(NOW_MS / 1000)}.${String(NOW_MS % 1000).padStart(3, '0')}000000`;
    scripts.push({ node: n.name, argv: clockArgv(), result: { exitCode: s.clockExit ?? 0, stdout: `${clock}\n` } });
  }
  if (facts) {
    const nameOf = new Map([...facts.values()].filter((f) => f.link0).map((f) => [f.link0 as string, f.name]));
    for (const plan of probePlans(all.map((n) => n.name), facts).values()) {
      const o = sc.probe?.[plan.node] ?? {};
      scripts.push({
        node: plan.node,
        argv: probeArgv(plan),
        ...(o.unreachable ? { unreachable: true } : { result: { exitCode: o.exitCode ?? 0, stdout: o.stdout ?? probeOutput(plan, sc, nameOf), stderr: o.stderr ?? '' } }),
      });
    }
  }
  return scripts;
}

/** A fake transport scripted with every command the scenario's run will send, probes included. */
export async function scenarioTransport(sc: Scenario): Promise<FakeTransport> {
  // first pass: learn the facts with the probes unscripted, to know which probes will run
  const spec: PreflightSpec = { purpose: 'general', nodes: sc.nodes, ...sc.spec };
  const dry = new FakeTransport([...scriptsOf(sc)]);
  const probeless: Transport = {
    conversations: true,
    exec: async (node, argv, opts) => {
      const answer = (a: readonly string[], o?: ExecOptions) => (a[0] === 'perl' ? Promise.resolve({ exitCode: 0, stdout: 'done 0\n', stderr: '', durationMs: 1 }) : dry.exec(node, a, o));
      return isSession(argv) ? playSession(opts ?? {}, answer) : answer(argv, opts);
    },
  };
  const first = await runPreflight(spec, { transport: probeless, now: () => NOW_MS });
  return new FakeTransport(scriptsOf(sc, first.nodeFacts));
}

/** Run preflight on a scenario; the fake transport must see exactly the scripted commands. */
export async function runScenario(sc: Scenario): Promise<PreflightResult & { transport: FakeTransport }> {
  const spec: PreflightSpec = { purpose: 'general', nodes: sc.nodes, ...sc.spec };
  const transport = await scenarioTransport(sc);
  const result = await runPreflight(spec, { transport, now: () => NOW_MS });
  transport.verify();
  return { ...result, transport };
}

/** The findings of one check. */
export function of(r: { findings: Finding[] }, id: string): Finding[] {
  return r.findings.filter((f) => f.id === id);
}

/** Status counts of findings, e.g. {ok: 3}. */
export function statuses(fs: readonly Finding[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fs) out[f.status] = (out[f.status] ?? 0) + 1;
  return out;
}
