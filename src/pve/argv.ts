/** Argv builders of the native tools: the exact commands pvx runs (and dry-run prints). */

/** Corosync link addresses by link number (0..7), as `pvecm create/add --linkN` take them. */
export type LinkAddresses = Readonly<Partial<Record<number, string>>>;

function linkFlags(links: LinkAddresses): string[] {
  return Object.entries(links)
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .flatMap(([n, addr]) => [`--link${n}`, addr]);
}

/** `pvecm` commands. */
export const pvecm = {
  status: (): string[] => ['pvecm', 'status'],
  nodes: (): string[] => ['pvecm', 'nodes'],
  /** `pvecm create <name> --linkN <addr>…` on the first node */
  create: (cluster: string, links: LinkAddresses): string[] => ['pvecm', 'create', cluster, ...linkFlags(links)],
  /**
   * `pvecm add <member> [--fingerprint <fp>] --linkN <addr>… [--use_ssh 1]` on the joining node.
   * Booleans are given a value: a bare `--use_ssh` would swallow a following argument (reference §0.1).
   */
  add: (member: string, opts: { fingerprint?: string; links: LinkAddresses; useSsh?: boolean }): string[] => [
    'pvecm',
    'add',
    member,
    ...(opts.fingerprint !== undefined ? ['--fingerprint', opts.fingerprint] : []),
    ...linkFlags(opts.links),
    ...(opts.useSsh ? ['--use_ssh', '1'] : []),
  ],
  /** `pvecm delnode <name>` on a remaining quorate member */
  delnode: (node: string): string[] => ['pvecm', 'delnode', node],
  /**
   * `pvecm updatecerts`: makes this node's missing files in /etc/pve (its certificate among them) and
   * merges the SSH keys; it changes nothing that exists without `--force`. It waits for quorum.
   */
  updatecerts: (): string[] => ['pvecm', 'updatecerts'],
  /** `pvecm expected <votes>` (corosync-quorumtool -e) */
  expected: (votes: number): string[] => ['pvecm', 'expected', String(votes)],
  /**
   * `pvecm qdevice setup <address> [--force 1]`: root ssh from this node to the QNetd host, the
   * certificate exchange, the device in corosync.conf, corosync-qdevice started on every member
   */
  qdeviceSetup: (address: string, force: boolean): string[] => ['pvecm', 'qdevice', 'setup', address, ...(force ? ['--force', '1'] : [])],
  /** `pvecm qdevice remove`: drops the QDevice from corosync.conf and stops its daemon on every member (all must be online) */
  qdeviceRemove: (): string[] => ['pvecm', 'qdevice', 'remove'],
};

/** `corosync-quorumtool -s`: the votequorum view of this node (exits 2 while it is not quorate, still printing it). */
export function quorumtoolStatus(): string[] {
  return ['corosync-quorumtool', '-s'];
}

/** The TCP port corosync-qnetd listens on (its default, which pvecm qdevice setup uses). */
export const QNETD_PORT = 5403;

/** The probes a QDevice needs before `pvecm qdevice setup`; each answers by its exit code. */
export const qdeviceProbe = {
  /** a TCP connection from this node to the QNetd port, with bash's /dev/tcp (no netcat on a stock PVE node); 124 = timed out */
  tcp: (host: string, port: number = QNETD_PORT): string[] => ['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', 'pvx-tcp-probe', host, String(port)],
  /** `Status` of a Debian package: `install ok installed` when it is */
  packageStatus: (pkg: string): string[] => ['dpkg-query', '-W', '-f=${Status}', pkg],
  /**
   * root ssh from this node to the QNetd host as pvecm does it (BatchMode: no prompt, the host key
   * must be known), asking corosync-qnetd-tool for the daemon's status: 255 ssh failed, 127 not installed
   */
  qnetdOverSsh: (host: string): string[] => ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'root', host, 'corosync-qnetd-tool', '-s'],
  /** the node's QDevice certificate store, which pvecm qdevice setup refuses to replace without --force */
  certStore: (): string[] => ['test', '-e', '/etc/corosync/qdevice/net/nssdb'],
};

/** `pvesh get <path> --output-format json` (one line, sorted keys, 0/1 booleans). */
export function pveshGet(apiPath: string, extra: readonly string[] = []): string[] {
  return ['pvesh', 'get', apiPath, ...extra, '--output-format', 'json'];
}

/** `pveversion` and `pveversion -v`. */
export const pveversion = {
  short: (): string[] => ['pveversion'],
  verbose: (): string[] => ['pveversion', '-v'],
};

