/**
 * A node's persistent namespaces: a netns plus mount, UTS and PID namespaces kept by bind-mounted
 * files, with a tiny perl reaper as the node's PID 1; and the argv to enter them.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runProcess } from './process.js';
import { labPaths } from './layout.js';
import { readMounts, mountPointsWhere, unmountAll } from './mounts.js';
import { netnsPath } from './net.js';
import { findNsInit, isAlive, processComm, processNs, sleep } from './procfs.js';

/** The namespace files of one node. */
export interface NodeNsFiles {
  net: string;
  mnt: string;
  uts: string;
  pid: string;
}

/** Where a node's namespaces are kept. */
export function nodeNsFiles(lab: string, node: string, netns: string): NodeNsFiles {
  const dir = labPaths(lab).nsDir;
  return { net: netnsPath(netns), mnt: path.join(dir, `${node}.mnt`), uts: path.join(dir, `${node}.uts`), pid: path.join(dir, `${node}.pid`) };
}

/** File holding the host PID of a node's PID 1. */
export function initPidFile(lab: string, node: string): string {
  return path.join(labPaths(lab).nodeDir(node), 'init.pid');
}

/**
 * The node's PID 1: reaps orphans so daemons that exit do not linger as zombies (pitfall 11).
 * Signals from inside the node cannot kill it (no handlers but CHLD), so the node lives until `down`.
 */
const REAPER = '$0 = "pvx-init"; $SIG{CHLD} = sub {}; while (1) { my $p = waitpid(-1, 0); sleep 1 if $p <= 0 }';

/** nsenter options that enter every namespace of the node (the PID namespace only when `pid`). */
export function nsenterOptions(f: NodeNsFiles, opts: { pid?: boolean; mount?: boolean; uts?: boolean } = {}): string[] {
  const out = [`--net=${f.net}`];
  if (opts.mount !== false) out.push(`--mount=${f.mnt}`);
  if (opts.uts !== false) out.push(`--uts=${f.uts}`);
  if (opts.pid !== false) out.push(`--pid=${f.pid}`);
  return out;
}

/** True when `file` is a bind-mounted namespace (its device differs from its directory's). */
export async function isNsMount(file: string): Promise<boolean> {
  try {
    const [f, d] = await Promise.all([stat(file), stat(path.dirname(file))]);
    return f.dev !== d.dev;
  } catch {
    return false;
  }
}

/** Host PID of the node's PID 1 when the node is alive (its PID namespace is the one in `f.pid`), else undefined. */
export async function liveInitPid(lab: string, node: string, f: NodeNsFiles): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(initPidFile(lab, node), 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !(await isAlive(pid)) || !(await isNsMount(f.pid))) return undefined;
  const [want, have] = await Promise.all([stat(f.pid).then((s) => s.ino), processNs(pid, 'pid')]);
  return want === have ? pid : undefined;
}

/** Make the lab's ns directory a private mount, so namespace files can be bound there on systemd hosts too. */
export async function ensureNsDirPrivate(nsDir: string): Promise<void> {
  const mounted = (await readMounts()).some((m) => m.mountPoint === nsDir);
  if (!mounted) {
    const r = await runProcess('mount', ['--bind', nsDir, nsDir]);
    if (r.exitCode !== 0) throw new Error(`mount --bind ${nsDir}: ${r.stderr.trim()}`);
  }
  await runProcess('mount', ['--make-private', nsDir]);
}

/** Unmount a node's namespace files (what keeps its namespaces alive once its processes are gone). */
export async function releaseNodeNsFiles(f: NodeNsFiles): Promise<string[]> {
  const files = new Set([f.mnt, f.uts, f.pid]);
  return unmountAll(await mountPointsWhere((m) => files.has(m.mountPoint)));
}

