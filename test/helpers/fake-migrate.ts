/**
 * A strict, stateful stand-in for a quorate 3-node cluster behind the Transport interface, for
 * `pvx migrate` tests: it answers /cluster/resources, the target's cluster status, CPU vendors and
 * guest configs, and moves guests on `qm|pct migrate` with the reference's task-log lines (§4.3).
 * `ha-manager migrate` only queues a request; a test decides when (or whether) the CRM acts.
 * Faults per guest make a migration abort, hit a lock time-out, or lie about success. Any other
 * command throws, so a test sees every command pvx runs.
 */
import { verifyStrict, type Expectation } from './strict-check.js';
import { UnreachableError } from '../../src/errors.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/types.js';
import { corosyncConf, quorumtool } from '../unit/checks/scenario.js';
import { isNodeRead, NODE_READ_COMMANDS, playNodeRead } from './node-read.js';
import { FakeLocks, isLockCommand } from './fake-lock.js';

/** One pretend guest. */
export interface FakeGuest {
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  name?: string;
  running: boolean;
  memMiB: number;
  /** storage of its one disk (default the shared `nfs1`) */
  storage?: string;
  lock?: string;
  hastate?: string;
  /** extra config lines */
  extra?: string[];
}

/** How a guest's next migration misbehaves. */
export type MigrateFault =
  /** `can't lock file … got timeout` for this many attempts, then it works */
  | { kind: 'lock'; times: number }
  /** phase 1 fails: `migration aborted` */
  | { kind: 'abort'; reason: string }
  /** prints the success line but the guest stays where it was */
  | { kind: 'stays' };

/** One command the fake saw. */
export interface FakeCall {
  node: string;
  argv: readonly string[];
  opts: ExecOptions;
  at: number;
}

const NODES = ['pve1', 'pve2', 'pve3'] as const;
/** The cluster's corosync.conf (config version 3, as its pvecm status header says). */
const LAB_CONF = corosyncConf('lab', NODES.map((name, i) => ({ name, nodeid: i + 1, address: `10.99.0.${i + 1}` }))).replace(/config_version: \d+/, 'config_version: 3');
const GiB = 1024 ** 3;

const ok = (stdout = '', stderr = '', exitCode = 0): ExecResult => ({ exitCode, stdout, stderr, durationMs: 1 });

/** The fake cluster. */
export class FakeMigrateCluster implements Transport {
  readonly calls: FakeCall[] = [];
  readonly guests = new Map<number, FakeGuest>();
  readonly faults = new Map<number, MigrateFault>();
  readonly vendors = new Map<string, string>(NODES.map((n) => [n, 'GenuineIntel']));
  readonly unreachable = new Set<string>();
  readonly offline = new Set<string>();
  /** nodes whose view is not quorate */
  readonly inquorate = new Set<string>();
  /** free memory per node, bytes */
  readonly freeMem = new Map<string, number>(NODES.map((n) => [n, 48 * GiB]));
  /** storages: id -> shared, on every node */
  readonly storages = new Map<string, boolean>([
    ['local', false],
    ['local-lvm', false],
    ['nfs1', true],
  ]);
  /** `node/storage` pairs missing on that node (the storage is not defined or not enabled there) */
  readonly noStorage = new Set<string>();
  /** nodes the HA stack has in maintenance mode (ha-manager crm-command node-maintenance) */
  readonly maintenance = new Set<string>();
  /** where the CRM moves the HA guests of a node entering maintenance */
  maintenanceTarget = 'pve2';
  /** maintenance requests the CRM carries out at the next HA status read: node -> enable|disable */
  private readonly maintenanceQueue = new Map<string, 'enable' | 'disable'>();
  /** vmid -> the node an HA guest left for maintenance (pve-ha-manager's maintenance_node, running guests only) */
  private readonly maintenanceHome = new Map<number, string>();
  /** the HA status lists one lrm entry per node */
  haLrms = false;
  /** every node's pve-manager version, as pveversion and the package database give it */
  managerVersion = '9.1.7';
  /** HA resources the CRM has not seen yet: in the HA status as `queued`, no hastate in the resources */
  readonly haQueued = new Set<number>();
  /** the HA status read fails with this message */
  haStatusError: string | undefined;
  /** HA requests queued by ha-manager migrate: sid -> target */
  readonly haRequests = new Map<string, string>();
  /** when set, the CRM carries out a queued request once this many resource reads have passed */
  crmAfterReads: number | undefined;
  /** how long a migration takes, ms (per guest, or the default) */
  migrateMs = 0;
  readonly migrateMsOf = new Map<number, number>();
  private vmReads = 0;
  private inFlight = 0;
  /** the most migrations that ran at the same time */
  maxInFlight = 0;
  /** the nodes' cluster lock folders; their commands are kept apart from `calls` (pvx's bookkeeping, not cluster changes) */
  readonly locks = new FakeLocks();
  /** commands refused as unexpected (kept even when the product catches the error) */
  readonly unexpected: string[] = [];
  private readonly expectations: Expectation[] = [];

