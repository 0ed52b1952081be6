/**
 * FakeCluster plus what a teardown and a restore run on a node: backups (real archives), service
 * stops and starts, `pmxcfs -l`, the file removals, the checks. Each node keeps the state a
 * separation moves through, so `pvecm status` and friends answer as the node would at that moment.
 */
import { UnreachableError } from '../../src/errors.js';
import { CLUSTER_PATHS, pveshGet } from '../../src/pve/argv.js';
import type { ExecOptions, ExecResult } from '../../src/transport/types.js';
import { guestFilesArgv } from '../../src/workflows/guest-files.js';
import { sha256Hex } from '../../src/workflows/teardown-backup.js';
import { clusterTracesArgv, folderFilesArgv, stopPmxcfsArgv } from '../../src/workflows/teardown-plan.js';
import { corosyncConf } from '../unit/checks/scenario.js';
import { makeArchive, memberArchiveFiles } from './backup-archive.js';
import { FakeCluster, type FakeNode } from './fake-cluster.js';
import { isLockCommand } from './fake-lock.js';
import { isSession } from './session-node.js';
import { factsArgv } from '../../src/checks/facts-script.js';

/** Where a node's pmxcfs and cluster files stand. */
export interface SeparationState {
  pmxcfs: 'cluster' | 'local' | 'stopped' | 'standalone';
  pveConf: boolean;
  corosyncFiles: boolean;
  /** the other nodes' guests its own database still holds once separated */
  staleGuests: Array<{ node: string; vmid: number; type: 'qemu' | 'lxc' }>;
  /** the other nodes' folders under its /etc/pve/nodes once separated */
  otherFolders?: string[];
}

const ok = (stdout = '', stderr = '', exitCode = 0): ExecResult => ({ exitCode, stdout, stderr, durationMs: 1 });

