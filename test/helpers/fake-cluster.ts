/**
 * A strict, stateful stand-in for a few PVE nodes behind the Transport interface: it answers the
 * preflight reads, `pvecm status`, the pvesh reads, and changes its state on `pvecm create|add|
 * delnode|expected` the way the reference describes (including `pvecm add` exiting 0 on a failed
 * join). Any other command throws, so a test sees every command pvx runs.
 */
import { verifyStrict, type Expectation } from './strict-check.js';
import { createHash } from 'node:crypto';
import { clockArgv } from '../../src/facts/preflight/clock.js';
import { probeArgv } from '../../src/facts/preflight/udp-probe.js';
import { factsArgv } from '../../src/facts/preflight/script.js';
import { isSession, playSession } from './session-node.js';
import { isNodeRead, NODE_READ_COMMANDS, playNodeRead } from './node-read.js';
import { FakeLocks, isLockCommand } from './fake-lock.js';
import { UnreachableError } from '../../src/errors.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/types.js';
import { cfgtool, corosyncConf, factsOutput, ipAddr, quorumtool } from '../unit/checks/scenario.js';

/** One pretend node. */
export interface FakeNode {
  name: string;
  /** the management address: its name resolves to it, and its API (8006) and sshd listen there */
  address: string;
  /** an address on a dedicated corosync network, where 8006 and 22 are closed (default: `address`) */
  link0?: string;
  reachable: boolean;
  corosync: boolean;
  cluster?: string;
  guests: Array<{ vmid: number; type: 'qemu' | 'lxc'; name: string }>;
  /** guest configs in other nodes' folders of its /etc/pve/nodes, left from an earlier cluster */
  staleGuests?: Array<{ node: string; vmid: number; type: 'qemu' | 'lxc'; name: string }>;
}

/** One pretend cluster (its corosync.conf and /etc/pve). */
export interface FakeClusterState {
  name: string;
  members: Array<{ name: string; nodeid: number; address: string }>;
  configVersion: number;
  expectedOverride?: number;
  files: Set<string>;
  /** a QDevice (`pvecm qdevice setup <host>`, one vote, ffsplit) */
  qdevice?: { host: string };
}

/** One command the fake saw. */
export interface FakeCall {
  node: string;
  argv: readonly string[];
  opts: ExecOptions;
}

/** How the next `pvecm add` on a node misbehaves. */
export type AddFault =
  /** the task fails after login but the CLI exits 0 with no success line */
  | 'exit0-no-success'
  /** prints the success line, but the node never shows up in the cluster */
  | 'success-without-membership';

const ok = (stdout = '', stderr = '', exitCode = 0): ExecResult => ({ exitCode, stdout, stderr, durationMs: 1 });
/** The probe's perl program, compared by identity only: the fields after it are checked by hand. */
const PROBE_PROGRAM = probeArgv({ node: '', self: '', listen: [], expect: [], targets: [] })[2];
const STANDALONE = "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n";

/** The fake. `password` is the root password `pvecm add` accepts. */
export class FakeCluster implements Transport {
  readonly conversations = true;
  readonly calls: FakeCall[] = [];
  readonly nodes = new Map<string, FakeNode>();
  readonly clusters = new Map<string, FakeClusterState>();
  readonly addFaults = new Map<string, AddFault>();
  /** nodes whose corosync UDP ports are blocked both ways */
  readonly udpBlocked = new Set<string>();
  password = 'S3cret pass!';
  /** `pveversion -v` every node prints in its facts (default: the PVE 9.1.7 sample) */
  pveversionVerbose: string | undefined;
  /** the nodes' cluster lock folders; their commands are kept apart from `calls` (pvx's bookkeeping, not cluster changes) */
  readonly locks = new FakeLocks();
  /** commands refused as unexpected (kept even when the product catches the error) */
  readonly unexpected: string[] = [];
  private readonly expectations: Expectation[] = [];