/** Directory of a node's files in the cluster filesystem. */
export function pveNodeDir(node: string): string {
  return `/etc/pve/nodes/${node}`;
}

/** Plain file commands pvx runs inside /etc/pve. */
export const files = {
  touch: (file: string): string[] => ['touch', file],
  remove: (file: string): string[] => ['rm', '-f', file],
  removeTree: (dir: string): string[] => ['rm', '-r', dir],
  isDir: (dir: string): string[] => ['test', '-d', dir],
};

/** What a guest migration asks of the native tool (bandwidth already in KiB/s). */
export interface GuestMigrateOptions {
  /** qm: live migration of a running VM */
  online?: boolean;
  /** pct: shut the running CT down, move it, start it on the target */
  restart?: boolean;
  /** qm only: move disks on local storage (pct copies local volumes on its own) */
  withLocalDisks?: boolean;
  /** storage on the target for the local disks */
  targetStorage?: string;
  bwlimitKiB?: number;
}

/**
 * `qm migrate` / `pct migrate` (reference §4.1, §4.2). The spellings differ (`--targetstorage` vs
 * `--target-storage`); booleans carry a value so none can swallow a positional (§0.1).
 */
export const guestMigrate = {
  qm: (vmid: number, target: string, o: GuestMigrateOptions = {}): string[] => [
    'qm',
    'migrate',
    String(vmid),
    target,
    ...(o.online ? ['--online', '1'] : []),
    ...(o.withLocalDisks ? ['--with-local-disks', '1'] : []),
    ...(o.targetStorage !== undefined ? ['--targetstorage', o.targetStorage] : []),
    ...(o.bwlimitKiB !== undefined ? ['--bwlimit', String(o.bwlimitKiB)] : []),
  ],
  pct: (vmid: number, target: string, o: GuestMigrateOptions = {}): string[] => [
    'pct',
    'migrate',
    String(vmid),
    target,
    ...(o.restart ? ['--restart', '1'] : []),
    ...(o.targetStorage !== undefined ? ['--target-storage', o.targetStorage] : []),
    ...(o.bwlimitKiB !== undefined ? ['--bwlimit', String(o.bwlimitKiB)] : []),
  ],
};

/** `qm config <vmid>` / `pct config <vmid>`: the current configuration, on the guest's node. */
export function guestConfig(type: 'qemu' | 'lxc', vmid: number): string[] {
  return [type === 'qemu' ? 'qm' : 'pct', 'config', String(vmid)];
}

/** The HA resource id of a guest: `vm:<id>` or `ct:<id>`. */
export function haSid(type: 'qemu' | 'lxc', vmid: number): string {
  return `${type === 'qemu' ? 'vm' : 'ct'}:${vmid}`;
}

/** Resource properties `ha-manager add|set` take (reference §5.2); undefined ones are left out. */
export interface HaResourceOptions {
  state?: string;
  group?: string;
  maxRestart?: number;
  maxRelocate?: number;
  comment?: string;
}

function haResourceFlags(o: HaResourceOptions): string[] {
  return [
    ...(o.state !== undefined ? ['--state', o.state] : []),
    ...(o.group !== undefined ? ['--group', o.group] : []),
    ...(o.maxRestart !== undefined ? ['--max_restart', String(o.maxRestart)] : []),
    ...(o.maxRelocate !== undefined ? ['--max_relocate', String(o.maxRelocate)] : []),
    ...(o.comment !== undefined ? ['--comment', o.comment] : []),
  ];
}