/** The fake; `ha` lists configured HA resources, `failures` makes a command fail, `onCommand` hooks in before one runs. */
export class TeardownFake extends FakeCluster {
  readonly sep = new Map<string, SeparationState>();
  readonly files = new Map<string, Buffer>();
  /** what each archive made on a node holds, as `tar -tzf` lists its files */
  readonly archiveFiles = new Map<string, string[]>();
  /** files in other nodes' folders that appeared after the backup (absolute paths) */
  extraFolderFiles: string[] = [];
  ha: string[] = [];
  failures: Array<{ node: string; argv: string; result: Partial<ExecResult> }> = [];
  onCommand?: (node: string, argv: readonly string[]) => void;

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
    return c ? corosyncConf(c.name, c.members, c.qdevice ? { qdevice: c.qdevice } : {}) : undefined;
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
    const n = this.node(node);
    const a = argv.join(' ');
    const mine = this.handles(argv);
    if (!mine) return super.exec(node, argv, opts);
    this.calls.push({ node, argv, opts });
    if (!n.reachable) throw new UnreachableError(node, `cannot reach ${node} over SSH: Connection timed out`, { hint: 'check the node' });
    const fail = this.failures.find((f) => f.node === node && a.startsWith(f.argv));
    if (fail) return { ...ok(), exitCode: 1, ...fail.result };
    return this.run(n, argv, opts);
  }

  private handles(argv: readonly string[]): boolean {
    if (isLockCommand(argv)) return false;
    const a = argv.join(' ');
    // a preflight (a cluster created again after the teardown) is the FakeCluster's
    if (isSession(argv) || a === factsArgv().join(' ')) return false;
    if (argv[0] === 'sh' || argv[0] === 'systemctl' || argv[0] === 'pmxcfs' || argv[0] === 'base64' || argv[0] === 'find' || argv[0] === 'cat' || argv[0] === 'tar') return true;
    if (argv[0] === 'corosync-cfgtool') return true;
    if (a === `rm -f ${CLUSTER_PATHS.pveCorosyncConf}` || (argv[0] === 'rm' && argv[1] === '-rf')) return true;
    return a === pveshGet('/cluster/resources').join(' ') || a === pveshGet('/cluster/ha/status/current').join(' ');
  }

  private run(n: FakeNode, argv: readonly string[], opts: ExecOptions): ExecResult {
    const s = this.state(n.name);
    const a = argv.join(' ');
    if (a === `cat ${CLUSTER_PATHS.corosyncConf}`) {
      const conf = s.corosyncFiles ? this.conf(n) : undefined;
      return conf ? ok(conf) : ok('', `cat: ${CLUSTER_PATHS.corosyncConf}: No such file or directory\n`, 1);
    }
    if (a === `cat ${CLUSTER_PATHS.pveCorosyncConf}`) {
      const conf = s.pveConf ? this.conf(n) : undefined;
      return conf ? ok(conf) : ok('', `cat: ${CLUSTER_PATHS.pveCorosyncConf}: No such file or directory\n`, 1);
    }
    if (a === guestFilesArgv().join(' ')) {
      if (s.pmxcfs === 'stopped') return ok('', "find: '/etc/pve/nodes': No such file or directory\n", 1);
      const guests = s.pmxcfs === 'cluster' ? this.clusterGuests(n) : [...n.guests.map((g) => ({ node: n.name, vmid: g.vmid, type: g.type })), ...s.staleGuests];
      return ok(guests.map((g) => `/etc/pve/nodes/${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf\n`).join(''));
    }
    if (a === pveshGet('/cluster/resources').join(' ')) {
      const rows: unknown[] = this.clusterGuests(n).map((g) => ({ id: `${g.type}/${g.vmid}`, name: `guest${g.vmid}`, node: g.node, status: 'running', template: 0, type: g.type, vmid: g.vmid }));
      const c = n.cluster ? this.clusters.get(n.cluster) : undefined;
      for (const m of c?.members ?? []) {
        rows.push({ id: `storage/${m.name}/local`, storage: 'local', node: m.name, plugintype: 'dir', shared: 0, status: 'available', type: 'storage', content: 'iso' });
        rows.push({ id: `storage/${m.name}/nfs1`, storage: 'nfs1', node: m.name, plugintype: 'nfs', shared: 1, status: 'available', type: 'storage', content: 'images' });
      }
      return ok(JSON.stringify(rows) + '\n');
    }
    if (a === pveshGet('/cluster/ha/status/current').join(' ')) {
      const rows: unknown[] = [{ id: 'quorum', node: n.name, quorate: 1, status: 'OK', type: 'quorum' }];
      for (const sid of this.ha) rows.push({ id: `service:${sid}`, sid, node: n.name, state: 'started', status: `${sid} (${n.name}, started)`, type: 'service', crm_state: 'started', request_state: 'started' });
      return ok(JSON.stringify(rows) + '\n');
    }
    if (argv[0] === 'sh' && argv[2]?.includes('sqlite3')) {
      const [dir, node] = [argv[4] ?? '', argv[5] ?? ''];
      const conf = this.conf(n) ?? '';
      const nodes = this.nodesFiles(n);
      const data = makeArchive({ ...memberArchiveFiles(conf), ...Object.fromEntries(nodes.map((f) => [f, 'x'])) });
      const sha = sha256Hex(data);
      this.files.set(`${dir}/${node}.tar.gz`, data);
      const files = ['etc/corosync/authkey', 'etc/corosync/corosync.conf', 'etc/pve/corosync.conf', ...nodes].sort();
      this.archiveFiles.set(`${dir}/${node}.tar.gz`, files);
      return ok(
        `have /etc/corosync\nhave /etc/pve/corosync.conf\nhave /etc/pve/nodes\nmissing /var/lib/pve-cluster/config.db\n${files.map((f) => `file ${f}`).join('\n')}\nsha256 ${sha}\nsize ${data.length}\n`,
      );
    }
    if (argv[0] === 'base64') {
      const data = this.files.get(argv[3] ?? '');
      return data ? ok(data.toString('base64')) : ok('', `base64: ${argv[3]}: No such file or directory\n`, 1);
    }
    if (argv[0] === 'sh' && argv[2]?.includes('tar -tzf')) {
      const file = `${argv[4]}/${argv[5]}`;
      const data = this.files.get(file);
      if (!data) return ok('', `sha256sum: ${argv[5]}.sha256: No such file or directory\n`, 1);
      return ok(`${sha256Hex(data)}  ${argv[5]}\netc/\netc/corosync/\netc/pve/\n${(this.archiveFiles.get(file) ?? []).join('\n')}\n`);
    }
    if (a.startsWith(`${folderFilesArgv([]).join(' ')} `)) {
      const have = this.foldersOf(n, s);
      const out = argv.slice(4).flatMap((d) => {
        const name = d.slice('/etc/pve/nodes/'.length);
        if (!have.includes(name)) return [];
        const guests = s.staleGuests.filter((g) => g.node === name).map((g) => `file ${d}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf`);
        return [`dir ${d}`, `file ${d}/lrm_status`, ...guests, ...this.extraFolderFiles.filter((f) => f.startsWith(`${d}/`)).map((f) => `file ${f}`)];
      });
      return ok(out.map((l) => `${l}\n`).join(''));
    }
    if (argv[0] === 'rm' && argv[1] === '-rf' && argv[2] === '--') {
      if (s.pmxcfs !== 'local' && s.pmxcfs !== 'standalone') return ok('', 'rm: cannot remove: Transport endpoint is not connected\n', 1);
      const gone = argv.slice(3).map((d) => d.slice('/etc/pve/nodes/'.length));
      s.otherFolders = (s.otherFolders ?? []).filter((f) => !gone.includes(f));
      s.staleGuests = s.staleGuests.filter((g) => !gone.includes(g.node));
      return ok();
    }
    if (argv[0] === 'rm' && argv[1] === '-rf') {
      for (const f of [...this.files.keys()]) if (f.startsWith(`${argv[2]}/`)) this.files.delete(f);
      return ok();
    }
    if (a === 'systemctl stop pve-cluster') {
      s.pmxcfs = 'stopped';
      return ok();
    }
    if (a === 'systemctl stop corosync') {
      n.corosync = false;
      return ok();
    }
    if (a === 'pmxcfs -l') {
      if (s.pmxcfs !== 'stopped') return ok('', '[main] crit: unable to acquire pmxcfs lock: Resource temporarily unavailable\n', 255);
      s.staleGuests = this.clusterGuests(n).filter((g) => g.node !== n.name);
      s.otherFolders = this.folderNames(n).filter((m) => m !== n.name);
      s.pmxcfs = 'local';
      return ok('', "[main] notice: forcing local mode (although corosync.conf exists)\n");
    }
    if (a === `rm -f ${CLUSTER_PATHS.pveCorosyncConf}`) {
      if (s.pmxcfs !== 'local') return ok('', `rm: cannot remove '${CLUSTER_PATHS.pveCorosyncConf}': Permission denied\n`, 1);
      s.pveConf = false;
      return ok();
    }
    if (a === `find ${CLUSTER_PATHS.corosyncDir} -mindepth 1 -delete`) {
      s.corosyncFiles = false;
      return ok();
    }
    if (a === `find ${CLUSTER_PATHS.corosyncState} -mindepth 1 -delete`) return ok();
    if (a === stopPmxcfsArgv().join(' ')) {
      if (s.pmxcfs !== 'local') return ok('', `no PID in ${CLUSTER_PATHS.pmxcfsPidFile}\n`, 1);
      s.pmxcfs = 'stopped';
      return ok('stopped pmxcfs (PID 4242)\n');
    }
    if (a === 'systemctl start pve-cluster') {
      if (!s.pveConf && !s.corosyncFiles) {
        s.pmxcfs = 'standalone';
        delete n.cluster;
      } else {
        s.pmxcfs = 'cluster';
      }
      return ok();
    }
    if (a === clusterTracesArgv().join(' ')) {
      const out = [
        ...(s.pveConf ? [`file ${CLUSTER_PATHS.pveCorosyncConf}`] : []),
        ...(s.corosyncFiles ? [`file ${CLUSTER_PATHS.corosyncConf}`, `file ${CLUSTER_PATHS.authkey}`] : []),
        ...(n.corosync ? ['corosync running'] : []),
      ];
      return ok(out.map((l) => `${l}\n`).join(''));
    }
    throw new Error(`unexpected command on ${n.name}: ${JSON.stringify(argv)}${opts.input !== undefined ? ' (with stdin)' : ''}`);
  }
}
