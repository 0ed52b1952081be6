/**
 * FakeCluster plus what a teardown and a restore run on a node: backups (real archives), service
 * stops and starts, `pmxcfs -l`, the file removals, the checks, the upload and writes of a restore.
 * Each node keeps the state a separation moves through, so `pvecm status` and friends answer as the
 * node would at that moment. Strict: every command is compared whole with the shapes written out
 * below (reference §2, §12); anything else is refused and recorded for verify().
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { UnreachableError } from '../../src/errors.js';
import type { ExecOptions, ExecResult } from '../../src/transport/types.js';
import { checkBackupArgv, createBackupArgv } from '../../src/workflows/teardown/backup.js';
import { clusterTracesArgv, folderFilesArgv, stopLeftoverPmxcfsArgv, stopPmxcfsArgv } from '../../src/workflows/teardown/plan.js';
import { putDatabaseArgv, putFoldersBackArgv, uploadArgv, writeFileArgv } from '../../src/workflows/cluster/restore-plan.js';
import { guestContentsArgv } from '../../src/workflows/cluster/restore-guests.js';
import { corosyncConf } from '../unit/checks/scenario.js';
import { makeArchive, memberArchiveFiles } from './backup-archive.js';
import { FakeCluster, type FakeNode } from './fake-cluster.js';
import { isLockCommand } from './fake-lock.js';
import { isSession } from './session-node.js';
import { isNodeRead, playNodeRead } from './node-read.js';

// The product's scripts, taken only to compare identity (argv[2] is the script it declares); every
// argument after them is checked by the rules in match().
const SCRIPT = {
  backup: createBackupArgv('', '')[2],
  check: checkBackupArgv('', '')[2],
  stopPmxcfs: stopPmxcfsArgv()[2],
  stopLeftover: stopLeftoverPmxcfsArgv()[2],
  traces: clusterTracesArgv()[2],
  folderFiles: folderFilesArgv([])[2],
  upload: uploadArgv('', '')[2],
  write: writeFileArgv('')[2],
  putBack: putFoldersBackArgv('', [])[2],
  putDatabase: putDatabaseArgv('backup', '', '')[2],
  guestContents: guestContentsArgv()[2],
};

/** The content of a guest configuration as this double writes it (what the backup archives hold). */
export function guestText(vmid: number): string {
  return `name: guest${vmid}\nmemory: 512\n`;
}

const FACTS_FIND = ['find', '/etc/pve/nodes', '-mindepth', '3', '-maxdepth', '3', '-name', '*.conf'];
const LOCAL_CONF = '/etc/corosync/corosync.conf';
const PVE_CONF = '/etc/pve/corosync.conf';

type Kind =
  | 'catLocal' | 'catPve' | 'guests' | 'resources' | 'haStatus' | 'backup' | 'fetch' | 'check' | 'folderFiles' | 'removeFolders'
  | 'removeBackup' | 'stopCluster' | 'stopCorosync' | 'startCluster' | 'startCorosync' | 'pmxcfsLocal' | 'removePveConf'
  | 'emptyCorosync' | 'emptyCorosyncState' | 'stopPmxcfs' | 'traces' | 'upload' | 'writeLocal' | 'writePve' | 'extract'
  | 'putBack' | 'reload' | 'guestContents' | 'putDatabase' | 'writeGuest' | 'removeGuest';

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** cluster name, config_version and nodes of a corosync.conf, read by hand (the shape corosyncConf() writes). */
function readConf(text: string): { cluster: string; version: number; members: Array<{ name: string; nodeid: number; address: string }> } | undefined {
  const cluster = /cluster_name: (\S+)/.exec(text)?.[1];
  const version = Number(/config_version: (\d+)/.exec(text)?.[1]);
  const members = [...text.matchAll(/node \{\s*name: (\S+)\s*nodeid: (\d+)\s*quorum_votes: \d+\s*ring0_addr: (\S+)\s*\}/g)].map((m) => ({ name: m[1]!, nodeid: Number(m[2]), address: m[3]! }));
  return cluster && Number.isInteger(version) && members.length > 0 ? { cluster, version, members } : undefined;
}

