/**
 * The lab's QNetd host (`lab up --qdevice`): one more network namespace on the lab bridge, with
 * sshd (so `pvecm qdevice setup` reaches it as root, as on real PVE) and Debian's corosync-qnetd.
 * It is no PVE node: no stand-in tools, no corosync, no pmxcfs.
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { runProcess, type ProcessResult } from './process.js';
import type { LabPaths } from './layout.js';
import type { LabSubnet } from './names.js';
import { deleteLink, deleteNetns, ensureHostLink, listNetns, type LinkInfo } from './net.js';
import { hostsFile, sshdConfig, type NodeRef } from './node-files.js';
import { inNode, readNodeFile, unitPid, writeNodeFile } from './node-fs.js';
import { isNsMount, liveInitPid, nodeNsFiles, nsenterOptions, releaseNodeNsFiles, type NodeNsFiles } from './node-ns.js';
import { bootNode, prepareNodeDirs } from './node-setup.js';
import { killAndWait, nsInode, pidsInNamespaces, sleep } from './procfs.js';
import { ensureHostKeys, readHostKeys } from './ssh-material.js';
import type { NodeState, QnetdState } from './state.js';

export type { QnetdState } from './state.js';
import { labWord } from './sh-words.js';

/** Host name of the QNetd host (its directory under nodes/ and its ns files carry it too). */
export const QNETD_NAME = 'qnetd';


/** Kernel object names of lab `lab`'s QNetd host (enough to remove it when lab.json is gone). */
export function qnetdNames(lab: string): Omit<QnetdState, 'address'> {
  return { name: QNETD_NAME, netns: `pvx-${lab}-${QNETD_NAME}`, veth: `pvx-${lab}-q` };
}

/** Names and address of lab `lab`'s QNetd host: `<prefix>.5`, below the nodes' .11–.26. */
export function qnetdState(lab: string, subnet: LabSubnet): QnetdState {
  return { ...qnetdNames(lab), address: `${subnet.prefix}.5` };
}


/** A daemon of the QNetd host: where its pidfile and log are, what /proc/<pid>/comm calls it. */
interface QnetdDaemon {
  pidFile: string;
  comm: string;
  log: string;
}

/** sshd of the QNetd host (the lab's sshd_config names this pidfile). */
export const QNETD_SSHD: QnetdDaemon = { pidFile: '/run/sshd.pid', comm: 'sshd', log: '/var/log/sshd.log' };

/** Debian's corosync-qnetd with its built-in pidfile (/var/run is /run). */
export const QNETD_DAEMON: QnetdDaemon = { pidFile: '/run/corosync-qnetd/corosync-qnetd.pid', comm: 'corosync-qnetd', log: '/var/log/corosync-qnetd.log' };

/** The certificate database corosync-qnetd-certutil -i creates (Debian's postinst does it at install). */
const QNETD_NSSDB = '/etc/corosync/qnetd/nssdb';

function files(lab: string, q: Pick<QnetdState, 'name' | 'netns'>): NodeNsFiles {
  return nodeNsFiles(lab, q.name, q.netns);
}

/** Run `argv` inside the QNetd host with a daemon's clean environment. */
async function inQnetd(f: NodeNsFiles, argv: readonly string[], stderrFile?: string): Promise<ProcessResult> {
  const env = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'];
  const script = stderrFile ? ['sh', '-c', `exec "$@" 2>>${labWord(stderrFile)}`, 'sh', ...argv] : [...argv];
  return runProcess('nsenter', [...nsenterOptions(f), '--', 'env', '-i', '-C', '/', ...env, ...script], {
    cleanEnv: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    timeoutMs: 60_000,
  });
}