/** Create the node's mount, UTS and PID namespaces inside its netns; resolves with the host PID of its PID 1. */
export async function startNodeNamespaces(lab: string, node: string, f: NodeNsFiles): Promise<number> {
  const left = await releaseNodeNsFiles(f);
  if (left.length) throw new Error(`${node}: cannot release old namespace files: ${left.join('; ')}`);
  await Promise.all([f.mnt, f.uts, f.pid].map((file) => writeFile(file, '')));
  const r = await runProcess(
    'setsid',
    ['-f', 'nsenter', `--net=${f.net}`, '--', 'unshare', `--mount=${f.mnt}`, `--uts=${f.uts}`, `--pid=${f.pid}`, '--fork', '--mount-proc', '--propagation', 'private', '--', 'perl', '-e', REAPER],
    { ignoreOutput: true, cwd: '/', cleanEnv: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } },
  );
  if (r.exitCode !== 0) throw new Error(`${node}: cannot start its namespaces (exit ${r.exitCode})`);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if ((await isNsMount(f.mnt)) && (await isNsMount(f.uts)) && (await isNsMount(f.pid))) {
      const init = await findNsInit((await stat(f.pid)).ino);
      // once PID 1 runs perl, unshare has finished its own mounts (private propagation, /proc)
      if (init !== undefined && ['perl', 'pvx-init'].includes((await processComm(init)) ?? '')) {
        await writeFile(initPidFile(lab, node), `${init}\n`);
        return init;
      }
    }
    await sleep(20);
  }
  throw new Error(`${node}: its namespaces did not come up within 10 s`);
}

/** What the node's private mounts are made of. */
export interface NodeMountPlan {
  labRoot: string;
  nodeDir: string;
  /** host directory of the pvx installation and where nodes see it */
  appDir: string;
  appMount: string;
  /** the node binary to bind at `nodeBinaryMount`, when its own path is hidden inside nodes */
  nodeBinary?: string;
  nodeBinaryMount?: string;
  hostname: string;
  /** inherited nsfs mounts to drop inside the node (other nodes' and other labs' namespace files) */
  inheritedNsMounts: string[];
}

/** Directories of the node dir that become the node's private /root, /var/log, … */
export const NODE_BINDS: ReadonlyArray<[string, string]> = [
  ['root', '/root'],
  ['varlog', '/var/log'],
  ['var-lib-corosync', '/var/lib/corosync'],
  ['var-lib-chrony', '/var/lib/chrony'],
  // each node's own config.db: pmxcfs keeps one database per node
  ['var-lib-pve-cluster', '/var/lib/pve-cluster'],
];

/** The argv lines that build a node's mount table, in order (pure; run by setupNodeMounts). */
export function nodeMountCommands(p: NodeMountPlan): string[][] {
  const cmds: string[][] = p.inheritedNsMounts.map((m) => ['umount', '-l', m]);
  // the app must be bound before /tmp and /root turn private: CI often keeps pvx under /tmp
  cmds.push(['mount', '--bind', p.appDir, p.appMount]);
  if (p.nodeBinary && p.nodeBinaryMount) cmds.push(['mount', '--bind', p.nodeBinary, p.nodeBinaryMount]);
  const up = path.join(p.nodeDir, 'etc-upper');
  const work = path.join(p.nodeDir, 'etc-work');
  cmds.push(['mount', '-t', 'overlay', 'pvx-etc', '-o', `lowerdir=/etc,upperdir=${up},workdir=${work}`, '/etc']);
  // a shared /run lets the second corosync die on its pid lock, and sshd needs /run/sshd (pitfall 2)
  cmds.push(['mount', '-t', 'tmpfs', '-o', 'mode=0755,nosuid,nodev', 'pvx-run', '/run']);
  cmds.push(['mkdir', '-p', '-m', '0755', '/run/sshd', '/run/lock']);
  cmds.push(['mount', '-t', 'tmpfs', '-o', 'mode=1777,nosuid,nodev', 'pvx-tmp', '/tmp']);
  cmds.push(['mount', '-t', 'tmpfs', '-o', 'mode=1777,nosuid,nodev', 'pvx-shm', '/dev/shm']);
  for (const [dir, target] of NODE_BINDS) {
    // /var/lib/pve-cluster is absent on a host without PVE: the bind needs a mount point
    if (target === '/var/lib/pve-cluster') cmds.push(['mkdir', '-p', '-m', '0755', target]);
    cmds.push(['mount', '--bind', path.join(p.nodeDir, dir), target]);
  }
  cmds.push(['mount', '-t', 'sysfs', 'pvx-sys', '/sys']);
  cmds.push(['hostname', p.hostname]);
  return cmds;
}

/** nsfs mounts a new node inherited from the host's mount table (they would pin foreign namespaces). */
export async function inheritedNsMounts(initPid: number): Promise<string[]> {
  const ms = await readMounts(initPid);
  return ms
    .filter((m) => m.fsType === 'nsfs' || m.mountPoint === '/run/netns')
    .map((m) => m.mountPoint)
    .reverse();
}