/** Where a node's pmxcfs and cluster files stand. */
export interface SeparationState {
  pmxcfs: 'cluster' | 'local' | 'stopped' | 'standalone';
  pveConf: boolean;
  corosyncFiles: boolean;
  /** the other nodes' guests its own database still holds once separated */
  staleGuests: Array<{ node: string; vmid: number; type: 'qemu' | 'lxc' }>;
  /** the other nodes' folders under its /etc/pve/nodes once separated */
  otherFolders?: string[];
  /** /etc/corosync/corosync.conf as last written or extracted (otherwise the cluster's) */
  localConf?: string;
  /** /etc/pve/corosync.conf as written through a local pmxcfs */
  pveText?: string;
  /** guests only the node's own database holds (made while it was separated): gone when a restore replaces its database */
  ownOnly?: Array<{ vmid: number; type: 'qemu' | 'lxc'; text: string }>;
  /** which database a restore put in place (`backup`: the archive's; `cluster`: none, the cluster's is taken) */
  database?: 'backup' | 'cluster';
  /** the databases a restore kept aside, by directory */
  keptDatabases?: string[];
}

const ok = (stdout = '', stderr = '', exitCode = 0): ExecResult => ({ exitCode, stdout, stderr, durationMs: 1 });

/** The fake; `ha` lists configured HA resources, `activeLrms` the nodes whose LRM is active, `failures` makes a command fail, `onCommand` hooks in before one runs. */
export class TeardownFake extends FakeCluster {
  readonly sep = new Map<string, SeparationState>();
  readonly files = new Map<string, Buffer>();
  /** what each archive made on a node holds, as `tar -tzf` lists its files */
  readonly archiveFiles = new Map<string, string[]>();
  /** files in other nodes' folders that appeared after the backup (absolute paths) */
  extraFolderFiles: string[] = [];
  ha: string[] = [];
  /** nodes whose LRM `ha-manager status` shows active */
  activeLrms: string[] = [];
  failures: Array<{ node: string; argv: string; result: Partial<ExecResult> }> = [];
  onCommand?: (node: string, argv: readonly string[]) => void;
  /** backups made without /var/lib/pve-cluster/config.db (sqlite3 and the file absent) */
  withoutDatabase = false;
  /** writes to /etc/pve refused with EACCES after corosync is quorate, as pmxcfs hears of quorum a moment later */
  pmxcfsQuorumLagWrites = 0;
  /** the corosync.conf a restore gave each cluster (shown while its nodes are still the ones it lists) */
  readonly confTexts = new Map<string, string>();

  override form(cluster: string, names: readonly string[]): this {
    super.form(cluster, names);
    for (const n of names) this.sep.set(n, { pmxcfs: 'cluster', pveConf: true, corosyncFiles: true, staleGuests: [] });
    return this;
  }

  state(name: string): SeparationState {
    let s = this.sep.get(name);
    if (!s) {
      s = { pmxcfs: 'standalone', pveConf: false, corosyncFiles: false, staleGuests: [] };
      this.sep.set(name, s);
    }
    return s;
  }

  private conf(n: FakeNode): string | undefined {
    const c = n.cluster ? this.clusters.get(n.cluster) : undefined;
    if (!c) return undefined;
    const given = this.confTexts.get(c.name);
    if (given && readConf(given)?.members.map((m) => m.name).join() === c.members.map((m) => m.name).join()) return given;
    return corosyncConf(c.name, c.members, c.qdevice ? { qdevice: c.qdevice } : {});
  }

  /** A separated node's stale configs are what its teardown left; the FakeCluster reads them for preflight and pvecm add. */
  protected override otherFolderGuests(n: FakeNode): Array<{ node: string; vmid: number; type: 'qemu' | 'lxc' }> {
    return [...super.otherFolderGuests(n), ...(this.sep.get(n.name)?.staleGuests ?? [])];
  }

  /** Archive paths of /etc/pve/nodes as a member holds it: each member's lrm_status and guest configs. */
  private nodesFiles(n: FakeNode): string[] {
    const guests = this.clusterGuests(n).map((g) => `etc/pve/nodes/${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf`);
    return [...this.folderNames(n).map((m) => `etc/pve/nodes/${m}/lrm_status`), ...guests];
  }