async function okIn(f: NodeNsFiles, argv: readonly string[], stderrFile?: string): Promise<void> {
  const r = await inQnetd(f, argv, stderrFile);
  if (r.exitCode !== 0) throw new Error(`${QNETD_NAME}: ${argv.join(' ')} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
}

/**
 * The host's /etc is the lower layer of the QNetd host's /etc, and Debian's postinst already made
 * a certificate database there: give the QNetd host a CA of its own instead, once.
 */
async function ensureOwnCa(initPid: number, nodeDir: string, f: NodeNsFiles): Promise<boolean> {
  const own = await stat(path.join(nodeDir, 'etc-upper', 'corosync', 'qnetd', 'nssdb', 'cert9.db')).then(() => true, () => false);
  if (own) return false;
  await rm(inNode(initPid, QNETD_NSSDB), { recursive: true, force: true });
  await okIn(f, ['corosync-qnetd-certutil', '-i']);
  return true;
}

async function waitPid(initPid: number, u: QnetdDaemon, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await unitPid(initPid, u)) !== undefined) return true;
    await sleep(50);
  }
  return false;
}

async function startDaemon(initPid: number, f: NodeNsFiles, u: QnetdDaemon, argv: readonly string[]): Promise<boolean> {
  if ((await unitPid(initPid, u)) !== undefined) return false;
  await okIn(f, ['mkdir', '-p', path.dirname(u.pidFile), path.dirname(u.log)]);
  await okIn(f, argv, u.log);
  if (!(await waitPid(initPid, u, 10_000))) {
    const log = ((await readNodeFile(initPid, u.log)) ?? '').trimEnd().split('\n').slice(-5).join('\n');
    throw new Error(`${QNETD_NAME}: ${argv[0]} did not write a live PID to ${u.pidFile} within 10 s\n${log}`);
  }
  return true;
}

/** What ensureQnetdHost needs to know about the lab. */
export interface QnetdPlan {
  lab: string;
  paths: LabPaths;
  qnetd: QnetdState;
  bridge: string;
  /** the lab's nodes, for the QNetd host's /etc/hosts */
  nodes: readonly NodeRef[];
  appDir: string;
}

/** A QNetd host that is up: its PID 1 on this machine and its public host keys. */
export interface BuiltQnetd {
  initPid: number;
  hostKeys: string[];
}

/** Build (or repair) the QNetd host and start its sshd and corosync-qnetd. */
export async function ensureQnetdHost(p: QnetdPlan, links: readonly LinkInfo[], netnsList: readonly string[], log: (l: string) => void): Promise<BuiltQnetd> {
  const q = p.qnetd;
  const f = files(p.lab, q);
  const nodeDir = p.paths.nodeDir(q.name);
  if (await ensureHostLink(q.netns, q.veth, p.bridge, q.address, links, netnsList)) log(`${q.name}: netns ${q.netns}, ${q.address} on ${p.bridge}`);
  await prepareNodeDirs(nodeDir);
  let initPid = await liveInitPid(p.lab, q.name, f);
  if (initPid === undefined) {
    await killQnetdProcesses(p.lab, q);
    // bootNode only reads the name of the node it boots
    const asNode: NodeState = { name: q.name, index: 0, address: q.address, netns: q.netns, veth: q.veth, pveVersion: '' };
    initPid = await bootNode({ lab: p.lab, paths: p.paths, node: asNode, files: f, appDir: p.appDir });
    log(`${q.name}: booted (PID 1 is ${initPid} on this machine)`);
  }
  await writeNodeFile(initPid, '/etc/hostname', `${q.name}\n`);
  await writeNodeFile(initPid, '/etc/hosts', hostsFile([...p.nodes, { name: q.name, address: q.address }], q.name));
  const sshdChanged = await writeNodeFile(initPid, '/etc/ssh/sshd_config', sshdConfig());
  if (await ensureHostKeys(initPid, nodeDir, q.name)) log(`${q.name}: generated its ssh host keys`);
  if (await ensureOwnCa(initPid, nodeDir, f)) log(`${q.name}: initialised the QNetd CA (corosync-qnetd-certutil -i)`);
  const sshPid = await unitPid(initPid, QNETD_SSHD);
  if (sshPid !== undefined && sshdChanged) await okIn(f, ['kill', '-HUP', String(sshPid)]);
  const started: string[] = [];
  if (await startDaemon(initPid, f, QNETD_SSHD, ['/usr/sbin/sshd', '-E', QNETD_SSHD.log])) started.push('ssh');
  // without -f corosync-qnetd forks and writes its pidfile; it listens on TCP 5403
  if (await startDaemon(initPid, f, QNETD_DAEMON, ['/usr/bin/corosync-qnetd'])) started.push('corosync-qnetd');
  if (started.length) log(`${q.name}: ${started.join(', ')} started`);
  return { initPid, hostKeys: await readHostKeys(initPid) };
}

/** Names the QNetd host is known by in ssh_known_hosts files. */
export function qnetdRef(q: QnetdState): NodeRef {
  return { name: q.name, address: q.address };
}

/** State of the QNetd host for `lab status`. */
export interface QnetdStatus {
  name: string;
  address: string;
  running: boolean;
  initPid?: number;
  sshd: boolean;
  qnetd: boolean;
}

/** Whether the QNetd host and its daemons run. */
export async function qnetdStatus(lab: string, q: QnetdState): Promise<QnetdStatus> {
  const initPid = await liveInitPid(lab, q.name, files(lab, q));
  const st: QnetdStatus = { name: q.name, address: q.address, running: initPid !== undefined, sshd: false, qnetd: false };
  if (initPid === undefined) return st;
  st.initPid = initPid;
  st.sshd = (await unitPid(initPid, QNETD_SSHD)) !== undefined;
  st.qnetd = (await unitPid(initPid, QNETD_DAEMON)) !== undefined;
  return st;
}

async function qnetdNamespaces(lab: string, q: Pick<QnetdState, 'name' | 'netns'>): Promise<{ net: Set<number>; pid: Set<number>; mnt: Set<number>; uts: Set<number> }> {
  const f = files(lab, q);
  const sel = { net: new Set<number>(), pid: new Set<number>(), mnt: new Set<number>(), uts: new Set<number>() };
  const add = async (set: Set<number>, file: string): Promise<void> => {
    const ino = await nsInode(file);
    if (ino !== undefined) set.add(ino);
  };
  // an unmounted ns file is a plain file of the ns dir: only bind-mounted ones name a namespace
  for (const [set, file] of [[sel.net, f.net], [sel.pid, f.pid], [sel.mnt, f.mnt], [sel.uts, f.uts]] as const) {
    if (await isNsMount(file)) await add(set, file);
  }
  return sel;
}

/** PIDs of the QNetd host's processes (for `down` to verify and tests to assert). */
export async function qnetdPids(lab: string, q: Pick<QnetdState, 'name' | 'netns'>): Promise<number[]> {
  return pidsInNamespaces(await qnetdNamespaces(lab, q));
}

/** Stop every process of the QNetd host by PID (found through its namespaces); returns those still alive. */
export async function killQnetdProcesses(lab: string, q: Pick<QnetdState, 'name' | 'netns'>): Promise<number[]> {
  let left: number[] = [];
  for (let round = 0; round < 3; round++) {
    const pids = await qnetdPids(lab, q);
    if (pids.length === 0) return [];
    left = await killAndWait(pids, 'SIGKILL', 5000);
  }
  return left;
}

/** Remove the QNetd host's kernel objects (processes, ns files, netns, veth); its directory stays. */
export async function removeQnetdObjects(lab: string, q: Omit<QnetdState, 'address'>): Promise<string[]> {
  const problems: string[] = [];
  const left = await killQnetdProcesses(lab, q);
  if (left.length) problems.push(`${q.name}: processes still alive: ${left.join(' ')}`);
  problems.push(...(await releaseNodeNsFiles(files(lab, q))));
  if ((await listNetns()).includes(q.netns)) {
    const err = await deleteNetns(q.netns);
    if (err) problems.push(`ip netns del ${q.netns}: ${err}`);
  }
  await deleteLink(q.veth);
  return problems;
}
