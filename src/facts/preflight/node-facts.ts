/** Turns the sections of one facts read into typed NodeFacts, every tool failure kept as a reason. */
import type { InventoryNode } from '../../config/inventory.js';
import { parseChronyTracking } from '../../pve/parse/chrony.js';
import { parseCfgtoolStatus } from '../../pve/parse/corosync-cfgtool.js';
import { parseCorosyncConf, summarizeCorosyncConf } from '../../pve/parse/corosync-conf.js';
import { ParseError, excerptOf } from '../../pve/parse/errors.js';
import { isLoopbackAddress, parseGetentAhosts } from '../../pve/parse/getent-hosts.js';
import { parseIpAddr } from '../../pve/parse/ip-addr.js';
import { udpPortsInUse } from '../../pve/parse/proc-net-udp.js';
import { parsePveversion } from '../../pve/parse/pveversion.js';
import { parseQuorumtoolStatus } from '../../pve/parse/quorumtool.js';
import { parseNtpSynchronized } from '../../pve/parse/timedatectl.js';
import { lastLine, meaningfulLines } from '../../pve/parse/text.js';
import { canonicalAddress } from './address.js';
import type { Section, SectionName } from './script.js';
import type { ClockReading, Guest, NodeCluster, NodeFacts, Reading, TimeSync } from './types.js';

/** The shell's exit code for a command it could not find. */
const NOT_FOUND = 127;

/** A reading for a node that could not be reached: nothing was read. */
export function unreadable<T>(message: string): Reading<T> {
  return { ok: false, reason: 'absent', message };
}


/** Run a parser on a section; missing tool, non-zero exit and unparseable output become reasons. */
function read<T>(s: Section | undefined, tool: string, parse: (s: Section) => T, acceptExit: (code: number) => boolean = (c) => c === 0): Reading<T> {
  if (!s) return { ok: false, reason: 'absent', message: `${tool} printed nothing (the read did not finish)` };
  if (s.exitCode === NOT_FOUND) return { ok: false, reason: 'missing', message: `${tool} is not installed` };
  if (!acceptExit(s.exitCode)) {
    const why = lastLine(s.stderr) ?? lastLine(s.stdout) ?? `exit code ${s.exitCode}`;
    return { ok: false, reason: 'failed', message: `${tool} failed: ${excerptOf(why)}` };
  }
  try {
    return { ok: true, value: parse(s) };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, reason: 'garbage', message: `${tool} printed something unexpected: ${e.message}` };
    throw e;
  }
}

function garbage(tool: string, what: string, text: string): ParseError {
  return new ParseError(tool, what, text);
}

/** A parser's value and the lines it could not read. */
interface Partly<T> {
  value: T;
  unrecognized: string[];
}

/** Lines pvx cannot read ride beside the value, for the checks to report as warnings. */
function keeping<T>(r: Reading<Partly<T>>): Reading<T> {
  if (!r.ok) return r;
  const { value, unrecognized } = r.value;
  return unrecognized.length > 0 ? { ok: true, value, unrecognized } : { ok: true, value };
}

/** Where a line left out could mislead a decision, one pvx cannot read makes the whole answer unreadable. */
function strictly<T>(tool: string, value: T, unrecognized: readonly string[]): T {
  const first = unrecognized[0];
  if (first !== undefined) throw garbage(tool, `a line pvx cannot read, so the answer may be incomplete: '${excerptOf(first)}'`, first);
  return value;
}

function readUser(s: Section | undefined): Reading<{ uid: number; name: string }> {
  return read(s, 'id', (x) => {
    const [uid, name] = meaningfulLines(x.stdout);
    if (uid === undefined || !/^\d+$/.test(uid)) throw garbage('id', 'expected a numeric uid', x.stdout);
    return { uid: Number(uid), name: name ?? '' };
  });
}

function readHostname(s: Section | undefined): Reading<string> {
  return read(s, 'uname -n', (x) => {
    const lines = meaningfulLines(x.stdout);
    if (lines.length !== 1 || /\s/.test(lines[0] ?? '')) throw garbage('uname -n', 'expected one word', x.stdout);
    return lines[0] ?? '';
  });
}