  constructor(names: readonly string[], subnet = '10.99.0.') {
    names.forEach((name, i) => this.nodes.set(name, { name, address: `${subnet}${i + 1}`, reachable: true, corosync: false, guests: [] }));
  }

  /** Form a cluster directly (as if created earlier). */
  form(cluster: string, names: readonly string[]): this {
    const members = names.map((n, i) => ({ name: n, nodeid: i + 1, address: this.corosyncAddress(n) }));
    this.clusters.set(cluster, { name: cluster, members, configVersion: members.length, files: new Set(names.map((n) => `/etc/pve/nodes/${n}`)) });
    for (const n of names) Object.assign(this.node(n), { cluster, corosync: true });
    return this;
  }

  node(name: string): FakeNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no fake node ${name}`);
    return n;
  }

  /** The node's corosync link 0 address. */
  corosyncAddress(name: string): string {
    const n = this.node(name);
    return n.link0 ?? n.address;
  }

  fingerprint(name: string): string {
    const h = createHash('sha256').update(name).digest('hex').toUpperCase();
    return h.match(/../g)!.join(':');
  }

  /** Commands that change something, as `node: argv` lines. */
  mutations(): string[] {
    return this.calls.filter((c) => c.opts.mutates).map((c) => `${c.node}: ${c.argv.join(' ')}`);
  }

  /**
   * mutations(), with the write checks of a final verification (which checks every node at once,
   * each node's steps in order) listed node by node, by name: run order across nodes is not part of the contract.
   */
  mutationsChecksByNode(): string[] {
    const all = this.mutations();
    const first = all.findIndex((m) => m.includes('/.pvx-write-check'));
    if (first < 0) return all;
    const node = (m: string): string => m.slice(0, m.indexOf(':'));
    // a stable sort: each node's touch stays before its removal
    return [...all.slice(0, first), ...all.slice(first).sort((a, b) => node(a).localeCompare(node(b)))];
  }

  private clusterOf(n: FakeNode): FakeClusterState | undefined {
    return n.cluster ? this.clusters.get(n.cluster) : undefined;
  }

  private online(c: FakeClusterState): string[] {
    return c.members.filter((m) => {
      const n = this.node(m.name);
      return n.reachable && n.corosync && !this.udpBlocked.has(m.name);
    }).map((m) => m.name);
  }

  private quorum(c: FakeClusterState, from: string): { partition: string[]; expected: number; quorate: boolean; qdevice?: { votes: number; voting: boolean } } {
    const online = this.udpBlocked.has(from) ? [from] : this.online(c);
    // corosync counts the device's vote in the expected votes; ffsplit gives it to the larger half (ties: the lowest node id)
    const expected = c.expectedOverride ?? c.members.length + (c.qdevice ? 1 : 0);
    const lowest = [...c.members].sort((a, b) => a.nodeid - b.nodeid)[0]?.name;
    const voting = Boolean(c.qdevice) && (online.length * 2 > c.members.length || (online.length * 2 === c.members.length && lowest !== undefined && online.includes(lowest)));
    const total = online.length + (voting ? 1 : 0);
    return { partition: online, expected, quorate: total * 2 > expected, ...(c.qdevice ? { qdevice: { votes: 1, voting } } : {}) };
  }

  /** Guest configs in other nodes' folders the node holds (a separated node's are its teardown state). */
  protected otherFolderGuests(n: FakeNode): Array<{ node: string; vmid: number; type: 'qemu' | 'lxc'; name?: string }> {
    return n.staleGuests ?? [];
  }

  /** Declare a command the test expects to be run at least once (`argv` matches the space-joined argv). */
  expectUsed(node: string, argv: RegExp): this {
    this.expectations.push({ node, argv });
    return this;
  }

  /** Throws when a command was refused as unexpected, or an expected command was never run. */
  verify(): void {
    verifyStrict(this.unexpected, this.expectations, this.calls);
  }

  /** The error for a command this double was not built for; recorded so verify() fails even if it is caught. */
  protected reject(node: string, argv: readonly string[], extra = ''): Error {
    const line = `unexpected command on ${node}: ${JSON.stringify(argv)}${extra}`;
    this.unexpected.push(line);
    return new Error(line);
  }

  /** True for the name of one of the fake's nodes. */
  protected knownNode(name: string | undefined): boolean {
    return name !== undefined && this.nodes.has(name);
  }

  /** True for a node's management or corosync address. */
  private knownAddress(addr: string): boolean {
    return [...this.nodes.values()].some((x) => x.address === addr || x.link0 === addr);
  }

  /** `perl -e <probe program> -- <self> <0|1> <wait> <resend> <ports> <expected senders> <targets>`, fields checked by hand. */
  private isProbe(n: FakeNode, argv: readonly string[]): boolean {
    if (argv.length !== 11 || argv[0] !== 'perl' || argv[1] !== '-e' || argv[2] !== PROBE_PROGRAM || argv[3] !== '--') return false;
    const [self, listen, wait, resend, ports, expect, targets] = argv.slice(4);
    const list = (s: string | undefined) => (s ?? '').split(',').filter((x) => x !== '');
    return (
      (self === n.address || self === n.link0) &&
      (listen === '0' || listen === '1') &&
      /^\d+(\.\d+)?$/.test(wait ?? '') &&
      /^\d+(\.\d+)?$/.test(resend ?? '') &&
      /^\d{4,5}(,\d{4,5})*$/.test(ports ?? '') &&
      list(expect).every((a) => this.knownAddress(a)) &&
      list(targets).every((t) => /^[^/]+(\/\d{4,5}(\+\d{4,5})*)?$/.test(t) && this.knownAddress(t.split('/')[0] ?? ''))
    );
  }

  /** `/etc/pve/nodes/<the node itself>/.pvx-write-check`, the only file pvx touches in /etc/pve. */
  private isWriteCheck(n: FakeNode, file: string | undefined): boolean {
    const m = /^\/etc\/pve\/nodes\/([^/]+)\/\.pvx-write-check$/.exec(file ?? '');
    return m !== null && m[1] === n.name;
  }

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    // the preflight session, played from this fake's answers to the separate commands
    if (isSession(argv)) return playSession(opts, (a, o) => this.exec(node, a, o));
    // the read sees /etc/pve/corosync.conf where this fake's pvecm status does: on a member
    if (isNodeRead(argv)) return playNodeRead((a) => this.exec(node, a), () => this.clusterOf(this.node(node)) !== undefined);
    if (isLockCommand(argv)) return this.lockCommand(node, argv, opts);
    this.calls.push({ node, argv, opts });
    const n = this.node(node);
    if (!n.reachable) throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection timed out`, { hint: 'check the node', beforeCommand: true });
    const a = argv.join(' ');
    if (same(argv, factsArgv())) return ok(this.facts(n));
    if (same(argv, clockArgv())) {
      const ms = Date.now();
      return ok(`${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000000\n`);
    }
    if (this.isProbe(n, argv)) return ok(this.probe(n, argv));
    if (a === 'pvecm status') return this.pvecmStatus(n);
    if (same(argv, NODE_READ_COMMANDS.quorum) && this.clusterOf(n)) return this.quorumtool(n);
    if (same(argv, NODE_READ_COMMANDS.members)) return ok(this.members(n));
    if (same(argv, NODE_READ_COMMANDS.version)) return ok('installed 9.1.7\n');
    if (a === 'pvesh get /cluster/status --output-format json') return this.clusterStatus(n);
    if (a === 'pveversion') return ok('pve-manager/9.1.7/16b139a017452f16 (running kernel: 6.14.11-4-pve)\n');
    if (a === 'pvesh get /cluster/config/join --output-format json') return this.joinInfo(n);
    if (a === 'pvesh get /cluster/resources --type vm --output-format json') return this.resources(n);
    if (this.isCreate(argv)) return this.create(n, argv);
    if (this.isAdd(argv)) return this.add(n, argv, opts.input);
    if (argv.length === 3 && argv[0] === 'pvecm' && argv[1] === 'delnode' && this.knownNode(argv[2])) return this.delnode(n, argv[2] ?? '');
    if (argv.length === 3 && argv[0] === 'pvecm' && argv[1] === 'expected' && /^[1-9]\d*$/.test(argv[2] ?? '')) return this.expected(n, Number(argv[2]));
    if (a === 'pvecm qdevice remove') return this.qdeviceRemove(n);
    // a member's missing files in /etc/pve (quorate only, as pmxcfs writes nothing without quorum)
    if (a === 'pvecm updatecerts' && this.clusterOf(n)) return this.updatecerts(n, this.clusterOf(n)!);
    if (a === 'cat /etc/pve/corosync.conf') return this.pveConf(n);
    if (argv.length === 2 && argv[0] === 'touch' && this.isWriteCheck(n, argv[1])) return this.write(n, argv[1] ?? '', true);
    if (argv.length === 3 && argv[0] === 'rm' && argv[1] === '-f' && this.isWriteCheck(n, argv[2])) return this.write(n, argv[2] ?? '', false);
    const folder = /^\/etc\/pve\/nodes\/([^/]+)$/.exec(argv[2] ?? '');
    if (argv.length === 3 && argv[0] === 'rm' && argv[1] === '-r' && this.knownNode(folder?.[1])) return this.removeTree(n, argv[2] ?? '');
    if (argv.length === 3 && argv[0] === 'test' && argv[1] === '-d' && this.knownNode(folder?.[1])) return ok('', '', this.clusterOf(n)?.files.has(argv[2] ?? '') ? 0 : 1);
    throw this.reject(node, argv);
  }

  /** `pvecm create <name> [--link0 <its address>]`. */
  private isCreate(argv: readonly string[]): boolean {
    if (argv[0] !== 'pvecm' || argv[1] !== 'create' || !/^[A-Za-z0-9-]{1,15}$/.test(argv[2] ?? '')) return false;
    const rest = argv.slice(3);
    return rest.length === 0 || (rest.length === 2 && rest[0] === '--link0' && this.knownAddress(rest[1] ?? ''));
  }

  /** `pvecm add <peer> [--fingerprint <fp>] [--link0 <address>] [--use_ssh 1]`, nothing else. */
  private isAdd(argv: readonly string[]): boolean {
    if (argv[0] !== 'pvecm' || argv[1] !== 'add') return false;
    const host = argv[2] ?? '';
    if (!this.knownAddress(host) && !this.knownNode(host)) return false;
    for (let i = 3; i < argv.length; i++) {
      const f = argv[i];
      if (f === '--use_ssh' && argv[i + 1] === '1') i++;
      else if (f === '--fingerprint' && /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(argv[i + 1] ?? '')) i++;
      else if (f === '--link0' && this.knownAddress(argv[i + 1] ?? '')) i++;
      else return false;
    }
    return true;
  }

  /** A cluster lock command: it must be sent as a change (dry-run never runs it), to a reachable node. */
  protected lockCommand(node: string, argv: readonly string[], opts: ExecOptions): ExecResult {
    if (opts.mutates !== true) throw new Error(`lock command on ${node} not flagged as a change`);
    if (!this.node(node).reachable) throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection timed out`, { hint: 'check the node', beforeCommand: true });
    try {
      return this.locks.answer(node, argv);
    } catch (e) {
      this.unexpected.push(`${node}: ${(e as Error).message}`);
      throw e;
    }
  }

  private facts(n: FakeNode): string {
    const c = this.clusterOf(n);
    const mine = n.guests.map((g) => ({ ...g, node: n.name }));
    const guests = [...mine, ...(c ? [] : this.otherFolderGuests(n))]
      .map((g) => `/etc/pve/nodes/${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf ${g.name ?? ''}\n`)
      .join('');
    // a second interface on the corosync network, as `ip -o addr` lists it
    const addrs = n.link0 ? { addrs: { stdout: `${ipAddr(n.address)}3: eth1    inet ${n.link0}/24 scope global eth1\\       valid_lft forever preferred_lft forever\n` } } : {};
    if (!c) return factsOutput(n.name, n.address, { sections: { guests: { stdout: guests }, ...addrs } });
    const me = c.members.find((m) => m.name === n.name)!;
    const q = this.quorum(c, n.name);
    const running = n.corosync;
    return factsOutput(n.name, n.address, {
      sections: {
        ...(this.pveversionVerbose !== undefined ? { pveversion: { stdout: this.pveversionVerbose } } : {}),
        files: { stdout: '/etc/pve/corosync.conf\n/etc/corosync/authkey\n/etc/corosync/corosync.conf\n' },
        conf: { stdout: corosyncConf(c.name, c.members, c.qdevice ? { qdevice: c.qdevice } : {}) },
        localconf: { stdout: corosyncConf(c.name, c.members, c.qdevice ? { qdevice: c.qdevice } : {}) },
        guests: { stdout: guests },
        ...addrs,
        ...(running
          ? {
              cfgtool: { stdout: cfgtool(me.nodeid, me.address, c.members.map((m) => ({ nodeid: m.nodeid, state: q.partition.includes(m.name) ? 'connected' : 'disconnected' }))) },
              quorum: {
                exitCode: q.quorate ? 0 : 2,
                stdout: quorumtool({ local: me.nodeid, members: c.members.filter((m) => q.partition.includes(m.name)), expected: q.expected, ...(q.qdevice ? { qdevice: q.qdevice } : {}) }),
              },
            }
          : {}),
      },
    });
  }

  private probe(n: FakeNode, argv: readonly string[]): string {
    const at = argv.indexOf('--');
    const [, listen, , , ports, expect, targets] = argv.slice(at + 1);
    const portList = (ports ?? '').split(',').filter(Boolean);
    const nameOf = (addr: string) => [...this.nodes.values()].find((x) => x.address === addr || x.link0 === addr)?.name ?? '';
    const blocked = (a: string, b: string) => this.udpBlocked.has(a) || this.udpBlocked.has(b);
    const lines: string[] = [];
    if (listen === '1') {
      for (const p of portList) lines.push(`bind ${p} ok`);
      for (const addr of (expect ?? '').split(',').filter(Boolean)) {
        for (const p of portList) if (!blocked(nameOf(addr), n.name)) lines.push(`recv ${addr} ${p}`);
      }
    }
    for (const addr of (targets ?? '').split(',').filter(Boolean).sort()) {
      for (const p of portList) lines.push(`probe ${addr} ${p} ${blocked(n.name, nameOf(addr)) ? 'timeout' : 'ok 0.200'}`);
    }
    lines.push('done 0.040');
    return lines.join('\n') + '\n';
  }

  private pvecmStatus(n: FakeNode): ExecResult {
    const c = this.clusterOf(n);
    if (!c) return ok('', STANDALONE, 2);
    const header = `Cluster information\n-------------------\nName:             ${c.name}\nConfig Version:   ${c.configVersion}\nTransport:        knet\nSecure auth:      on\n\n`;
    const q = this.quorumtool(n);
    return { ...q, stdout: header + q.stdout };
  }

  /** `corosync-quorumtool -siH` on a cluster member. */
  private quorumtool(n: FakeNode): ExecResult {
    const c = this.clusterOf(n)!;
    if (!n.corosync) return ok('', 'Cannot initialize CMAP service\n', 1);
    const q = this.quorum(c, n.name);
    const me = c.members.find((m) => m.name === n.name)!;
    return ok(quorumtool({ local: me.nodeid, members: c.members.filter((m) => q.partition.includes(m.name)), expected: q.expected, ...(q.qdevice ? { qdevice: q.qdevice } : {}) }), '', q.quorate ? 0 : 2);
  }

  /** `/etc/pve/.members` (pve-cluster status.c cfs_create_memberlist_msg). */
  private members(n: FakeNode): string {
    const c = this.clusterOf(n);
    if (!c) return `{\n"nodename": "${n.name}",\n"version": 1\n}\n`;
    const q = this.quorum(c, n.name);
    const rows = c.members.map((m) => `  "${m.name}": { "id": ${m.nodeid}, "online": ${q.partition.includes(m.name) ? 1 : 0}, "ip": "${m.address}"}`);
    return `{\n"nodename": "${n.name}",\n"version": 2,\n"cluster": { "name": "${c.name}", "version": ${c.configVersion}, "nodes": ${c.members.length}, "quorate": ${q.quorate ? 1 : 0} },\n"nodelist": {\n${rows.join(',\n')}\n  }\n}\n`;
  }

  private clusterStatus(n: FakeNode): ExecResult {
    const c = this.clusterOf(n);
    if (!c) return ok(JSON.stringify([{ id: `node/${n.name}`, local: 1, name: n.name, nodeid: 0, online: 1, type: 'node' }]) + '\n');
    const q = this.quorum(c, n.name);
    const rows: unknown[] = [{ id: 'cluster', name: c.name, nodes: c.members.length, quorate: q.quorate ? 1 : 0, type: 'cluster', version: c.configVersion }];
    for (const m of c.members) {
      rows.push({ id: `node/${m.name}`, ip: m.address, level: '', local: m.name === n.name ? 1 : 0, name: m.name, nodeid: m.nodeid, online: q.partition.includes(m.name) ? 1 : 0, type: 'node' });
    }
    return ok(JSON.stringify(rows) + '\n');
  }

  private joinInfo(n: FakeNode): ExecResult {
    const c = this.clusterOf(n);
    if (!c) return ok('', 'node is not in a cluster, no join info available!\n', 255);
    // the API reads every member's certificate, which pvecm add makes last (a cut-off add leaves none)
    const bare = c.members.find((m) => !c.files.has(`/etc/pve/nodes/${m.name}`));
    if (bare) return ok('', `unable to read '/etc/pve/nodes/${bare.name}/pve-ssl.pem' - No such file or directory\n`, 2);
    const doc = {
      config_digest: '111418c98000acfda99059d29cd89123583020a0',
      // pve_addr: the address the member's name resolves to on it (pmxcfs publishes it); ring0_addr: its corosync address
      nodelist: c.members.map((m) => ({ name: m.name, nodeid: String(m.nodeid), pve_addr: this.node(m.name).address, pve_fp: this.fingerprint(m.name), quorum_votes: '1', ring0_addr: m.address })),
      preferred_node: n.name,
      totem: { cluster_name: c.name, config_version: String(c.configVersion), interface: { '0': { linknumber: '0' } }, ip_version: 'ipv4-6', link_mode: 'passive', secauth: 'on', version: '2' },
    };
    return ok(JSON.stringify(doc) + '\n');
  }

  private resources(n: FakeNode): ExecResult {
    const c = this.clusterOf(n);
    const rows = (c?.members ?? []).flatMap((m) => this.node(m.name).guests.map((g) => ({ id: `${g.type}/${g.vmid}`, name: g.name, node: m.name, status: 'stopped', template: 0, type: g.type, vmid: g.vmid })));
    return ok(JSON.stringify(rows) + '\n');
  }

  private create(n: FakeNode, argv: readonly string[]): ExecResult {
    if (n.cluster) return ok('', "cluster config '/etc/pve/corosync.conf' already exists\n", 255);
    const name = argv[2] ?? '';
    const link0 = argv[argv.indexOf('--link0') + 1] ?? this.corosyncAddress(n.name);
    this.clusters.set(name, { name, members: [{ name: n.name, nodeid: 1, address: link0 }], configVersion: 1, files: new Set([`/etc/pve/nodes/${n.name}`]) });
    Object.assign(n, { cluster: name, corosync: true });
    return ok(
      'Corosync Cluster Engine Authentication key generator.\nGathering 2048 bits for key from /dev/urandom.\nWriting corosync key to /etc/corosync/authkey.\n' +
        'Writing corosync config to /etc/pve/corosync.conf\nRestart corosync and cluster filesystem\n',
    );
  }

  private add(n: FakeNode, argv: readonly string[], input: string | undefined): ExecResult {
    const host = argv[2] ?? '';
    // pvecm add reaches the peer's API (8006) or sshd (22): only its management address or name answers
    const peer = [...this.nodes.values()].find((x) => x.address === host || x.name === host);
    const c = peer ? this.clusterOf(peer) : undefined;
    const useSsh = argv.includes('--use_ssh');
    const fp = argv.includes('--fingerprint') ? argv[argv.indexOf('--fingerprint') + 1] : undefined;
    const link0 = argv.includes('--link0') ? argv[argv.indexOf('--link0') + 1] ?? this.corosyncAddress(n.name) : this.corosyncAddress(n.name);
    let out = '';
    if (!peer && [...this.nodes.values()].some((x) => x.link0 === host)) {
      if (useSsh) return ok('', `ssh: connect to host ${host} port 22: Connection refused\n`, 0);
      return ok(`Establishing API connection with host '${host}'\n`, `500 Can't connect to ${host}:8006 (Connection refused)\n`, 0);
    }
    if (!useSsh) {
      if (input === undefined) return ok('', 'EOF while reading password\n', 0);
      out += `Establishing API connection with host '${host}'\n`;
      if (input !== `${this.password}\n`) return ok(out, '401 401 authentication failure\n', 0);
      if (!peer || fp !== this.fingerprint(peer.name)) return ok(out, `fingerprint '${fp}' not verified, abort!\n`, 0);
      out += 'Login succeeded.\ncheck cluster join API version\n';
    }
    if (!c) return ok(out, 'Remote side is not able to use API for Cluster join!\n', 0);
    const refusals: string[] = [];
    if (n.cluster) refusals.push("cluster config '/etc/pve/corosync.conf' already exists");
    // the guest list pmxcfs builds from every /etc/pve/nodes/* folder (pve-cluster memdb.c)
    if (n.guests.length > 0 || this.otherFolderGuests(n).length > 0) refusals.push('this host already contains virtual guests');
    if (refusals.length > 0) return ok(out + `detected the following error(s):\n${refusals.map((r) => `* ${r}`).join('\n')}\n`, 'Check if node may join a cluster failed!\n', 0);
    const fault = this.addFaults.get(n.name);
    this.addFaults.delete(n.name);
    out += 'Request addition of this node\n';
    if (fault === 'exit0-no-success') {
      // the cluster took the node in, then the local part of the task died
      c.members.push({ name: n.name, nodeid: Math.max(...c.members.map((m) => m.nodeid)) + 1, address: link0 });
      c.configVersion++;
      return ok(out + 'Join request OK, finishing setup locally\nstopping pve-cluster service\n', 'unable to start pve-cluster: timeout\n', 0);
    }
    out += 'Join request OK, finishing setup locally\nstopping pve-cluster service\nwaiting for quorum...OK\n(re)generate node files\nmerge authorized SSH keys\n';
    if (fault !== 'success-without-membership') {
      c.members.push({ name: n.name, nodeid: Math.max(...c.members.map((m) => m.nodeid)) + 1, address: link0 });
      c.configVersion++;
      c.files.add(`/etc/pve/nodes/${n.name}`);
      Object.assign(n, { cluster: c.name, corosync: true });
    }
    return ok(out + `successfully added node '${n.name}' to cluster.\n`);
  }

  private delnode(n: FakeNode, name: string): ExecResult {
    const c = this.clusterOf(n);
    if (!c) return ok('', STANDALONE, 255);
    if (name === n.name) return ok('', 'Cannot delete myself from cluster!\n', 255);
    if (!this.quorum(c, n.name).quorate) return ok('', 'cluster not ready - no quorum?\n', 255);
    const m = c.members.find((x) => x.name === name);
    if (!m) return ok('', `Node/IP: ${name} is not a known host of the cluster.\n`, 255);
    const wasOnline = this.online(c).includes(name);
    c.members = c.members.filter((x) => x.name !== name);
    c.configVersion++;
    return ok(`Killing node ${m.nodeid}\n`, wasOnline ? '' : 'Could not kill node (error = CS_ERR_NOT_EXIST)\n');
  }

  private expected(n: FakeNode, votes: number): ExecResult {
    const c = this.clusterOf(n);
    if (!c) return ok('', STANDALONE, 255);
    if (votes < this.quorum(c, n.name).partition.length) return ok('', 'Unable to set expected votes: CS_ERR_INVALID_PARAM\n', 1);
    c.expectedOverride = votes;
    return ok();
  }

  /** pve-cluster PVE/CLI/pvecm.pm remove_qdevice: every member online, then the device leaves corosync.conf. */
  private qdeviceRemove(n: FakeNode): ExecResult {
    const c = this.clusterOf(n);
    if (!c) return ok('', STANDALONE, 255);
    const offline = c.members.map((m) => m.name).filter((m) => !this.online(c).includes(m)).sort()[0];
    if (offline) return ok('', `All nodes must be online! Node ${offline} is offline, aborting.\n`, 255);
    if (!c.qdevice) return ok('', 'No QDevice configured!\n', 255);
    delete c.qdevice;
    c.configVersion++;
    return ok('\nRemoved Qdevice.\n');
  }

  /** /etc/pve/corosync.conf as the node's pmxcfs shows it. */
  private pveConf(n: FakeNode): ExecResult {
    const c = this.clusterOf(n);
    if (!c) return ok('', 'cat: /etc/pve/corosync.conf: No such file or directory\n', 1);
    // the version pvecm has written so far (each add and delnode raises it), as its status header shows
    return ok(corosyncConf(c.name, c.members, c.qdevice ? { qdevice: c.qdevice } : {}).replace(/config_version: \d+/, `config_version: ${c.configVersion}`));
  }

  /** `pvecm updatecerts`: the node's directory and certificate in /etc/pve, with quorum only. */
  private updatecerts(n: FakeNode, c: FakeClusterState): ExecResult {
    if (!this.quorum(c, n.name).quorate) return ok('', 'got timeout when trying to ensure cluster certificates and base file hierarchy is set up - no quorum (yet) or hung pmxcfs?\n', 255);
    c.files.add(`/etc/pve/nodes/${n.name}`);
    return ok('(re)generate node files\nmerge authorized SSH keys\n');
  }

  private write(n: FakeNode, file: string, create: boolean): ExecResult {
    const c = this.clusterOf(n);
    if (!c || !this.quorum(c, n.name).quorate) return ok('', `${create ? 'touch' : 'rm'}: cannot ${create ? 'touch' : 'remove'} '${file}': Permission denied\n`, 1);
    if (create && !c.files.has(`/etc/pve/nodes/${n.name}`)) return ok('', `touch: cannot touch '${file}': No such file or directory\n`, 1);
    if (create) c.files.add(file);
    else c.files.delete(file);
    return ok();
  }

  private removeTree(n: FakeNode, dir: string): ExecResult {
    const c = this.clusterOf(n);
    if (!c || !c.files.has(dir)) return ok('', `rm: cannot remove '${dir}': No such file or directory\n`, 1);
    c.files.delete(dir);
    return ok();
  }
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
