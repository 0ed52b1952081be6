/**
 * Removing a lab: every process (by PID, found through the lab's namespaces), mount, namespace,
 * veth and bridge, and its directory. Works from lab.json or, when that is gone, from the names
 * the lab's kernel objects carry.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { labPaths, type NodeIdentity } from './layout.js';
import { withLabLock } from './lock.js';
import { isUnder, mountPointsWhere, unmountAll } from './mounts.js';
import { bridgeName, netnsIndex, netnsName, nodeName, validateLabName, vethIndex, vethName } from './names.js';
import { deleteLink, deleteNetns, listLinks, listNetns } from './net.js';
import { initPidFile, isNsMount, nodeNsFiles, releaseNodeNsFiles } from './node-ns.js';
import { killAndWait, nsInode, pidsInNamespaces, type NsSelector } from './procfs.js';
import { qnetdNames, qnetdPids, removeQnetdObjects } from './qnetd.js';
import { closeMasters } from './ssh-masters.js';
import { readLabState } from './state.js';

/** Options of labDown. */
export interface LabDownOptions {
  /** keep the lab directory (keys, overlays, logs) for inspection */
  keepFiles?: boolean;
}

/** What is left of a lab on this machine (all empty after a clean `down`). */
export interface LabRemnants {
  netns: string[];
  links: string[];
  mounts: string[];
  pids: number[];
}

