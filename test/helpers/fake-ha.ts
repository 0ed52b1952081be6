/**
 * A strict, stateful stand-in for a quorate cluster's HA stack behind the Transport interface, for
 * `pvx ha` tests: the preflight reads come from FakeCluster; this adds /cluster/resources, the HA
 * status (text, reference §5.3, and JSON, §5.5), groups (PVE 8) or rules (PVE 9), `pvesr list`,
 * guest configs and the ha-manager commands that change them. Its CRM settles a request at the
 * next status read, or never (`crm = 'stuck'`). Any other command throws.
 */
import type { ExecOptions, ExecResult } from '../../src/transport/types.js';
import { FakeCluster } from './fake-cluster.js';
import { sample } from '../unit/checks/scenario.js';

/** One pretend guest. */
export interface FakeHaGuest {
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  running: boolean;
  /** storage of its one disk (default the shared `labshare`) */
  storage?: string;
  /** config lines in place of the one disk (`scsi0: /dev/sdb`, a cloud-init drive, …) */
  disks?: string[];
}

/** One HA resource as resources.cfg keeps it. */
export interface FakeHaResource {
  state: string;
  group?: string;
  props: Record<string, string>;
}

const ok = (stdout = '', stderr = '', exitCode = 0): ExecResult => ({ exitCode, stdout, stderr, durationMs: 1 });
const TIME = 'Wed Aug 19 17:22:51 2026';

/** The fake. */
export class FakeHa extends FakeCluster {
  readonly guests = new Map<number, FakeHaGuest>();
  readonly resources = new Map<string, FakeHaResource>();
  readonly groups = new Map<string, { nodes: string; restricted: string }>();
  readonly rules = new Map<string, { resources: string[]; nodes: string; strict: string }>();
  /** replication jobs: vmid -> targets */
  readonly replication = new Map<number, string[]>();
  /** extra rows `pvesr list` prints after the jobs (lines pvx may not know) */
  readonly pvesrExtraRows: string[] = [];
  /** storage id -> [shared, plugin type] */
  readonly storages = new Map<string, [boolean, string]>([
    ['local', [false, 'dir']],
    ['local-lvm', [false, 'lvmthin']],
    ['labshare', [true, 'nfs']],
    ['tank', [false, 'zfspool']],
  ]);
  /** instant: the CRM carries a request out before the next status read; stuck: never */
  crm: 'instant' | 'stuck' = 'instant';
  /** SIDs the CRM has carried out the requested state of */
  private readonly settled = new Set<string>();

  constructor(
    readonly major: 8 | 9,
    names: readonly string[] = ['pve1', 'pve2', 'pve3'],
  ) {
    super(names);
    this.form('lab', names);
    if (major === 8) this.pveversionVerbose = sample('pve/pveversion/pve8.4.11-verbose.txt');
  }

  /** Add guests. */
  with(...guests: FakeHaGuest[]): this {
    for (const g of guests) this.guests.set(g.vmid, { ...g });
    return this;
  }

  /** Whether the guest runs now. */
  running(vmid: number): boolean {
    return this.guests.get(vmid)?.running ?? false;
  }