/** chronyc first; timedatectl only ran because chronyc failed or is missing. */
function readTimeSync(chrony: Section | undefined, tdc: Section | undefined): Reading<TimeSync> {
  const c = read(chrony, 'chronyc tracking', (x) => parseChronyTracking(x.stdout, x.stderr));
  if (c.ok && c.value.kind === 'tracking') {
    const t = c.value;
    const out: TimeSync = { source: 'chrony', synchronized: t.synchronized, offsetSec: t.systemTimeOffsetSec, detail: `Leap status: ${t.leapStatus}` };
    if (t.referenceName) out.reference = t.referenceName;
    else if (t.referenceId !== '00000000') out.reference = t.referenceId;
    return { ok: true, value: out };
  }
  if (!c.ok && c.reason === 'garbage') return c;
  const daemonDown = c.ok || (chrony !== undefined && /506 Cannot talk to daemon/.test(chrony.stdout + chrony.stderr));
  const chronyProblem = daemonDown ? 'chronyd is not running: chronyc says 506 Cannot talk to daemon' : c.ok ? '' : c.message;
  if (!tdc) return { ok: false, reason: !c.ok && c.reason === 'missing' ? 'missing' : 'failed', message: chronyProblem };
  const t = read(tdc, 'timedatectl', (x) => parseNtpSynchronized(x.stdout));
  if (t.ok) return { ok: true, value: { source: 'timedatectl', synchronized: t.value, chronyProblem } };
  const chronyMissing = !c.ok && c.reason === 'missing';
  if (chronyMissing && t.reason === 'missing') return { ok: false, reason: 'missing', message: 'neither chronyc nor timedatectl is installed' };
  return { ok: false, reason: t.reason === 'garbage' ? 'garbage' : 'failed', message: `${chronyProblem}; ${t.message}` };
}

// an address left out can only make a check fail (not configured here), never pass: its lines are warnings
function readAddresses(s: Section | undefined): Reading<string[]> {
  return keeping(
    read(s, 'ip -o addr show', (x) => {
      const p = parseIpAddr(x.stdout);
      return { value: p.addresses.map((a) => canonicalAddress(a.address)), unrecognized: p.unrecognized };
    }),
  );
}

// the first non-loopback address becomes link0, so an address left out could pick the wrong one
function readResolved(s: Section | undefined): Reading<string[]> {
  // getent exits 2 when the name is not found: a fact, not a tool failure
  return read(
    s,
    'getent ahosts',
    (x) => {
      if (x.exitCode === 2) return [];
      const p = parseGetentAhosts(x.stdout);
      return strictly('getent ahosts', p.addresses.map(canonicalAddress), p.unrecognized);
    },
    (c) => c === 0 || c === 2,
  );
}

function readFiles(s: Section | undefined): Reading<{ pveCorosyncConf: boolean; authkey: boolean; localCorosyncConf: boolean }> {
  return read(s, 'test -e', (x) => {
    const lines = meaningfulLines(x.stdout);
    return {
      pveCorosyncConf: lines.includes('/etc/pve/corosync.conf'),
      authkey: lines.includes('/etc/corosync/authkey'),
      localCorosyncConf: lines.includes('/etc/corosync/corosync.conf'),
    };
  });
}

function clusterFrom(text: string, source: NodeCluster['source']): NodeCluster {
  const conf = parseCorosyncConf(text);
  const sum = summarizeCorosyncConf(conf);
  const links = new Set<number>();
  for (const n of sum.nodes) for (const k of Object.keys(n.links)) links.add(Number(k));
  for (const i of conf.totem.interface ?? []) {
    const v = i['linknumber'];
    if (typeof v === 'string' && /^\d+$/.test(v)) links.add(Number(v));
  }
  const out: NodeCluster = { name: sum.clusterName, configVersion: sum.configVersion, nodes: sum.nodes, linkNumbers: [...links].sort((a, b) => a - b), source };
  if (sum.qdevice) out.qdevice = sum.qdevice;
  return out;
}

/**
 * The node's cluster: /etc/pve/corosync.conf when pmxcfs shows it; the local copy only counts while
 * corosync runs, because Debian's corosync package ships an example file there on every host.
 */
function readCluster(conf: Section | undefined, local: Section | undefined, running: boolean): Reading<NodeCluster | null> {
  if (conf && conf.exitCode === 0 && conf.stdout.trim() !== '') {
    return read(conf, '/etc/pve/corosync.conf', (x) => clusterFrom(x.stdout, '/etc/pve/corosync.conf'));
  }
  if (running && local && local.exitCode === 0 && local.stdout.trim() !== '') {
    return read(local, '/etc/corosync/corosync.conf', (x) => clusterFrom(x.stdout, '/etc/corosync/corosync.conf'));
  }
  if (!conf) return { ok: false, reason: 'absent', message: 'corosync.conf was not read' };
  return { ok: true, value: null };
}

const GUEST_LINE = /^(\/etc\/pve\/nodes\/([^/ ]+)\/(qemu-server|lxc|openvz)\/([^/ ]+)\.conf)(?: (.*))?$/;
const GUEST_TYPE = { 'qemu-server': 'qemu', lxc: 'lxc', openvz: 'openvz' } as const;

