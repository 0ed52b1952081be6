/** Building one node: its private directories, its namespaces and mounts, and the files of its /etc. */
import { statSync } from 'node:fs';
import { chown, mkdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from './process.js';
import { labLine } from './sh-words.js';
import { NODE_BIN_DIR, NODE_IDENTITY_FILE, type LabPaths, type NodeIdentity } from './layout.js';
import { isUnder } from './mounts.js';
import { chronyConf, environmentFile, hostsFile, sshdConfig, toolWrapper, type NodeRef } from './node-files.js';
import { inNode, syncNodeDir, writeNodeFile } from './node-fs.js';
import { inheritedNsMounts, NODE_BINDS, nodeMountCommands, nsenterOptions, startNodeNamespaces, type NodeNsFiles } from './node-ns.js';
import type { LabSubnet } from './names.js';
import type { NodeFaults, NodeState } from './state.js';
import { CHRONY_CONF } from './units.js';

/** The pvx installation directory (holding dist/, package.json, node_modules/): two levels above this module. */
export function appDirectory(): string {
  return path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
}

// Mounted privately inside every node: a program under one of these is invisible there.
const NODE_PRIVATE = ['/root', '/tmp', '/run', '/dev/shm', '/var/log', '/var/lib/corosync', '/var/lib/chrony', '/var/lib/pve-cluster'];

/** Where nodes find the node binary: its own path, or a bind at <root>/node when that path is private in nodes. */
export function nodeBinaryInNodes(paths: LabPaths, execPath = process.execPath): { path: string; bindFrom?: string } {
  return NODE_PRIVATE.some((d) => isUnder(execPath, d)) ? { path: path.join(paths.root, 'node'), bindFrom: execPath } : { path: execPath };
}

async function copyOwner(from: string, to: string): Promise<void> {
  try {
    const s = await stat(from);
    await chown(to, s.uid, s.gid);
  } catch {
    /* no such host dir: keep root */
  }
}

/** Create the node's private directories (overlay upper/work, /root, /var/log, …) with sensible owners. */
export async function prepareNodeDirs(nodeDir: string): Promise<void> {
  await mkdir(path.join(nodeDir, 'etc-upper'), { recursive: true, mode: 0o755 });
  await mkdir(path.join(nodeDir, 'etc-work'), { recursive: true, mode: 0o755 });
  for (const [dir] of NODE_BINDS) await mkdir(path.join(nodeDir, dir), { recursive: true, mode: dir === 'root' ? 0o700 : 0o755 });
  for (const sub of ['corosync', 'chrony']) await mkdir(path.join(nodeDir, 'varlog', sub), { recursive: true, mode: 0o755 });
  // chronyd drops to its own user; its directories must belong to it as on the host
  await copyOwner('/var/lib/chrony', path.join(nodeDir, 'var-lib-chrony'));
  await copyOwner('/var/log/chrony', path.join(nodeDir, 'varlog', 'chrony'));
}

/**
 * Point a running node's <root>/app at the current pvx installation after it moved. Only possible
 * when the new paths are visible inside nodes (not under their private mounts); false otherwise.
 */
export async function rebindApp(p: BootPlan): Promise<boolean> {
  if (NODE_PRIVATE.some((d) => isUnder(p.appDir, d)) || nodeBinaryInNodes(p.paths).bindFrom) return false;
  const cmds = [
    ['umount', '-l', p.paths.app],
    ['mount', '--bind', p.appDir, p.paths.app],
  ];
  const script = cmds.map((c, i) => (i === 0 ? `${labLine(c)} || true` : labLine(c))).join('\n');
  const r = await runProcess('nsenter', [...nsenterOptions(p.files), '--', 'sh', '-e', '-c', script], { cleanEnv: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  return r.exitCode === 0;
}

/** Everything needed to boot one node. */
export interface BootPlan {
  lab: string;
  paths: LabPaths;
  node: NodeState;
  files: NodeNsFiles;
  appDir: string;
}

/** Start the node's namespaces and build its mount table; resolves with the host PID of its PID 1. */
export async function bootNode(p: BootPlan): Promise<number> {
  const nodeDir = p.paths.nodeDir(p.node.name);
  if (/[,:\s]/.test(nodeDir)) throw new Error(`lab directory '${nodeDir}' must not contain ',', ':' or spaces (overlayfs options)`);
  const init = await startNodeNamespaces(p.lab, p.node.name, p.files);
  const bin = nodeBinaryInNodes(p.paths);
  const cmds = nodeMountCommands({
    labRoot: p.paths.root,
    nodeDir,
    appDir: p.appDir,
    appMount: p.paths.app,
    ...(bin.bindFrom ? { nodeBinary: bin.bindFrom, nodeBinaryMount: bin.path } : {}),
    hostname: p.node.name,
    inheritedNsMounts: await inheritedNsMounts(init),
  });
  const script = cmds.map((c) => (c[0] === 'umount' ? `${labLine(c)} || true` : labLine(c))).join('\n');
  const r = await runProcess('nsenter', [...nsenterOptions(p.files), '--', 'sh', '-e', '-c', script], {
    cleanEnv: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
  });
  if (r.exitCode !== 0) throw new Error(`${p.node.name}: building its mounts failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return init;
}

/**
 * The script the stand-in tools run, relative to the app directory: the one-file bundle `npm run
 * build` makes (a Node start-up per call costs far less without ~40 ES modules to resolve), or
 * main.js when there is no bundle or it is older than main.js (a tsc-only rebuild).
 */
export function simEntry(appDir: string): string {
  const main = path.join('dist', 'lab', 'sim', 'main.js');
  const bundle = path.join('dist', 'lab', 'sim', 'bundle.cjs');
  try {
    return statSync(path.join(appDir, bundle)).mtimeMs >= statSync(path.join(appDir, main)).mtimeMs ? bundle : main;
  } catch {
    return main;
  }
}

/** What writeNodeFiles needs to know about the lab. */
export interface NodeFilesPlan {
  lab: string;
  paths: LabPaths;
  subnet: LabSubnet;
  nodes: readonly NodeRef[];
  node: NodeState;
  faults: NodeFaults;
  faketimeLib: string;
  /** names of the simulated tools to install as wrappers */
  tools: readonly string[];
}

/** Which rewritten files need a daemon to act on them. */
export interface FilesChanged {
  chrony: boolean;
  sshd: boolean;
  environment: boolean;
}

/**
 * Write the node's /etc files: hostname, hosts, environment, sshd_config, chrony.conf, identity and
 * stand-in wrappers. Re-running resets them to the lab's defaults plus the node's recorded faults
 * (pitfall 13); anything else in the overlay (host keys, corosync.conf) is kept.
 */
export async function writeNodeFiles(initPid: number, p: NodeFilesPlan): Promise<FilesChanged> {
  const n = p.node;
  const server = p.nodes[0];
  const identity: NodeIdentity = {
    lab: p.lab,
    name: n.name,
    index: n.index,
    address: n.address,
    labRoot: p.paths.root,
    pveVersion: p.faults.pveVersion ?? n.pveVersion,
    nodes: p.nodes.map((x) => ({ name: x.name, address: x.address })),
  };
  const nodeBin = nodeBinaryInNodes(p.paths).path;
  const mainJs = path.join(p.paths.app, simEntry(appDirectory()));
  const wrappers = new Map(p.tools.map((t) => [t, toolWrapper(nodeBin, mainJs, t)]));
  const w = (file: string, content: string, mode?: number): Promise<boolean> => writeNodeFile(initPid, file, content, mode);
  await w('/etc/hostname', `${n.name}\n`);
  await w('/etc/hosts', hostsFile(p.nodes, n.name, Boolean(p.faults.hostsLoopback)));
  await w(NODE_IDENTITY_FILE, `${JSON.stringify(identity, null, 2)}\n`);
  await syncNodeDir(initPid, NODE_BIN_DIR, wrappers, 0o755);
  const environment = await w('/etc/environment', environmentFile({ ...(p.faults.skew ? { skew: p.faults.skew } : {}), faketimeLib: p.faketimeLib }));
  const sshd = await w('/etc/ssh/sshd_config', sshdConfig());
  const chrony = await w(
    CHRONY_CONF,
    chronyConf({ server: n.index === 1, serverAddress: server?.address ?? n.address, subnet: p.subnet, ...(p.faults.skew ? { skew: p.faults.skew } : {}) }),
  );
  return { chrony, sshd, environment };
}

/**
 * A fresh PVE node has no /etc/corosync/corosync.conf (so corosync.service skips its start), but
 * Debian's corosync package ships an example one in the host /etc that the overlay would show, and
 * the host's corosync-qnetd (the lab's QNetd host needs it) its /etc/corosync/qnetd, which a PVE
 * node without that package lacks. Hide them once, when the node's overlay has never had a corosync
 * directory of its own.
 */
export async function hideHostCorosyncConf(initPid: number, nodeDir: string): Promise<boolean> {
  try {
    await stat(path.join(nodeDir, 'etc-upper', 'corosync'));
    return false;
  } catch {
    /* never touched: hide the host's files */
  }
  for (const f of ['corosync.conf', 'authkey']) await unlink(inNode(initPid, `/etc/corosync/${f}`)).catch(() => undefined);
  await rm(inNode(initPid, '/etc/corosync/qnetd'), { recursive: true, force: true });
  await mkdir(inNode(initPid, '/etc/corosync'), { recursive: true });
  return true;
}