  /** Declare a command the test expects to be run at least once (`argv` matches the space-joined argv). */
  expectUsed(node: string, argv: RegExp): this {
    this.expectations.push({ node, argv });
    return this;
  }

  /** Throws when a command was refused as unexpected, or an expected command was never run. */
  verify(): void {
    verifyStrict(this.unexpected, this.expectations, this.calls);
  }

  private reject(line: string): Error {
    this.unexpected.push(line);
    return new Error(line);
  }

  /** `qm|pct migrate <vmid> <another node> [flags]` with the flags of reference §4.1/§4.2, each with its value, in pvx's order. */
  private isMigrate(node: string, argv: readonly string[]): boolean {
    const [tool, verb, vmid, target, ...flags] = argv;
    if ((tool !== 'qm' && tool !== 'pct') || verb !== 'migrate' || !/^\d+$/.test(vmid ?? '') || !NODES.includes(target as (typeof NODES)[number]) || target === node) return false;
    const order = tool === 'qm' ? ['--online', '--with-local-disks', '--targetstorage', '--bwlimit'] : ['--restart', '--target-storage', '--bwlimit'];
    let last = -1;
    for (let i = 0; i < flags.length; i += 2) {
      const f = flags[i] ?? '';
      const v = flags[i + 1] ?? '';
      const at = order.indexOf(f);
      if (at <= last) return false;
      last = at;
      const good = f.includes('storage') ? this.storages.has(v) : f === '--bwlimit' ? /^[1-9]\d*$/.test(v) : v === '1';
      if (!good) return false;
    }
    return true;
  }


  constructor(guests: FakeGuest[]) {
    for (const g of guests) this.guests.set(g.vmid, { ...g });
  }

