/** `lab up`: build a lab, or bring an existing one back to its defined state (idempotent). */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PreflightError, UsageError } from '../errors.js';
import { ensureDaemons } from './daemons.js';
import { setBlockedUdp } from './firewall.js';
import { killNodeProcesses, removeNodeObjects } from './down.js';
import type { RunningNode } from './exec.js';
import { planGuests, seedGuests } from './guests.js';
import { checkLabHost } from './host-check.js';
import { inventoryYaml } from './inventory.js';
import { DEFAULT_LAB, labPaths, type LabPaths } from './layout.js';
import { withLabLock } from './lock.js';
import {
  bridgeName,
  defaultSubnet,
  hostAddress,
  netnsName,
  nodeAddress,
  nodeName,
  parseSubnet,
  pveVersionsFor,
  validateLabName,
  validateNodeCount,
  vethName,
  DEFAULT_PVE_VERSION,
  type LabSubnet,
} from './names.js';
import { ensureBridge, ensureNodeLink, listLinks, listNetns, overlappingRoutes } from './net.js';
import { clientKnownHosts, mergeAuthorizedKeys, nodeKnownHosts, type HostKeys, type NodeRef } from './node-files.js';
import { writeNodeFile } from './node-fs.js';
import { ensureNsDirPrivate, liveInitPid, nodeNsFiles } from './node-ns.js';
import { appDirectory, bootNode, hideHostCorosyncConf, prepareNodeDirs, rebindApp, writeNodeFiles, type FilesChanged } from './node-setup.js';
import { ensureQnetdHost, qnetdRef, qnetdState, type BuiltQnetd, type QnetdState } from './qnetd.js';
import { SIM_TOOLS } from './sim/registry.js';
import { ensureClientKey, ensureHostKeys, ensureRootKey, ensureRootPassword, readHostKeys, readRootFile, writeRootFile } from './ssh-material.js';
import { closeMasters } from './ssh-masters.js';
import { readLabState, readNodeFaults, writeLabState, writeNodeFaults, type LabState, type NodeState } from './state.js';
import type { UnitId } from './units.js';
import { validateWatchdogTimeout } from './watchdog.js';

/** Options of labUp; anything omitted keeps what the lab has (or the default for a new lab). */
export interface LabUpOptions {
  name?: string;
  /** 1 to 16; default 3 */
  nodes?: number;
  /** one PVE version for all nodes, or one per node; default 8.4.11 */
  pveVersions?: string[];
  /** a /24 inside 10.0.0.0/8; default 10.77.0.0/24 for lab 'pvx' */
  subnet?: string;
  /** seed this many VM/CT configs over the nodes */
  guests?: number;
  /** add a QNetd host (sshd + corosync-qnetd) for `pvecm qdevice setup` */
  qdevice?: boolean;
  /** seconds an active HA LRM may go without updating its watchdog before its node is fenced; default 60 */
  watchdogTimeout?: number;
}