/** pmxcfs counts `<vmid>.conf` (vmid 1 … 2^32-1) in folders named like a node (LDH), memdb.c name_is_vm_config and valid_nodename. */
function countedByPmxcfs(node: string, base: string): boolean {
  return /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(node) && /^[1-9]\d*$/.test(base) && Number(base) <= 0xffffffff;
}

function readGuests(s: Section | undefined): Reading<Guest[]> {
  return read(s, 'guest configs', (x) =>
    meaningfulLines(x.stdout).flatMap((line) => {
      const m = GUEST_LINE.exec(line);
      if (!m) throw garbage('guest configs', 'unexpected line', line);
      const [, path = '', node = '', dir = 'qemu-server', base = '', name] = m;
      // a file pmxcfs does not count cannot make pvecm add refuse
      if (!countedByPmxcfs(node, base)) return [];
      const g: Guest = { vmid: Number(base), type: GUEST_TYPE[dir as keyof typeof GUEST_TYPE], node, path };
      if (name) g.name = name;
      return [g];
    }),
  );
}

/** Link 0: the inventory's address, else what PVE would pick: the first non-loopback address of the name. */
function link0Of(node: InventoryNode, resolved: Reading<string[]>): Pick<NodeFacts, 'link0' | 'link0Source'> {
  if (node.link0) return { link0: canonicalAddress(node.link0), link0Source: 'inventory' };
  if (resolved.ok) {
    const first = resolved.value.find((a) => !isLoopbackAddress(a));
    if (first) return { link0: first, link0Source: 'resolved' };
  }
  return {};
}

/** Whether the node has its link0 address configured; undefined when that could not be read. */
export function link0IsLocal(f: NodeFacts): boolean | undefined {
  if (f.link0 === undefined || !f.localAddresses.ok) return undefined;
  return f.localAddresses.value.includes(f.link0);
}

/** Facts of a node whose read ran; `clock` comes from its own exec. */
export function factsFromSections(node: InventoryNode, sections: ReadonlyMap<SectionName, Section>, clock: Reading<ClockReading>): NodeFacts {
  const get = (k: SectionName) => sections.get(k);
  // a peer line left out shows as 'no link state' (a warning), never as connected
  const links = keeping(
    read(get('cfgtool'), 'corosync-cfgtool -s', (x) => {
      const c = parseCfgtoolStatus(x.stdout);
      return { value: c, unrecognized: c.unrecognized };
    }),
  );
  // quorum and membership decide what may change: a member row left out is not a view to act on
  const quorum = read(
    get('quorum'),
    'corosync-quorumtool -s',
    (x) => {
      const q = parseQuorumtoolStatus(x.stdout);
      return strictly('corosync-quorumtool -s', q, q.unrecognized);
    },
    (c) => c === 0 || c === 2,
  );
  // cfgtool and quorumtool answer only while corosync runs; either one answering is proof enough
  const corosyncRunning = links.ok || quorum.ok || (links.ok === false && links.reason === 'garbage');
  const resolved = readResolved(get('resolve'));
  return {
    name: node.name,
    reachable: true,
    user: readUser(get('user')),
    hostname: readHostname(get('hostname')),
    pve: read(get('pveversion'), 'pveversion -v', (x) => parsePveversion(x.stdout)),
    timeSync: readTimeSync(get('chrony'), get('timedatectl')),
    clock,
    resolved,
    localAddresses: readAddresses(get('addrs')),
    ...link0Of(node, resolved),
    files: readFiles(get('files')),
    cluster: readCluster(get('conf'), get('localconf'), corosyncRunning),
    corosyncRunning,
    // a socket left out only means the probe tries that port, and its failed bind is reported there
    udpPortsInUse: keeping(
      read(get('udp'), '/proc/net/udp', (x) => {
        const u = udpPortsInUse(x.stdout);
        return { value: u.ports, unrecognized: u.unrecognized };
      }),
    ),
    links,
    quorum,
    guests: readGuests(get('guests')),
  };
}

/** Facts of a node that could not be reached: everything unread. */
export function unreachableFacts(node: InventoryNode, err: { code: string; message: string; hint?: string | undefined }): NodeFacts {
  const why = `not read: ${node.name} could not be reached`;
  const u = { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  return {
    name: node.name,
    reachable: false,
    unreachable: u,
    user: unreadable(why),
    hostname: unreadable(why),
    pve: unreadable(why),
    timeSync: unreadable(why),
    clock: unreadable(why),
    resolved: unreadable(why),
    localAddresses: unreadable(why),
    ...(node.link0 ? { link0: canonicalAddress(node.link0), link0Source: 'inventory' as const } : {}),
    files: unreadable(why),
    cluster: unreadable(why),
    corosyncRunning: false,
    udpPortsInUse: unreadable(why),
    links: unreadable(why),
    quorum: unreadable(why),
    guests: unreadable(why),
  };
}