/** `ha-manager` commands (reference §5.2); booleans carry a value so none can swallow a positional. */
export const haManager = {
  /** queues a CRM request and returns at once; the move happens later (or never) */
  migrate: (sid: string, node: string): string[] => ['ha-manager', 'migrate', sid, node],
  status: (): string[] => ['ha-manager', 'status'],
  /** queues a node-maintenance request for the CRM and returns at once (reference §5.2) */
  nodeMaintenance: (action: 'enable' | 'disable', node: string): string[] => ['ha-manager', 'crm-command', 'node-maintenance', action, node],
  /** adds a resource; without --state the CRM starts it (`started` is the default) */
  add: (sid: string, o: HaResourceOptions): string[] => ['ha-manager', 'add', sid, ...haResourceFlags(o)],
  set: (sid: string, o: HaResourceOptions & { delete?: readonly string[] }): string[] => [
    'ha-manager',
    'set',
    sid,
    ...haResourceFlags(o),
    ...(o.delete && o.delete.length > 0 ? ['--delete', o.delete.join(',')] : []),
  ],
  /** stops HA managing the guest; the guest itself keeps running or stays stopped */
  remove: (sid: string): string[] => ['ha-manager', 'remove', sid],
  /** PVE 8 groups (refused on PVE 9 once groups became rules) */
  groupconfig: (): string[] => ['ha-manager', 'groupconfig'],
  groupadd: (group: string, nodes: string, restricted: boolean): string[] => ['ha-manager', 'groupadd', group, '--nodes', nodes, '--restricted', restricted ? '1' : '0'],
  groupremove: (group: string): string[] => ['ha-manager', 'groupremove', group],
  /** PVE 9 node-affinity rules */
  ruleAdd: (rule: string, resources: readonly string[], nodes: string, strict: boolean): string[] => [
    'ha-manager',
    'rules',
    'add',
    'node-affinity',
    rule,
    '--resources',
    resources.join(','),
    '--nodes',
    nodes,
    '--strict',
    strict ? '1' : '0',
  ],
  ruleSetResources: (rule: string, resources: readonly string[]): string[] => ['ha-manager', 'rules', 'set', 'node-affinity', rule, '--resources', resources.join(',')],
  ruleRemove: (rule: string): string[] => ['ha-manager', 'rules', 'remove', rule],
};

/** `pvesr list`: every replication job of the cluster. */
export function pvesrList(): string[] {
  return ['pvesr', 'list'];
}

/** The options of a new replication job (pvesr create-local-job, reference §8.3). */
export interface ReplicationJobOptions {
  schedule?: string;
  /** MB/s */
  rate?: number;
  comment?: string;
}

/** `pvesr` commands other than list (reference §8.3). */
export const pvesr = {
  /** `pvesr status [--guest <vmid>]`: the jobs whose guest lives on the node it runs on */
  status: (vmid?: number): string[] => ['pvesr', 'status', ...(vmid !== undefined ? ['--guest', String(vmid)] : [])],
  createLocalJob: (id: string, target: string, o: ReplicationJobOptions): string[] => [
    'pvesr',
    'create-local-job',
    id,
    target,
    ...(o.schedule !== undefined ? ['--schedule', o.schedule] : []),
    ...(o.rate !== undefined ? ['--rate', String(o.rate)] : []),
    ...(o.comment !== undefined ? ['--comment', o.comment] : []),
  ],
  /** `pvesr delete <id> [--keep 1]`: marks the job for removal; the scheduler then removes it (and, without keep, the replicated volumes on the target) */
  delete: (id: string, keep: boolean): string[] => ['pvesr', 'delete', id, ...(keep ? ['--keep', '1'] : [])],
  /** `pvesr schedule-now <id>`: due at once; pvescheduler runs it within its next minute */
  scheduleNow: (id: string): string[] => ['pvesr', 'schedule-now', id],
};

/** `systemctl` verbs on one unit (pve-cluster is pmxcfs; corosync is the membership daemon). */
export const systemctl = {
  stop: (unit: string): string[] => ['systemctl', 'stop', unit],
  start: (unit: string): string[] => ['systemctl', 'start', unit],
  enable: (unit: string): string[] => ['systemctl', 'enable', unit],
};

/** Where a node keeps its cluster configuration (reference §2.2, §2.3). */
export const CLUSTER_PATHS = {
  /** the cluster-wide corosync.conf inside pmxcfs */
  pveCorosyncConf: '/etc/pve/corosync.conf',
  corosyncDir: '/etc/corosync',
  corosyncConf: '/etc/corosync/corosync.conf',
  authkey: '/etc/corosync/authkey',
  /** corosync's runtime state */
  corosyncState: '/var/lib/corosync',
  /** the pmxcfs database (sqlite) */
  configDb: '/var/lib/pve-cluster/config.db',
  /** every node's folder in pmxcfs: guest configs, certificates, status */
  pveNodes: '/etc/pve/nodes',
  /** written by pmxcfs, also when started by hand with -l */
  pmxcfsPidFile: '/var/run/pve-cluster.pid',
} as const;

/** `pmxcfs -l`: the cluster filesystem in local mode, writable without quorum. */
export function pmxcfsLocal(): string[] {
  return ['pmxcfs', '-l'];
}

/** Remove everything inside a directory, keeping the directory (`rm -r dir/*` without a shell glob). */
export function emptyDir(dir: string): string[] {
  return ['find', dir, '-mindepth', '1', '-delete'];
}

/** `corosync-cfgtool -R`: corosync re-reads corosync.conf on every node of the partition. */
export function corosyncReload(): string[] {
  return ['corosync-cfgtool', '-R'];
}