/** What `lab up` built. */
export interface LabInfo {
  name: string;
  inventory: string;
  rootPasswordFile: string;
  nodes: Array<{ name: string; address: string }>;
  /** the QNetd host, when the lab has one */
  qnetd?: { name: string; address: string };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Resolved {
  name: string;
  paths: LabPaths;
  subnet: LabSubnet;
  nodes: NodeState[];
  prev: LabState | undefined;
  faketimeLib: string;
  qnetd?: QnetdState;
}

async function resolveOptions(opts: LabUpOptions): Promise<Resolved> {
  const name = validateLabName(opts.name ?? DEFAULT_LAB);
  const host = await checkLabHost();
  if (!host.ok || !host.faketimeLib) {
    const why = [
      ...(host.isLinux ? [] : ['the lab needs Linux']),
      ...(host.isRoot ? [] : ['the lab needs root (namespaces, mounts, bridges)']),
      ...host.missing.map((m) => `missing ${m.what} (package ${m.package})`),
    ];
    const pkgs = [...new Set(host.missing.map((m) => m.package))];
    throw new PreflightError(`this machine cannot run a lab: ${why.join('; ')}`, {
      hint: pkgs.length ? `install them: pvx lab up --install-deps (apt-get install ${pkgs.join(' ')})` : 'run as root on Linux',
      details: { missing: host.missing },
    });
  }
  const paths = labPaths(name);
  const prev = await readLabState(name);
  const subnet = opts.subnet ? parseSubnet(opts.subnet) : prev ? parseSubnet(prev.subnet) : defaultSubnet(name);
  if (prev && prev.subnet !== subnet.cidr) {
    throw new UsageError(`lab '${name}' already uses ${prev.subnet}`, { hint: `remove it first (pvx lab down) to move it to ${subnet.cidr}` });
  }
  const count = validateNodeCount(opts.nodes ?? prev?.nodes.length ?? 3);
  if (opts.guests !== undefined && (!Number.isInteger(opts.guests) || opts.guests < 0 || opts.guests > 900)) {
    throw new UsageError(`invalid number of guests: ${opts.guests}`, { hint: 'give 0 to 900' });
  }
  if (opts.watchdogTimeout !== undefined) validateWatchdogTimeout(opts.watchdogTimeout);
  const versions = pveVersionsFor(count, opts.pveVersions, prev ? prev.nodes.map((n) => n.pveVersion) : [DEFAULT_PVE_VERSION]);
  const nodes = versions.map((pveVersion, i): NodeState => {
    const index = i + 1;
    return { name: nodeName(index), index, address: nodeAddress(subnet, index), netns: netnsName(name, index), veth: vethName(name, index), pveVersion };
  });
  const qdevice = opts.qdevice ?? prev?.qnetd !== undefined;
  return { name, paths, subnet, nodes, prev, faketimeLib: host.faketimeLib, ...(qdevice ? { qnetd: qnetdState(name, subnet) } : {}) };
}

async function checkSubnetFree(r: Resolved, log: (line: string) => void): Promise<void> {
  const { inside, covering } = await overlappingRoutes(r.subnet, bridgeName(r.name));
  if (inside.length) {
    throw new UsageError(`subnet ${r.subnet.cidr} is already routed on this machine (${inside.join(', ')})`, {
      hint: 'choose another lab subnet inside 10.0.0.0/8',
    });
  }
  if (covering.length) log(`note: ${r.subnet.cidr} lies inside ${covering.join(', ')}; the lab bridge takes precedence for it here`);
}

/** Per-node result of the build phase. */
interface BuiltNode {
  state: NodeState;
  running: RunningNode;
  booted: boolean;
  changed: FilesChanged;
  rootKey: string;
  hostKeys: string[];
}

async function buildNode(r: Resolved, node: NodeState, links: Awaited<ReturnType<typeof listLinks>>, netns: string[], log: (l: string) => void): Promise<BuiltNode> {
  const files = nodeNsFiles(r.name, node.name, node.netns);
  const nodeDir = r.paths.nodeDir(node.name);
  if (await ensureNodeLink(r.name, node.index, node.address, links, netns)) log(`${node.name}: netns ${node.netns}, ${node.address} on ${bridgeName(r.name)}`);
  await prepareNodeDirs(nodeDir);
  const plan = { lab: r.name, paths: r.paths, node, files, appDir: appDirectory() };
  let initPid = await liveInitPid(r.name, node.name, files);
  const moved = r.prev !== undefined && (r.prev.appDir !== plan.appDir || r.prev.nodeBinary !== process.execPath);
  if (initPid !== undefined && moved) {
    if (await rebindApp(plan)) {
      log(`${node.name}: now runs the pvx tools of ${plan.appDir}`);
    } else {
      // the new installation is not visible inside the node: reboot it onto the new one
      log(`${node.name}: rebooting onto the pvx installation at ${plan.appDir}`);
      initPid = undefined;
    }
  }
  const booted = initPid === undefined;
  if (initPid === undefined) {
    // a node whose PID 1 died (pitfall 4) is rebuilt like a reboot: its dirs and overlay stay
    await killNodeProcesses(r.name, [node.index]);
    initPid = await bootNode(plan);
    log(`${node.name}: booted (PID 1 is ${initPid} on this machine)`);
  }
  await hideHostCorosyncConf(initPid, nodeDir);
  const running: RunningNode = { lab: r.name, name: node.name, files, initPid };
  const faults = await readNodeFaults(r.name, node.name);
  if (faults.blockUdp?.length) await setBlockedUdp(running, []);
  if (Object.keys(faults).length) await writeNodeFaults(r.name, node.name, {});
  const changed = await writeNodeFiles(initPid, {
    lab: r.name,
    paths: r.paths,
    subnet: r.subnet,
    nodes: r.nodes,
    node,
    faults: {},
    faketimeLib: r.faketimeLib,
    tools: Object.keys(SIM_TOOLS),
  });
  if (await ensureHostKeys(initPid, nodeDir, node.name)) log(`${node.name}: generated its ssh host keys`);
  const rootKey = await ensureRootKey(nodeDir, node.name);
  return { state: node, running, booted, changed, rootKey, hostKeys: await readHostKeys(initPid) };
}

async function writeTrust(r: Resolved, built: readonly BuiltNode[], clientKey: string, qnetd?: BuiltQnetd): Promise<void> {
  const all: HostKeys[] = built.map((b) => ({ node: { name: b.state.name, address: b.state.address }, keys: b.hostKeys }));
  if (r.qnetd && qnetd) all.push({ node: qnetdRef(r.qnetd), keys: qnetd.hostKeys });
  const keys = [...built.map((b) => b.rootKey), clientKey];
  const knownHosts = nodeKnownHosts(all);
  if (r.qnetd && qnetd) {
    // what ssh-copy-id with the root password would leave there: the nodes' root keys (and the lab's client key)
    const qDir = r.paths.nodeDir(r.qnetd.name);
    await writeRootFile(qDir, '.ssh/authorized_keys', mergeAuthorizedKeys(await readRootFile(qDir, '.ssh/authorized_keys'), keys), 0o600);
  }
  await Promise.all(
    built.map(async (b) => {
      const nodeDir = r.paths.nodeDir(b.state.name);
      const existing = await readRootFile(nodeDir, '.ssh/authorized_keys');
      await writeRootFile(nodeDir, '.ssh/authorized_keys', mergeAuthorizedKeys(existing, keys), 0o600);
      await writeNodeFile(b.running.initPid, '/etc/ssh/ssh_known_hosts', knownHosts);
    }),
  );
  await writeFileIfChanged(r.paths.knownHosts, clientKnownHosts(all), 0o644);
}

async function writeFileIfChanged(file: string, content: string, mode: number): Promise<void> {
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old !== content) await writeFile(file, content, { mode });
}