async function nodeIndicesOnDisk(lab: string): Promise<number[]> {
  const p = labPaths(lab);
  const out: number[] = [];
  for (const n of await readdir(path.join(p.root, 'nodes')).catch(() => [] as string[])) {
    const m = /^pve(\d+)$/.exec(n);
    if (m) out.push(Number(m[1]));
  }
  for (const f of await readdir(p.nsDir).catch(() => [] as string[])) {
    const m = /^pve(\d+)\.(?:mnt|uts|pid)$/.exec(f);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** The lab's node addresses, from lab.json or the identity files in the node overlays. */
async function knownAddresses(lab: string, indices: readonly number[]): Promise<string[]> {
  const state = await readLabState(lab).catch(() => undefined);
  if (state) return state.nodes.map((n) => n.address);
  const out: string[] = [];
  for (const i of indices) {
    const file = path.join(labPaths(lab).nodeDir(nodeName(i)), 'etc-upper', 'pvx-lab', 'node.json');
    try {
      out.push((JSON.parse(await readFile(file, 'utf8')) as NodeIdentity).address);
    } catch {
      /* never got that far */
    }
  }
  return out;
}

/** Namespace inodes of the lab's nodes, for finding their processes. */
async function labNamespaces(lab: string, indices: readonly number[]): Promise<NsSelector & { net: Set<number>; pid: Set<number>; mnt: Set<number>; uts: Set<number> }> {
  const sel = { net: new Set<number>(), pid: new Set<number>(), mnt: new Set<number>(), uts: new Set<number>() };
  for (const i of indices) {
    const f = nodeNsFiles(lab, nodeName(i), netnsName(lab, i));
    const add = async (set: Set<number>, file: string): Promise<void> => {
      if (!(await isNsMount(file))) return;
      const ino = await nsInode(file);
      if (ino !== undefined) set.add(ino);
    };
    await Promise.all([add(sel.net, f.net), add(sel.pid, f.pid), add(sel.mnt, f.mnt), add(sel.uts, f.uts)]);
  }
  return sel;
}

/** Stop every process of nodes `indices` by PID: PID 1 of each node first (the kernel then ends the rest), then any stragglers. */
export async function killNodeProcesses(lab: string, indices: readonly number[]): Promise<number[]> {
  const inits: number[] = [];
  for (const i of indices) {
    const text = await readFile(initPidFile(lab, nodeName(i)), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 1) inits.push(pid);
  }
  const sel = await labNamespaces(lab, indices);
  // an init.pid may be stale and name an unrelated process: only kill it if it is in a node's PID namespace
  const inNodes = new Set(await pidsInNamespaces(sel));
  await killAndWait(inits.filter((p) => inNodes.has(p)), 'SIGKILL', 5000);
  let left: number[] = [];
  for (let round = 0; round < 3; round++) {
    const pids = await pidsInNamespaces(sel);
    if (pids.length === 0) return [];
    left = await killAndWait(pids, 'SIGKILL', 5000);
  }
  return left;
}

/** Remove one node's kernel objects (processes, ns files, netns, veth); its directory stays. */
export async function removeNodeObjects(lab: string, index: number): Promise<string[]> {
  const problems: string[] = [];
  const left = await killNodeProcesses(lab, [index]);
  if (left.length) problems.push(`processes still alive: ${left.join(' ')}`);
  problems.push(...(await releaseNodeNsFiles(nodeNsFiles(lab, nodeName(index), netnsName(lab, index)))));
  if ((await listNetns()).includes(netnsName(lab, index))) {
    const err = await deleteNetns(netnsName(lab, index));
    if (err) problems.push(`ip netns del ${netnsName(lab, index)}: ${err}`);
  }
  await deleteLink(vethName(lab, index));
  return problems;
}

/** What of lab `name` still exists on this machine (for `down` to verify and tests to assert). */
export async function labRemnants(name: string): Promise<LabRemnants> {
  const p = labPaths(name);
  const q = qnetdNames(name);
  const netns = (await listNetns()).filter((n) => netnsIndex(name, n) !== undefined || n === q.netns);
  const links = (await listLinks()).map((l) => l.ifname).filter((l) => l === bridgeName(name) || vethIndex(name, l) !== undefined || l === q.veth);
  const mounts = await mountPointsWhere((m) => isUnder(m.mountPoint, p.root) || (isUnder(m.mountPoint, '/run/netns') && netnsIndex(name, path.basename(m.mountPoint)) !== undefined));
  const indices = [...new Set([...(await nodeIndicesOnDisk(name)), ...netns.map((n) => netnsIndex(name, n) as number)])];
  const pids = [...(await pidsInNamespaces(await labNamespaces(name, indices))), ...(await qnetdPids(name, q))];
  return { netns, links, mounts, pids };
}

/** Remove lab `name` completely: processes, ssh masters, mounts, namespaces, links and (unless kept) its directory. */
export async function labDown(name: string, log: (line: string) => void, opts: LabDownOptions = {}): Promise<void> {
  validateLabName(name);
  const p = labPaths(name);
  const state = await readLabState(name).catch(() => undefined);
  const netnsNow = (await listNetns()).filter((n) => netnsIndex(name, n) !== undefined);
  const linksNow = (await listLinks()).map((l) => l.ifname);
  const indices = [
    ...new Set([
      ...(state?.nodes.map((n) => n.index) ?? []),
      ...netnsNow.map((n) => netnsIndex(name, n) as number),
      ...linksNow.map((l) => vethIndex(name, l)).filter((i): i is number => i !== undefined),
      ...(await nodeIndicesOnDisk(name)),
    ]),
  ].sort((a, b) => a - b);
  const qnetdLeft = (await listNetns()).includes(qnetdNames(name).netns) || linksNow.includes(qnetdNames(name).veth);
  const exists = indices.length > 0 || qnetdLeft || linksNow.includes(bridgeName(name)) || (await stat(p.root).then(() => true, () => false));
  if (!exists) {
    log(`lab '${name}' does not exist; nothing to remove`);
    return;
  }
  const rootExists = await stat(p.root).then(() => true, () => false);
  const work = (): Promise<void> => removeLab(name, indices, linksNow, log, opts);
  await (rootExists ? withLabLock(p.root, work) : work());
}

async function removeLab(name: string, indices: readonly number[], linksNow: readonly string[], log: (line: string) => void, opts: LabDownOptions): Promise<void> {
  const p = labPaths(name);
  const closed = await closeMasters(await knownAddresses(name, indices));
  if (closed) log(`closed ${closed} ssh master connection(s)`);
  const left = await killNodeProcesses(name, indices);
  if (left.length) throw new Error(`lab '${name}': processes did not exit: ${left.join(' ')}`);
  log(`stopped the processes of ${indices.length} node(s)`);
  // the QNetd host of `up --qdevice`, by PID through its namespaces; a no-op when the lab has none
  const problems: string[] = await removeQnetdObjects(name, qnetdNames(name));
  for (const i of indices) problems.push(...(await removeNodeObjects(name, i)));
  for (const l of linksNow) if (vethIndex(name, l) !== undefined) await deleteLink(l);
  if (linksNow.includes(bridgeName(name))) await deleteLink(bridgeName(name));
  problems.push(...(await unmountAll(await mountPointsWhere((m) => isUnder(m.mountPoint, p.root)))));
  const rest = await labRemnants(name);
  const leftovers = [...rest.netns, ...rest.links, ...rest.mounts, ...rest.pids.map(String)];
  if (leftovers.length || problems.length) {
    throw new Error(`lab '${name}' was not fully removed: ${[...problems, ...leftovers].join('; ')}`);
  }
  log(`removed namespaces, links and mounts of lab '${name}'`);
  if (!opts.keepFiles) {
    // nothing may be mounted below the root any more (checked above), so rm cannot reach outside it
    await rm(p.root, { recursive: true, force: true });
    log(`removed ${p.root}`);
  }
}