  override async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const a = argv.join(' ');
    const mine =
      a === 'pvesh get /cluster/resources --output-format json' ||
      a === 'pvesh get /cluster/ha/status/current --output-format json' ||
      a === 'pvesh get /cluster/ha/rules --output-format json' ||
      a === 'pvesr list' ||
      (argv[0] === 'ha-manager' && this.isHaCommand(argv.slice(1))) ||
      (argv.length === 3 && (argv[0] === 'qm' || argv[0] === 'pct') && argv[1] === 'config' && /^\d+$/.test(argv[2] ?? ''));
    if (!mine) return super.exec(node, argv, opts);
    this.calls.push({ node, argv, opts });
    if (a === 'pvesh get /cluster/resources --output-format json') return ok(JSON.stringify(this.clusterResources()) + '\n');
    if (a === 'pvesh get /cluster/ha/status/current --output-format json') return ok(JSON.stringify(this.statusJson(node)) + '\n');
    if (a === 'pvesh get /cluster/ha/rules --output-format json') return this.rulesJson();
    if (a === 'pvesr list') return ok(this.pvesrList());
    if (argv[1] === 'config') return this.config(node, Number(argv[2]));
    return this.haManager(node, argv.slice(1));
  }

  /** `vm:<id>` or `ct:<id>` of a guest this fake has. */
  private isSid(sid: string | undefined): boolean {
    const m = /^(vm|ct):(\d+)$/.exec(sid ?? '');
    const g = m ? this.guests.get(Number(m[2])) : undefined;
    return g !== undefined && (g.type === 'qemu') === (m?.[1] === 'vm');
  }

  /** `<node>[:<priority>],…` of nodes this fake has. */
  private isNodeList(list: string | undefined): boolean {
    const items = (list ?? '').split(',');
    return items.length > 0 && items.every((i) => /^[^:]+(:\d+)?$/.test(i) && this.knownNode(i.split(':')[0]));
  }

  /** The flags `ha-manager add|set` take (reference §5.2), each with its value, in the order pvx sends them. */
  private isResourceFlags(args: readonly string[], allowDelete: boolean): boolean {
    const order = ['--state', '--group', '--max_restart', '--max_relocate', '--comment', ...(allowDelete ? ['--delete'] : [])];
    let last = -1;
    for (let i = 0; i < args.length; i += 2) {
      const at = order.indexOf(args[i] ?? '');
      const v = args[i + 1];
      if (at <= last || v === undefined) return false;
      last = at;
      const good: Record<string, boolean> = {
        '--state': ['started', 'stopped', 'disabled', 'ignored'].includes(v),
        '--group': /^[A-Za-z][A-Za-z0-9_-]*$/.test(v),
        '--max_restart': /^\d+$/.test(v),
        '--max_relocate': /^\d+$/.test(v),
        '--comment': true,
        '--delete': v.split(',').every((k) => ['group', 'comment', 'max_restart', 'max_relocate'].includes(k)),
      };
      if (!good[args[i] ?? '']) return false;
    }
    return true;
  }

  /** True when `ha-manager <args>` is one of the shapes of reference §5.2 with values this fake knows. */
  private isHaCommand(args: readonly string[]): boolean {
    const [cmd, a1, a2, a3, ...more] = args;
    const name = (s: string | undefined) => /^[A-Za-z][A-Za-z0-9_-]*$/.test(s ?? '');
    switch (cmd) {
      case 'status':
      case 'groupconfig':
        return args.length === 1;
      case 'groupadd':
        return args.length === 6 && name(a1) && a2 === '--nodes' && this.isNodeList(a3) && more[0] === '--restricted' && (more[1] === '0' || more[1] === '1');
      case 'groupremove':
        return args.length === 2 && name(a1);
      case 'remove':
        return args.length === 2 && this.isSid(a1);
      case 'add':
        return this.isSid(a1) && this.isResourceFlags(args.slice(2), false);
      case 'set':
        return this.isSid(a1) && this.isResourceFlags(args.slice(2), true);
      case 'rules': {
        if (a1 === 'remove') return args.length === 3 && name(a2);
        if (a2 !== 'node-affinity' || !name(a3)) return false;
        const sids = (v: string | undefined) => (v ?? '').split(',').every((s) => this.isSid(s));
        if (a1 === 'add') return more.length === 6 && more[0] === '--resources' && sids(more[1]) && more[2] === '--nodes' && this.isNodeList(more[3]) && more[4] === '--strict' && (more[5] === '0' || more[5] === '1');
        if (a1 === 'set') return more.length === 2 && more[0] === '--resources' && sids(more[1]);
        return false;
      }
      default:
        return false;
    }
  }

  private flag(args: readonly string[], name: string): string | undefined {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? undefined : args[i + 1];
  }

  private haManager(node: string, args: readonly string[]): ExecResult {
    const [cmd, ...rest] = args;
    switch (cmd) {
      case 'status':
        this.crmRound();
        return ok(this.statusText(node));
      case 'groupconfig':
        if (this.major >= 9) return ok('', 'cannot index groups: ha groups have been migrated to rules\n', 255);
        return ok([...this.groups].map(([g, p]) => `group: ${g}\n\tnodes ${p.nodes}\n\trestricted ${p.restricted}\n\n`).join(''));
      case 'groupadd': {
        if (this.major >= 9) return ok('', 'cannot create group: ha groups have been migrated to rules\n', 255);
        const name = rest[0] ?? '';
        if (this.groups.has(name)) return ok('', `create ha group failed: ha group ID '${name}' already defined\n`, 255);
        this.groups.set(name, { nodes: this.flag(rest, 'nodes') ?? '', restricted: this.flag(rest, 'restricted') ?? '0' });
        return ok();
      }
      case 'groupremove': {
        const name = rest[0] ?? '';
        const user = [...this.resources].find(([, r]) => r.group === name);
        if (user) return ok('', `ha group is used by service '${user[0]}'\n`, 255);
        this.groups.delete(name);
        return ok();
      }
      case 'add': {
        const sid = rest[0] ?? '';
        if (this.resources.has(sid)) return ok('', `create resource failed: resource ID '${sid}' already defined\n`, 255);
        const group = this.flag(rest, 'group');
        if (group !== undefined && this.major >= 9) return ok('', "invalid parameter 'group': ha groups have been migrated to rules\n", 255);
        this.resources.set(sid, { state: this.flag(rest, 'state') ?? 'started', ...(group !== undefined ? { group } : {}), props: {} });
        this.settled.delete(sid);
        return ok();
      }
      case 'set': {
        const sid = rest[0] ?? '';
        const r = this.resources.get(sid);
        if (!r) return ok('', `no such resource '${sid}'\n`, 255);
        const state = this.flag(rest, 'state');
        if (state !== undefined) {
          r.state = state;
          this.settled.delete(sid);
        }
        const group = this.flag(rest, 'group');
        if (group !== undefined) r.group = group;
        return ok();
      }
      case 'remove': {
        const sid = rest[0] ?? '';
        if (!this.resources.delete(sid)) return ok('', `cannot delete service '${sid}', not HA managed!\n`, 255);
        for (const [id, rule] of this.rules) {
          rule.resources = rule.resources.filter((s) => s !== sid);
          if (rule.resources.length === 0) this.rules.delete(id);
        }
        return ok();
      }
      case 'rules': {
        if (this.major < 9) return ok('', "ERROR: unknown command 'ha-manager rules'\n", 255);
        const [verb, type, id] = rest;
        if (verb === 'remove') {
          if (!this.rules.delete(type ?? '')) return ok('', `HA rule '${type}' does not exist\n`, 255);
          return ok();
        }
        if (type !== 'node-affinity') throw new Error(`unexpected rule type ${type}`);
        const resources = (this.flag(rest, 'resources') ?? '').split(',').filter(Boolean);
        const unmanaged = resources.filter((s) => !this.resources.has(s));
        if (unmanaged.length) return ok('', `cannot use unmanaged resource(s) ${unmanaged.join(', ')}.\n`, 255);
        if (verb === 'add') {
          if (this.rules.has(id ?? '')) return ok('', `create ha rule failed: HA rule '${id}' already defined\n`, 255);
          this.rules.set(id ?? '', { resources, nodes: this.flag(rest, 'nodes') ?? '', strict: this.flag(rest, 'strict') ?? '0' });
          return ok();
        }
        if (verb === 'set') {
          const rule = this.rules.get(id ?? '');
          if (!rule) return ok('', `HA rule '${id}' does not exist\n`, 255);
          rule.resources = resources;
          return ok();
        }
        throw new Error(`unexpected rules verb ${verb}`);
      }
      default:
        throw new Error(`unexpected ha-manager command ${JSON.stringify(args)}`);
    }
  }

  /** The CRM: requested states become real (a started guest runs, a stopped one stops). */
  private crmRound(): void {
    if (this.crm === 'stuck') return;
    for (const [sid, r] of this.resources) {
      const g = this.guests.get(Number(sid.split(':')[1]));
      if (g && (r.state === 'started' || r.state === 'stopped' || r.state === 'disabled')) g.running = r.state === 'started';
      this.settled.add(sid);
    }
  }

  private verbose(sid: string, r: FakeHaResource): string {
    if (!this.settled.has(sid)) return 'queued';
    return r.state === 'disabled' ? 'disabled' : r.state;
  }

  private statusText(node: string): string {
    const lines = ['quorum OK'];
    if (this.resources.size > 0 || this.settled.size > 0) {
      lines.push(`master ${node} (active, ${TIME})`);
      for (const n of this.nodes.keys()) lines.push(this.major >= 9 ? `lrm ${n} (idle, watchdog standby, ${TIME})` : `lrm ${n} (idle, ${TIME})`);
    }
    for (const [sid, r] of [...this.resources].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const g = this.guests.get(Number(sid.split(':')[1]));
      lines.push(`service ${sid} (${g?.node ?? '---'}, ${this.verbose(sid, r)})`);
    }
    return lines.join('\n') + '\n';
  }

  private statusJson(node: string): unknown[] {
    const rows: unknown[] = [{ id: 'quorum', node, quorate: 1, status: 'OK', type: 'quorum' }];
    for (const [sid, r] of this.resources) {
      const g = this.guests.get(Number(sid.split(':')[1]));
      const state = this.verbose(sid, r);
      rows.push({
        id: `service:${sid}`,
        node: g?.node ?? '',
        sid,
        state,
        ...(state === 'queued' ? {} : { crm_state: state }),
        request_state: r.state,
        max_restart: 1,
        max_relocate: 1,
        ...(r.group ? { group: r.group } : {}),
        status: `${sid} (${g?.node ?? '---'}, ${state})`,
        type: 'service',
      });
    }
    return rows;
  }

  private rulesJson(): ExecResult {
    return ok(JSON.stringify([...this.rules].map(([rule, r]) => ({ rule, type: 'node-affinity', resources: r.resources.join(','), nodes: r.nodes, strict: Number(r.strict), digest: 'x', order: 1 }))) + '\n');
  }

  private pvesrList(): string {
    const head = `${'JobID'.padEnd(20)} ${'Target'.padEnd(20)} ${'Schedule'.padStart(10)} ${'Rate'.padStart(5)} ${'Enabled'.padStart(8)}\n`;
    const rows = [...this.replication].flatMap(([vmid, targets]) => targets.map((t, i) => `${`${vmid}-${i}`.padEnd(20)} ${`local/${t}`.padEnd(20)} ${'*/15'.padStart(10)} ${'-'.padStart(5)} ${'yes'.padStart(8)}\n`));
    return head + rows.join('') + this.pvesrExtraRows.map((r) => `${r}\n`).join('');
  }

  private clusterResources(): unknown[] {
    const rows: unknown[] = [];
    for (const g of this.guests.values()) {
      const sid = `${g.type === 'qemu' ? 'vm' : 'ct'}:${g.vmid}`;
      const r = this.resources.get(sid);
      rows.push({ id: `${g.type}/${g.vmid}`, vmid: g.vmid, type: g.type, node: g.node, name: `g${g.vmid}`, status: g.running ? 'running' : 'stopped', template: 0, ...(r ? { hastate: this.verbose(sid, r) } : {}) });
    }
    for (const n of this.nodes.keys()) {
      rows.push({ id: `node/${n}`, node: n, type: 'node', status: 'online' });
      for (const [s, [shared, type]] of this.storages) rows.push({ id: `storage/${n}/${s}`, storage: s, node: n, type: 'storage', plugintype: type, shared: shared ? 1 : 0, status: 'available', content: 'images,rootdir' });
    }
    return rows;
  }

  private config(node: string, vmid: number): ExecResult {
    const g = this.guests.get(vmid);
    if (!g || g.node !== node) return ok('', `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist\n`, 255);
    const st = g.storage ?? 'labshare';
    const lines = g.type === 'qemu' ? ['cores: 1', 'memory: 512', `name: g${vmid}`, ...(g.disks ?? [`scsi0: ${st}:vm-${vmid}-disk-0,size=8G`])] : ['arch: amd64', `hostname: g${vmid}`, `rootfs: ${st}:vm-${vmid}-disk-0,size=4G`];
    return ok(lines.sort().join('\n') + '\n');
  }
}