  /** Commands that change something, as `node: argv` lines. */
  mutations(): string[] {
    return this.calls.filter((c) => c.opts.mutates).map((c) => `${c.node}: ${c.argv.join(' ')}`);
  }

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (isLockCommand(argv)) {
      if (opts.mutates !== true) throw new Error(`lock command on ${node} not flagged as a change`);
      if (this.unreachable.has(node) || this.offline.has(node)) throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection timed out`, { hint: 'check the node', beforeCommand: true });
      try {
        return this.locks.answer(node, argv);
      } catch (e) {
        throw this.reject(`${node}: ${(e as Error).message}`);
      }
    }
    this.calls.push({ node, argv, opts, at: Date.now() });
    if (this.unreachable.has(node) || this.offline.has(node)) {
      throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection timed out`, { hint: 'check the node', beforeCommand: true });
    }
    const a = argv.join(' ');
    if (a === 'pvesh get /cluster/resources --output-format json') return ok(JSON.stringify(this.resources(true)) + '\n');
    if (a === 'pvesh get /cluster/resources --type vm --output-format json') {
      this.vmReads++;
      this.crm();
      return ok(JSON.stringify(this.resources(false)) + '\n');
    }
    if (a === 'pvesh get /cluster/ha/status/current --output-format json') return this.haStatus(node);
    if (isNodeRead(argv)) return playNodeRead((x) => this.exec(node, x));
    if (a === 'pvecm status') return this.pvecmStatus(node);
    if (a === NODE_READ_COMMANDS.conf.join(' ')) return ok(LAB_CONF);
    if (a === NODE_READ_COMMANDS.quorum.join(' ')) return this.quorumtool(node);
    if (a === NODE_READ_COMMANDS.members.join(' ')) return ok(this.members(node));
    if (a === NODE_READ_COMMANDS.version.join(' ')) return ok(`installed ${this.managerVersion}\n`);
    if (a === 'pvesh get /cluster/status --output-format json') return ok(this.clusterStatus(node));
    if (a === 'pveversion') return ok(`pve-manager/${this.managerVersion}/16b139a017452f16 (running kernel: 6.14.11-4-pve)\n`);
    if (a === 'grep -m 1 ^vendor_id /proc/cpuinfo') return ok(`vendor_id\t: ${this.vendors.get(node)}\n`);
    if (argv.length === 3 && (argv[0] === 'qm' || argv[0] === 'pct') && argv[1] === 'config' && /^\d+$/.test(argv[2] ?? '')) return this.config(node, argv[0], Number(argv[2]));
    if (this.isMigrate(node, argv)) return this.migrate(node, argv);
    if (argv.length === 5 && a.startsWith('ha-manager crm-command node-maintenance ') && (argv[3] === 'enable' || argv[3] === 'disable') && NODES.includes(argv[4] as (typeof NODES)[number])) {
      this.maintenanceQueue.set(argv[4] ?? '', argv[3]);
      return ok();
    }
    if (argv.length === 4 && argv[0] === 'ha-manager' && argv[1] === 'migrate' && /^(vm|ct):\d+$/.test(argv[2] ?? '') && NODES.includes(argv[3] as (typeof NODES)[number])) return this.haMigrate(argv[2] ?? '', argv[3] ?? '');
    throw this.reject(`unexpected command on ${node}: ${JSON.stringify(argv)}`);
  }

  private resources(full: boolean): unknown[] {
    const rows: unknown[] = [];
    for (const g of [...this.guests.values()].sort((x, y) => x.vmid - y.vmid)) {
      const maxmem = g.memMiB * 1024 * 1024;
      const row: Record<string, unknown> = {
        id: `${g.type}/${g.vmid}`,
        vmid: g.vmid,
        type: g.type,
        node: g.node,
        name: g.name ?? `${g.type === 'qemu' ? 'vm' : 'ct'}${g.vmid}`,
        status: this.offline.has(g.node) ? 'unknown' : g.running ? 'running' : 'stopped',
        template: 0,
        maxmem,
        mem: g.running ? Math.floor(maxmem * 0.4) : 0,
        maxdisk: 8 * GiB,
      };
      if (g.lock) row['lock'] = g.lock;
      if (g.hastate) row['hastate'] = g.hastate;
      rows.push(row);
    }
    if (!full) return rows;
    for (const n of NODES) {
      const online = !this.offline.has(n);
      rows.push({ id: `node/${n}`, node: n, type: 'node', status: online ? 'online' : 'offline', ...(online ? { maxmem: 64 * GiB, mem: 64 * GiB - (this.freeMem.get(n) ?? 0), maxcpu: 8 } : {}) });
      for (const [s, shared] of this.storages) {
        if (this.noStorage.has(`${n}/${s}`)) continue;
        rows.push({ id: `storage/${n}/${s}`, storage: s, node: n, type: 'storage', plugintype: shared ? 'nfs' : 'lvmthin', shared: shared ? 1 : 0, status: online ? 'available' : 'unknown', content: 'images,rootdir' });
      }
    }
    return rows;
  }

  private haStatus(node: string): ExecResult {
    if (this.haStatusError) return ok('', `${this.haStatusError}\n`, 255);
    this.crmMaintenance();
    const rows: unknown[] = [{ id: 'quorum', node, quorate: 1, status: 'OK', type: 'quorum' }];
    if (this.haLrms) {
      for (const n of NODES) {
        const state = this.maintenance.has(n) ? 'maintenance mode' : 'active';
        rows.push({ id: `lrm:${n}`, node: n, status: `${n} (${state}, Sat Dec  5 23:00:00 2026)`, timestamp: 1796511600, type: 'lrm' });
      }
    }
    for (const g of [...this.guests.values()].sort((x, y) => x.vmid - y.vmid)) {
      const queued = this.haQueued.has(g.vmid);
      if (!g.hastate && !queued) continue;
      const sid = `${g.type === 'qemu' ? 'vm' : 'ct'}:${g.vmid}`;
      const state = queued ? 'queued' : (g.hastate ?? '');
      rows.push({ id: `service:${sid}`, node: g.node, sid, state, ...(queued ? {} : { crm_state: state }), request_state: 'started', status: `${sid} (${g.node}, ${state})`, type: 'service' });
    }
    return ok(JSON.stringify(rows) + '\n');
  }

  private pvecmStatus(node: string): ExecResult {
    const header = 'Cluster information\n-------------------\nName:             lab\nConfig Version:   3\nTransport:        knet\nSecure auth:      on\n\n';
    const q = this.quorumtool(node);
    return { ...q, stdout: header + q.stdout };
  }

  /** `/etc/pve/.members` (pve-cluster status.c cfs_create_memberlist_msg). */
  private members(node: string): string {
    const rows = NODES.map((n, i) => `  "${n}": { "id": ${i + 1}, "online": ${this.offline.has(n) ? 0 : 1}, "ip": "10.99.0.${i + 1}"}`);
    return `{\n"nodename": "${node}",\n"version": 4,\n"cluster": { "name": "lab", "version": 3, "nodes": 3, "quorate": ${this.inquorate.has(node) ? 0 : 1} },\n"nodelist": {\n${rows.join(',\n')}\n  }\n}\n`;
  }

  /** `corosync-quorumtool -siH`. */
  private quorumtool(node: string): ExecResult {
    const local = NODES.indexOf(node as (typeof NODES)[number]) + 1;
    const members = this.inquorate.has(node)
      ? [{ nodeid: local, address: `10.99.0.${local}` }]
      : NODES.map((_, i) => ({ nodeid: i + 1, address: `10.99.0.${i + 1}` })).filter((m) => !this.offline.has(NODES[m.nodeid - 1] ?? ''));
    const quorate = members.length * 2 > NODES.length;
    return ok(quorumtool({ local, members, expected: NODES.length }), '', quorate ? 0 : 2);
  }

  private clusterStatus(node: string): string {
    const rows: unknown[] = [{ id: 'cluster', name: 'lab', nodes: 3, quorate: this.inquorate.has(node) ? 0 : 1, type: 'cluster', version: 3 }];
    NODES.forEach((n, i) => rows.push({ id: `node/${n}`, ip: `10.99.0.${i + 1}`, level: '', local: n === node ? 1 : 0, name: n, nodeid: i + 1, online: this.offline.has(n) ? 0 : 1, type: 'node' }));
    return JSON.stringify(rows) + '\n';
  }

  private config(node: string, tool: string, vmid: number): ExecResult {
    const g = this.guests.get(vmid);
    const dir = tool === 'qm' ? 'qemu-server' : 'lxc';
    if (!g || g.node !== node) return ok('', `Configuration file 'nodes/${node}/${dir}/${vmid}.conf' does not exist\n`, 255);
    const st = g.storage ?? 'nfs1';
    const lines =
      g.type === 'qemu'
        ? ['boot: order=scsi0', 'cores: 1', `memory: ${g.memMiB}`, `name: ${g.name ?? `vm${vmid}`}`, `scsi0: ${st}:vm-${vmid}-disk-0,size=8G`, 'scsihw: virtio-scsi-single']
        : ['arch: amd64', `hostname: ${g.name ?? `ct${vmid}`}`, `memory: ${g.memMiB}`, 'ostype: debian', `rootfs: ${st}:vm-${vmid}-disk-0,size=4G`, 'swap: 512'];
    if (g.lock) lines.push(`lock: ${g.lock}`);
    return ok([...lines, ...(g.extra ?? [])].sort().join('\n') + '\n');
  }

  private async migrate(node: string, argv: readonly string[]): Promise<ExecResult> {
    const vmid = Number(argv[2]);
    const target = argv[3] ?? '';
    const g = this.guests.get(vmid);
    const word = argv[0] === 'qm' ? 'VM' : 'CT';
    if (!g || g.node !== node) return ok('', `Configuration file 'nodes/${node}/${argv[0] === 'qm' ? 'qemu-server' : 'lxc'}/${vmid}.conf' does not exist\n`, 255);
    const fault = this.faults.get(vmid);
    if (fault?.kind === 'lock' && fault.times > 0) {
      fault.times--;
      const file = argv[0] === 'qm' ? `/var/lock/qemu-server/lock-${vmid}.conf` : `/run/lock/lxc/pve-config-${vmid}.lock`;
      return ok('', `trying to acquire lock...\ncan't lock file '${file}' - got timeout\n`, 255);
    }
    if (g.lock) return ok('', `${word} is locked (${g.lock})\n`, 255);
    if (g.running && argv[0] === 'qm' && !argv.includes('--online')) return ok('', "can't migrate running VM without --online\n", 255);
    if (g.running && argv[0] === 'pct' && !argv.includes('--restart')) return ok('', "can't migrate running container without --online or --restart\n", 255);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const ms = this.migrateMsOf.get(vmid) ?? this.migrateMs;
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      const ts = '2026-08-19 17:22:53';
      const start = `${ts} starting migration of ${word} ${vmid} to node '${target}' (10.99.0.${NODES.indexOf(target as (typeof NODES)[number]) + 1})\n`;
      if (fault?.kind === 'abort') {
        this.faults.delete(vmid);
        return ok(`${start}${ts} ERROR: ${fault.reason}\n${ts} aborting phase 1 - cleanup resources\n${ts} ERROR: migration aborted (duration 00:00:01): ${fault.reason}\n`, 'migration aborted\n', 255);
      }
      if (word === 'VM') {
        const scan = this.scanVolumes(g, argv);
        if (scan.errors.length > 0) {
          const why = "Problem found while scanning volumes - can't migrate VM - check log";
          const lines = [...scan.found, ...scan.errors].map((l) => `${ts} ${l}\n`).join('');
          return ok(`${start}${lines}${ts} ERROR: ${why}\n${ts} aborting phase 1 - cleanup resources\n${ts} ERROR: migration aborted (duration 00:00:01): ${why}\n`, 'migration aborted\n', 255);
        }
        return this.finish(g, target, fault, `${start}${scan.found.map((l) => `${ts} ${l}\n`).join('')}`, ts);
      }
      return this.finish(g, target, fault, start, ts);
    } finally {
      this.inFlight--;
    }
  }

  /**
   * qemu-server's volume scan before a VM migrates (PVE/QemuMigrate.pm scan_local_volumes): a host path
   * is "local file/device" unless marked shared=1, the host CD drive and local CD-ROM images are refused,
   * a cloud-init drive and the TPM state are "generated" volumes, and a running VM's attached local
   * disks need --with-local-disks.
   */
  private scanVolumes(g: FakeGuest, argv: readonly string[]): { found: string[]; errors: string[] } {
    const found: string[] = [];
    const errors: string[] = [];
    const drives = (g.extra ?? []).concat(`scsi0: ${g.storage ?? 'nfs1'}:vm-${g.vmid}-disk-0,size=8G`);
    for (const line of drives) {
      const m = /^((?:ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0|unused\d+): (.*)$/.exec(line);
      if (!m) continue;
      const key = m[1] ?? '';
      const opts = (m[2] ?? '').split(',');
      const volid = opts[0]?.includes('=') ? (opts.find((o) => o.startsWith('file='))?.slice(5) ?? '') : (opts[0] ?? '');
      const cdrom = opts.includes('media=cdrom');
      if (volid.startsWith('/')) {
        if (!opts.includes('shared=1')) errors.push(`can't migrate local disk '${volid}': local file/device`);
        continue;
      }
      if (cdrom && volid === 'none') continue;
      if (cdrom && volid === 'cdrom') {
        errors.push("can't migrate local cdrom drive");
        continue;
      }
      const storage = volid.slice(0, volid.indexOf(':'));
      if (this.storages.get(storage)) continue;
      if (cdrom) {
        if (/vm-\d+-cloudinit/.test(volid)) found.push(`found generated disk '${volid}' (in current VM config)`);
        else errors.push(`can't migrate local disk '${volid}': local cdrom image`);
        continue;
      }
      const ref = key.startsWith('unused') ? 'unused' : key === 'tpmstate0' ? 'generated' : 'attached';
      if (ref === 'attached' && g.running && !argv.includes('--with-local-disks')) {
        errors.push(`can't migrate local disk '${volid}': can't live migrate attached local disks without with-local-disks option`);
      }
      found.push(ref === 'generated' ? `found generated disk '${volid}' (in current VM config)` : `found local disk '${volid}' (${ref})`);
    }
    return { found: found.sort(), errors };
  }

  /** The rest of a successful task log after `head`; the guest moves unless its fault says it stays. */
  private finish(g: FakeGuest, target: string, fault: MigrateFault | undefined, head: string, ts: string): ExecResult {
    const body = g.type === 'qemu' && g.running ? `${ts} starting VM ${g.vmid} on remote node '${target}'\n${ts} migration status: completed\n` : '';
    if (fault?.kind !== 'stays') g.node = target;
    else this.faults.delete(g.vmid);
    return ok(`${head}${body}${ts} migration finished successfully (duration 00:00:01)\n`);
  }

  private haMigrate(sid: string, target: string): ExecResult {
    const vmid = Number(sid.split(':')[1]);
    const g = this.guests.get(vmid);
    if (!g || (!g.hastate && !this.haQueued.has(vmid))) return ok('', `resource '${sid}' is not HA managed\n`, 255);
    this.haRequests.set(sid, target);
    this.vmReads = 0;
    return ok();
  }

  /**
   * The CRM's maintenance handling (pve-ha-manager Manager.pm): a node entering maintenance has its
   * HA guests moved to `maintenanceTarget`, the running ones remembering their home; on disable the
   * remembered ones go back.
   */
  private crmMaintenance(): void {
    for (const [node, action] of this.maintenanceQueue) {
      if (action === 'enable') {
        this.maintenance.add(node);
        for (const g of this.guests.values()) {
          if (g.node !== node || !g.hastate) continue;
          if (g.running) this.maintenanceHome.set(g.vmid, node);
          g.node = this.maintenanceTarget;
        }
      } else {
        this.maintenance.delete(node);
        for (const [vmid, home] of this.maintenanceHome) {
          const g = this.guests.get(vmid);
          if (home === node && g) g.node = node;
          if (home === node) this.maintenanceHome.delete(vmid);
        }
      }
    }
    this.maintenanceQueue.clear();
  }

  /** The CRM: carries out queued requests after `crmAfterReads` reads of the guests. */
  private crm(): void {
    if (this.crmAfterReads === undefined || this.vmReads < this.crmAfterReads) return;
    for (const [sid, target] of this.haRequests) {
      const g = this.guests.get(Number(sid.split(':')[1]));
      if (g) g.node = target;
      this.haRequests.delete(sid);
    }
  }
}