  /** The node folders of its cluster's /etc/pve (delnode leaves a removed node's folder there). */
  private folderNames(n: FakeNode): string[] {
    const c = n.cluster ? this.clusters.get(n.cluster) : undefined;
    return [...(c?.files ?? [])].filter((f) => f.startsWith('/etc/pve/nodes/')).map((f) => f.slice('/etc/pve/nodes/'.length)).sort();
  }

  /** Folders of other nodes the node's /etc/pve/nodes holds now. */
  private foldersOf(n: FakeNode, s: SeparationState): string[] {
    if (s.pmxcfs === 'cluster') return this.folderNames(n).filter((m) => m !== n.name);
    return s.pmxcfs === 'stopped' ? [] : (s.otherFolders ?? []);
  }

  private clusterGuests(n: FakeNode): Array<{ node: string; vmid: number; type: 'qemu' | 'lxc' }> {
    const c = n.cluster ? this.clusters.get(n.cluster) : undefined;
    const names = c ? c.members.map((m) => m.name) : [n.name];
    return names.flatMap((name) => this.node(name).guests.map((g) => ({ node: name, vmid: g.vmid, type: g.type })));
  }

  override async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.onCommand?.(node, argv);
    // the lock, the preflight session and pvecm are the FakeCluster's (it refuses what nobody here answers)
    if (isLockCommand(argv) || isSession(argv)) return super.exec(node, argv, opts);
    // a local pmxcfs shows /etc/pve/corosync.conf until it is removed; without pmxcfs /etc/pve is an empty folder
    const sep = this.sep.get(node);
    if (sep && (sep.pmxcfs === 'stopped' || (sep.pmxcfs === 'local' && !sep.pveConf)) && this.node(node).reachable) {
      if (isNodeRead(argv)) return playNodeRead((a) => this.exec(node, a), () => false);
      if (sep.pmxcfs === 'stopped' && same(argv, ['cat', '/etc/pve/.members'])) return ok('', 'cat: /etc/pve/.members: No such file or directory\n', 1);
    }
    const n = this.node(node);
    const kind = this.match(n, argv, opts);
    if (!kind) return super.exec(node, argv, opts);
    this.calls.push({ node, argv, opts });
    if (!n.reachable) throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection timed out`, { hint: 'check the node', beforeCommand: true });
    const a = argv.join(' ');
    const fail = this.failures.find((f) => f.node === node && a.startsWith(f.argv));
    if (fail) return { ...ok(), exitCode: 1, ...fail.result };
    return this.run(n, kind, argv, opts);
  }

  /** `/var/lib/pvx/backups/<cluster>-YYYYMMDDTHHMMSSZ` of a cluster this fake knows. */
  private isSetDir(dir: string | undefined): boolean {
    const m = /^\/var\/lib\/pvx\/backups\/([A-Za-z0-9-]+)-\d{8}T\d{6}Z$/.exec(dir ?? '');
    return m !== null && this.clusters.has(m[1] ?? '');
  }

  /** `<set dir>/<the node itself>.tar.gz`. */
  private isOwnArchive(n: FakeNode, file: string | undefined): boolean {
    const f = file ?? '';
    return f.endsWith(`/${n.name}.tar.gz`) && this.isSetDir(f.slice(0, -`/${n.name}.tar.gz`.length));
  }

  /** `/etc/pve/nodes/<the node>/<qemu-server|lxc>/<vmid>.conf`. */
  private isOwnGuest(n: FakeNode, file: string): boolean {
    return new RegExp(`^/etc/pve/nodes/${n.name}/(qemu-server|lxc)/\\d+\\.conf$`).test(file);
  }

  /** `/etc/pve/nodes/<another node of this fake>`. */
  private isOtherFolder(n: FakeNode, dir: string): boolean {
    const m = /^\/etc\/pve\/nodes\/([^/]+)$/.exec(dir);
    return m !== null && m[1] !== n.name && this.knownNode(m[1]);
  }

  /** Which of the commands this double was built for `argv` is, compared whole; undefined for any other. */
  private match(n: FakeNode, argv: readonly string[], opts: ExecOptions): Kind | undefined {
    const exact: Array<[Kind, string[]]> = [
      ['catLocal', ['cat', LOCAL_CONF]],
      ['catPve', ['cat', PVE_CONF]],
      ['guests', FACTS_FIND],
      ['resources', ['pvesh', 'get', '/cluster/resources', '--output-format', 'json']],
      ['haStatus', ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json']],
      ['stopCluster', ['systemctl', 'stop', 'pve-cluster']],
      ['stopCorosync', ['systemctl', 'stop', 'corosync']],
      ['startCluster', ['systemctl', 'start', 'pve-cluster']],
      ['startCorosync', ['systemctl', 'start', 'corosync']],
      ['pmxcfsLocal', ['pmxcfs', '-l']],
      ['removePveConf', ['rm', '-f', PVE_CONF]],
      ['emptyCorosync', ['find', '/etc/corosync', '-mindepth', '1', '-delete']],
      ['emptyCorosyncState', ['find', '/var/lib/corosync', '-mindepth', '1', '-delete']],
      ['stopPmxcfs', ['sh', '-c', SCRIPT.stopPmxcfs, 'sh', '/var/run/pve-cluster.pid']],
      ['stopLeftover', ['sh', '-c', SCRIPT.stopLeftover, 'sh', '/var/run/pve-cluster.pid']],
      ['traces', ['sh', '-c', SCRIPT.traces]],
      ['reload', ['corosync-cfgtool', '-R']],
    ];
    const hit = exact.find(([, want]) => same(argv, want));
    if (hit) return hit[0];
    const [tool, flag, script, dollar0, ...args] = argv;
    const sh = tool === 'sh' && flag === '-c' && dollar0 === 'sh';
    if (sh && script === SCRIPT.backup && args.length === 2 && this.isSetDir(args[0]) && args[1] === n.name) return 'backup';
    if (sh && script === SCRIPT.check && args.length === 2 && this.isSetDir(args[0]) && args[1] === `${n.name}.tar.gz`) return 'check';
    if (sh && script === SCRIPT.folderFiles && args.length > 0 && args.every((d) => this.isOtherFolder(n, d))) return 'folderFiles';
    if (sh && script === SCRIPT.upload && args.length === 2 && this.isOwnArchive(n, args[0]) && /^[0-9a-f]{64}$/.test(args[1] ?? '') && opts.input !== undefined) return 'upload';
    if (sh && script === SCRIPT.write && args.length === 1 && opts.input !== undefined) {
      if (args[0] === LOCAL_CONF) return 'writeLocal';
      if (args[0] === PVE_CONF) return 'writePve';
    }
    if (sh && script === SCRIPT.putBack && args.length > 2 && this.isOwnArchive(n, args[0]) && args[1] === '/etc/pve/nodes' && args.slice(2).every((d) => this.isOtherFolder(n, `/etc/pve/nodes/${d}`))) return 'putBack';
    if (sh && script === SCRIPT.guestContents && args.length === 0) return 'guestContents';
    if (sh && script === SCRIPT.putDatabase && args.length === 3 && (args[0] === 'backup' || args[0] === 'cluster') && this.isOwnArchive(n, args[1]) && /^\/var\/lib\/pve-cluster\/config\.db\.before-restore-[A-Za-z0-9-]+-\d{8}T\d{6}Z$/.test(args[2] ?? '')) return 'putDatabase';
    if (sh && script === SCRIPT.write && args.length === 1 && opts.input !== undefined && this.isOwnGuest(n, args[0] ?? '')) return 'writeGuest';
    if (argv.length === 4 && tool === 'rm' && flag === '-f' && script === '--' && this.isOwnGuest(n, argv[3] ?? '')) return 'removeGuest';
    if (argv.length === 4 && tool === 'base64' && flag === '-w' && script === '0' && this.isOwnArchive(n, argv[3])) return 'fetch';
    if (argv.length === 3 && tool === 'rm' && flag === '-rf' && this.isSetDir(argv[2])) return 'removeBackup';
    if (argv.length > 3 && tool === 'rm' && flag === '-rf' && script === '--' && argv.slice(3).every((d) => this.isOtherFolder(n, d))) return 'removeFolders';
    if (argv.length === 6 && tool === 'tar' && flag === '-xzf' && this.isOwnArchive(n, script) && dollar0 === '-C' && args[0] === '/' && args[1] === 'etc/corosync') return 'extract';
    return undefined;
  }

  private run(n: FakeNode, kind: Kind, argv: readonly string[], opts: ExecOptions): ExecResult {
    const s = this.state(n.name);
    switch (kind) {
      case 'catLocal': {
        const conf = s.corosyncFiles ? (s.localConf ?? this.conf(n)) : undefined;
        return conf ? ok(conf) : ok('', `cat: ${LOCAL_CONF}: No such file or directory\n`, 1);
      }
      case 'catPve': {
        const conf = s.pveConf ? (this.conf(n) ?? s.pveText) : undefined;
        return conf ? ok(conf) : ok('', `cat: ${PVE_CONF}: No such file or directory\n`, 1);
      }
      case 'guests': {
        if (s.pmxcfs === 'stopped') return ok('', "find: '/etc/pve/nodes': No such file or directory\n", 1);
        const guests = s.pmxcfs === 'cluster' ? this.clusterGuests(n) : [...n.guests.map((g) => ({ node: n.name, vmid: g.vmid, type: g.type })), ...s.staleGuests];
        return ok(guests.map((g) => `/etc/pve/nodes/${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf\n`).join(''));
      }
      case 'resources': {
        const rows: unknown[] = this.clusterGuests(n).map((g) => ({ id: `${g.type}/${g.vmid}`, name: `guest${g.vmid}`, node: g.node, status: 'running', template: 0, type: g.type, vmid: g.vmid }));
        const c = n.cluster ? this.clusters.get(n.cluster) : undefined;
        for (const m of c?.members ?? []) {
          rows.push({ id: `storage/${m.name}/local`, storage: 'local', node: m.name, plugintype: 'dir', shared: 0, status: 'available', type: 'storage', content: 'iso' });
          rows.push({ id: `storage/${m.name}/nfs1`, storage: 'nfs1', node: m.name, plugintype: 'nfs', shared: 1, status: 'available', type: 'storage', content: 'images' });
        }
        return ok(JSON.stringify(rows) + '\n');
      }
      case 'haStatus': {
        const rows: unknown[] = [{ id: 'quorum', node: n.name, quorate: 1, status: 'OK', type: 'quorum' }];
        for (const sid of this.ha) rows.push({ id: `service:${sid}`, sid, node: n.name, state: 'started', status: `${sid} (${n.name}, started)`, type: 'service', crm_state: 'started', request_state: 'started' });
        // PVE::API2::HA::Status: an LRM still active after its node's last resource went
        for (const node of this.activeLrms) rows.push({ id: `lrm:${node}`, node, status: `${node} (active, Mon Dec  7 10:00:00 2026)`, timestamp: 1796637600, type: 'lrm' });
        return ok(JSON.stringify(rows) + '\n');
      }
      case 'backup': {
        const [dir, node] = [argv[4] ?? '', argv[5] ?? ''];
        const conf = this.conf(n) ?? '';
        const nodes = this.nodesFiles(n);
        const text = (f: string): string => {
          const m = /\/(\d+)\.conf$/.exec(f);
          return m ? guestText(Number(m[1])) : 'x';
        };
        const db = this.withoutDatabase ? {} : { 'var/lib/pve-cluster/config.db': 'SQLite format 3\u0000' };
        const data = makeArchive({ ...memberArchiveFiles(conf), ...Object.fromEntries(nodes.map((f) => [f, text(f)])), ...db });
        this.files.set(`${dir}/${node}.tar.gz`, data);
        const files = ['etc/corosync/authkey', 'etc/corosync/corosync.conf', 'etc/pve/corosync.conf', ...nodes, ...Object.keys(db)].sort();
        this.archiveFiles.set(`${dir}/${node}.tar.gz`, files);
        return ok(
          `have /etc/corosync\nhave /etc/pve/corosync.conf\nhave /etc/pve/nodes\n${this.withoutDatabase ? 'missing' : 'have'} /var/lib/pve-cluster/config.db\n${files.map((f) => `file ${f}`).join('\n')}\nsha256 ${sha256(data)}\nsize ${data.length}\n`,
        );
      }
      case 'fetch': {
        const data = this.files.get(argv[3] ?? '');
        return data ? ok(data.toString('base64')) : ok('', `base64: ${argv[3]}: No such file or directory\n`, 1);
      }
      case 'check': {
        const file = `${argv[4]}/${argv[5]}`;
        const data = this.files.get(file);
        if (!data) return ok('', `sha256sum: ${argv[5]}.sha256: No such file or directory\n`, 1);
        return ok(`${sha256(data)}  ${argv[5]}\netc/\netc/corosync/\netc/pve/\n${(this.archiveFiles.get(file) ?? []).join('\n')}\n`);
      }
      case 'folderFiles': {
        const have = this.foldersOf(n, s);
        const out = argv.slice(4).flatMap((d) => {
          const name = d.slice('/etc/pve/nodes/'.length);
          if (!have.includes(name)) return [];
          const guests = s.staleGuests.filter((g) => g.node === name).map((g) => `file ${d}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf`);
          return [`dir ${d}`, `file ${d}/lrm_status`, ...guests, ...this.extraFolderFiles.filter((f) => f.startsWith(`${d}/`)).map((f) => `file ${f}`)];
        });
        return ok(out.map((l) => `${l}\n`).join(''));
      }
      case 'removeFolders': {
        if (s.pmxcfs !== 'local' && s.pmxcfs !== 'standalone') return ok('', 'rm: cannot remove: Transport endpoint is not connected\n', 1);
        const gone = argv.slice(3).map((d) => d.slice('/etc/pve/nodes/'.length));
        s.otherFolders = (s.otherFolders ?? []).filter((f) => !gone.includes(f));
        s.staleGuests = s.staleGuests.filter((g) => !gone.includes(g.node));
        return ok();
      }
      case 'removeBackup':
        for (const f of [...this.files.keys()]) if (f.startsWith(`${argv[2]}/`)) this.files.delete(f);
        return ok();
      case 'stopCluster':
        if (s.pmxcfs === 'local') return ok(); // a pmxcfs started by hand is no systemd unit: systemctl leaves it running
        s.pmxcfs = 'stopped';
        return ok();
      case 'stopCorosync':
        n.corosync = false;
        return ok();
      case 'pmxcfsLocal':
        if (s.pmxcfs !== 'stopped') return ok('', '[main] crit: unable to acquire pmxcfs lock: Resource temporarily unavailable\n', 255);
        s.staleGuests = this.clusterGuests(n).filter((g) => g.node !== n.name);
        s.otherFolders = this.folderNames(n).filter((m) => m !== n.name);
        s.pmxcfs = 'local';
        return ok('', "[main] notice: forcing local mode (although corosync.conf exists)\n");
      case 'removePveConf':
        if (s.pmxcfs !== 'local') return ok('', `rm: cannot remove '${PVE_CONF}': Permission denied\n`, 1);
        s.pveConf = false;
        return ok();
      case 'emptyCorosync':
        s.corosyncFiles = false;
        delete s.localConf;
        return ok();
      case 'emptyCorosyncState':
        return ok();
      case 'stopLeftover':
        if (s.pmxcfs !== 'local') return ok('no local pmxcfs left running\n');
        s.pmxcfs = 'stopped';
        return ok('stopped pmxcfs (PID 4242)\n');
      case 'stopPmxcfs':
        if (s.pmxcfs !== 'local') return ok('', `no PID in /var/run/pve-cluster.pid\n`, 1);
        s.pmxcfs = 'stopped';
        return ok('stopped pmxcfs (PID 4242)\n');
      case 'startCluster':
        if (!s.pveConf && !s.corosyncFiles) {
          s.pmxcfs = 'standalone';
          delete n.cluster;
        } else {
          s.pmxcfs = 'cluster';
        }
        return ok();
      case 'traces': {
        const out = [
          ...(s.pveConf ? [`file ${PVE_CONF}`] : []),
          ...(s.corosyncFiles ? [`file ${LOCAL_CONF}`, 'file /etc/corosync/authkey'] : []),
          ...(n.corosync ? ['corosync running'] : []),
        ];
        return ok(out.map((l) => `${l}\n`).join(''));
      }
      case 'upload': {
        const data = Buffer.from(opts.input ?? '', 'base64');
        const [file, sha] = [argv[4] ?? '', argv[5] ?? ''];
        if (sha256(data) !== sha) return ok('', `${file}.part: FAILED\nsha256sum: WARNING: 1 computed checksum did NOT match\n`, 1);
        this.files.set(file, data);
        this.archiveFiles.set(file, execFileSync('tar', ['-tzf', '-'], { input: data }).toString().split('\n').filter((f) => f !== '' && !f.endsWith('/')));
        return ok(`ok ${sha}\n`);
      }
      case 'writePve': {
        const text = opts.input ?? '';
        if (s.pmxcfs === 'local') {
          s.pveConf = true;
          s.pveText = text;
          return ok();
        }
        const c = n.cluster ? this.clusters.get(n.cluster) : undefined;
        if (s.pmxcfs !== 'cluster' || !c || !n.corosync) return ok('', `sh: 1: cannot create ${PVE_CONF}.new: Permission denied\n`, 2);
        if (!this.quorate(n)) return ok('', `sh: 1: cannot create ${PVE_CONF}.new: Permission denied\n`, 2);
        if (this.pmxcfsQuorumLagWrites > 0) {
          this.pmxcfsQuorumLagWrites--;
          return ok('', `sh: 1: cannot create ${PVE_CONF}.new: Permission denied\n`, 2);
        }
        this.apply(text);
        return ok();
      }
      case 'writeLocal':
        s.corosyncFiles = true;
        s.localConf = opts.input ?? '';
        return ok();
      case 'reload': {
        // corosync takes the node's own /etc/corosync/corosync.conf (reference: corosync-cfgtool -R)
        if (!n.corosync || !n.cluster) return ok('', 'Could not initialize corosync configuration API error 2\n', 1);
        if (s.localConf) this.apply(s.localConf);
        return ok('Reloading corosync.conf...\nDone\n');
      }
      case 'extract': {
        const data = this.files.get(argv[2] ?? '');
        if (!data) return ok('', `tar: ${argv[2]}: Cannot open: No such file or directory\ntar: Error is not recoverable: exiting now\n`, 2);
        s.corosyncFiles = true;
        s.localConf = execFileSync('tar', ['-xzOf', '-', 'etc/corosync/corosync.conf'], { input: data }).toString();
        return ok();
      }
      case 'putBack': {
        if (s.pmxcfs !== 'local') return ok('', "mkdir: cannot create directory '/etc/pve/nodes': Transport endpoint is not connected\n", 1);
        const file = argv[4] ?? '';
        const inArchive = this.archiveFiles.get(file) ?? [];
        const out: string[] = [];
        for (const d of argv.slice(6)) {
          if (!inArchive.some((f) => f.startsWith(`etc/pve/nodes/${d}/`))) return ok(out.join(''), `tar: etc/pve/nodes/${d}: Not found in archive\ntar: Exiting with failure status due to previous errors\n`, 2);
          if ((s.otherFolders ?? []).includes(d)) {
            out.push(`kept /etc/pve/nodes/${d}\n`);
            continue;
          }
          s.otherFolders = [...(s.otherFolders ?? []), d];
          out.push(`restored /etc/pve/nodes/${d}\n`);
        }
        return ok(out.join(''));
      }
      case 'guestContents': {
        if (s.pmxcfs === 'stopped') return ok('', '/etc/pve/nodes is not there: pmxcfs is not mounted\n', 3);
        // the cluster's /etc/pve keeps the folder of a node delnode removed, with its guests
        const inCluster = () => this.folderNames(n).filter((name) => this.knownNode(name)).flatMap((name) => this.node(name).guests.map((g) => ({ node: name, vmid: g.vmid, type: g.type })));
        const listed = s.pmxcfs === 'cluster' ? inCluster() : [...n.guests.map((g) => ({ node: n.name, vmid: g.vmid, type: g.type })), ...s.staleGuests];
        const lines = listed.map((g) => `${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf ${Buffer.from(this.textOf(g.node, g.vmid)).toString('base64')}`);
        if (s.pmxcfs !== 'cluster') for (const g of s.ownOnly ?? []) lines.push(`${n.name}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf ${Buffer.from(g.text).toString('base64')}`);
        return ok(lines.map((l) => `${l}\n`).join(''));
      }
      case 'putDatabase': {
        if (s.pmxcfs !== 'stopped') return ok('', 'tar: var/lib/pve-cluster/config.db: Cannot open: Text file busy\n', 2);
        const [mode, file, keep] = [argv[4], argv[5] ?? '', argv[6] ?? ''];
        if (!(s.keptDatabases ?? []).includes(keep)) s.keptDatabases = [...(s.keptDatabases ?? []), keep];
        const inArchive = this.archiveFiles.get(file) ?? [];
        if (mode === 'backup' && !inArchive.includes('var/lib/pve-cluster/config.db')) return ok('', 'tar: var/lib/pve-cluster/config.db: Not found in archive\n', 2);
        s.database = mode === 'backup' ? 'backup' : 'cluster';
        // the node's own database is replaced: what only it held is gone from /etc/pve (kept aside)
        delete s.ownOnly;
        for (const key of [...this.texts.keys()]) if (key.startsWith(`${n.name}/`)) this.texts.delete(key);
        return ok(`kept ${keep}\n${mode === 'backup' ? 'restored' : 'cleared'} /var/lib/pve-cluster/config.db\n`);
      }
      case 'writeGuest': {
        if (s.pmxcfs !== 'cluster' || !this.quorate(n)) return ok('', `sh: 1: cannot create ${argv[4]}.new: Permission denied\n`, 2);
        const m = /\/(qemu-server|lxc)\/(\d+)\.conf$/.exec(argv[4] ?? '');
        const vmid = Number(m?.[2]);
        if (!n.guests.some((g) => g.vmid === vmid)) n.guests.push({ vmid, type: m?.[1] === 'lxc' ? 'lxc' : 'qemu', name: `guest${vmid}` });
        this.texts.set(`${n.name}/${vmid}`, opts.input ?? '');
        return ok();
      }
      case 'removeGuest': {
        if (s.pmxcfs !== 'cluster' || !this.quorate(n)) return ok('', `rm: cannot remove '${argv[3]}': Permission denied\n`, 1);
        const vmid = Number(/(\d+)\.conf$/.exec(argv[3] ?? '')?.[1]);
        n.guests = n.guests.filter((g) => g.vmid !== vmid);
        return ok();
      }
      case 'startCorosync': {
        const conf = s.corosyncFiles && s.localConf ? readConf(s.localConf) : undefined;
        if (!conf || !conf.members.some((m) => m.name === n.name)) return ok('', 'Job for corosync.service failed because the control process exited with error code.\n', 1);
        this.apply(s.localConf ?? '');
        n.cluster = conf.cluster;
        n.corosync = true;
        return ok();
      }
    }
  }

  /** guest configuration texts that differ from guestText() (written by a restore), by `<node>/<vmid>` */
  readonly texts = new Map<string, string>();

  /** The configuration text of a guest as the node's /etc/pve holds it. */
  textOf(node: string, vmid: number): string {
    return this.texts.get(`${node}/${vmid}`) ?? guestText(vmid);
  }

  /** The node's partition has quorum. */
  private quorate(n: FakeNode): boolean {
    const c = n.cluster ? this.clusters.get(n.cluster) : undefined;
    if (!c) return false;
    const online = c.members.filter((m) => this.node(m.name).reachable && this.node(m.name).corosync).length;
    return online * 2 > (c.expectedOverride ?? c.members.length);
  }

  /** The cluster takes a corosync.conf (its members and version) unless it holds a newer one. */
  private apply(text: string): void {
    const conf = readConf(text);
    if (!conf) throw new Error(`the fake cannot read the corosync.conf it was given:\n${text}`);
    const c = this.clusters.get(conf.cluster);
    // what a running member holds wins over an older file; a cluster no node runs any more holds nothing
    const running = [...this.nodes.values()].some((x) => x.cluster === conf.cluster && x.corosync);
    if (c && running && c.configVersion > conf.version) return;
    const files = c?.files ?? new Set<string>();
    for (const m of conf.members) files.add(`/etc/pve/nodes/${m.name}`);
    this.clusters.set(conf.cluster, { ...(c ?? { name: conf.cluster }), name: conf.cluster, members: conf.members, configVersion: conf.version, files });
    const cur = this.clusters.get(conf.cluster)!;
    delete cur.expectedOverride;
    this.confTexts.set(conf.cluster, text);
  }
}