function labState(r: Resolved, opts: LabUpOptions): LabState {
  const now = new Date().toISOString();
  const state: LabState = {
    version: 1,
    name: r.name,
    subnet: r.subnet.cidr,
    bridge: bridgeName(r.name),
    hostAddress: hostAddress(r.subnet),
    appDir: appDirectory(),
    nodeBinary: process.execPath,
    nodes: r.nodes,
    createdAt: r.prev?.createdAt ?? now,
    updatedAt: now,
  };
  const guests = opts.guests ?? r.prev?.guests;
  if (guests !== undefined) state.guests = guests;
  if (r.qnetd) state.qnetd = r.qnetd;
  const watchdogTimeout = opts.watchdogTimeout ?? r.prev?.watchdogTimeout;
  if (watchdogTimeout !== undefined) state.watchdogTimeout = watchdogTimeout;
  return state;
}

/** Build lab `opts.name` or repair it back to its defined state: nodes, network, keys, daemons, inventory. */
export async function labUp(opts: LabUpOptions, log: (line: string) => void): Promise<LabInfo> {
  const started = Date.now();
  const r = await resolveOptions(opts);
  await checkSubnetFree(r, log);
  await mkdir(r.paths.nsDir, { recursive: true });
  await mkdir(r.paths.app, { recursive: true });
  return withLabLock(r.paths.root, async () => {
    await ensureNsDirPrivate(r.paths.nsDir);
    for (const extra of r.prev?.nodes.filter((n) => n.index > r.nodes.length) ?? []) {
      const problems = await removeNodeObjects(r.name, extra.index);
      if (problems.length) throw new Error(`removing ${extra.name}: ${problems.join('; ')}`);
      await rm(r.paths.nodeDir(extra.name), { recursive: true, force: true });
      for (const ext of ['mnt', 'uts', 'pid']) await rm(path.join(r.paths.nsDir, `${extra.name}.${ext}`), { force: true });
      log(`${extra.name}: removed (the lab now has ${r.nodes.length} nodes)`);
    }
    // recorded before anything is built, so status/down know a half-built lab's shape
    await writeLabState(labState(r, opts));
    const links = await listLinks();
    if (await ensureBridge(r.name, r.subnet, links)) log(`bridge ${bridgeName(r.name)} with ${hostAddress(r.subnet)}/24`);
    const netns = await listNetns();
    const built = await mapLimit(r.nodes, 8, (n) => buildNode(r, n, links, netns, log));
    const qnetd = r.qnetd
      ? await ensureQnetdHost(
          { lab: r.name, paths: r.paths, qnetd: r.qnetd, bridge: bridgeName(r.name), nodes: r.nodes.map((n) => ({ name: n.name, address: n.address })), appDir: appDirectory() },
          links,
          netns,
          log,
        )
      : undefined;
    const clientKey = await ensureClientKey(r.paths.clientKey, r.name);
    await ensureRootPassword(r.paths.rootPassword);
    await writeTrust(r, built, clientKey, qnetd);
    const refs: NodeRef[] = r.nodes.map((n) => ({ name: n.name, address: n.address }));
    await writeFileIfChanged(r.paths.inventory, inventoryYaml({ lab: r.name, clientKey: r.paths.clientKey, knownHosts: r.paths.knownHosts, nodes: refs }), 0o644);
    const pveCluster = 'pmxcfs' in SIM_TOOLS;
    await mapLimit(built, 8, async (b) => {
      const restart: UnitId[] = [...(b.changed.chrony ? (['chrony'] as const) : []), ...(b.changed.sshd ? (['ssh'] as const) : [])];
      const acted = await ensureDaemons(b.running, { restart, pveCluster });
      if (acted.length) log(`${b.state.name}: ${acted.join(', ')} started`);
    });
    if (!pveCluster) log('note: pve-cluster not started: this build has no simulated pmxcfs');
    const envChanged = built.filter((b) => b.changed.environment && !b.booted).map((b) => b.state.address);
    if (envChanged.length) await closeMasters(envChanged);
    await writeLabState(labState(r, opts));
    if (opts.guests) {
      if (!('qm' in SIM_TOOLS && 'pct' in SIM_TOOLS)) throw new Error('cannot seed guests: this pvx build simulates no qm/pct yet');
      const running = new Map(built.map((b) => [b.state.name, b.running]));
      await seedGuests(planGuests(opts.guests, r.nodes.map((n) => n.name)), running, log);
    }
    const withQnetd = r.qnetd ? ` and a QNetd host at ${r.qnetd.address}` : '';
    log(`lab '${r.name}' is up: ${r.nodes.length} node(s)${withQnetd} in ${((Date.now() - started) / 1000).toFixed(1)} s; inventory ${r.paths.inventory}`);
    return { name: r.name, inventory: r.paths.inventory, rootPasswordFile: r.paths.rootPassword, nodes: refs, ...(r.qnetd ? { qnetd: qnetdRef(r.qnetd) } : {}) };
  });
}
