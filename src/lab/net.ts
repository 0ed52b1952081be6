/** The lab network on the host: one bridge, one netns and veth pair per node (iproute2). */
import { readdir } from 'node:fs/promises';
import { runProcess, type ProcessResult } from './process.js';
import { bridgeName, hostAddress, netnsName, vethName, type LabSubnet } from './names.js';

/** A link of `ip -j link show`. */
export interface LinkInfo {
  ifname: string;
  flags: string[];
  master?: string;
  operstate?: string;
}

async function ip(args: readonly string[], input?: string): Promise<ProcessResult> {
  return runProcess('ip', args, input !== undefined ? { input } : {});
}

async function ipOk(args: readonly string[], input?: string): Promise<string> {
  const r = await ip(args, input);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
}

/** Every link of the host's network namespace. */
export async function listLinks(): Promise<LinkInfo[]> {
  return JSON.parse((await ipOk(['-j', 'link', 'show'])) || '[]') as LinkInfo[];
}

/** Names under /run/netns (named network namespaces). */
export async function listNetns(): Promise<string[]> {
  try {
    return await readdir('/run/netns');
  } catch {
    return [];
  }
}

/** Path of a named netns file. */
export function netnsPath(netns: string): string {
  return `/run/netns/${netns}`;
}

interface RouteInfo {
  dst: string;
  dev?: string;
}

function toInt(addr: string): number {
  return addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Routes of the host that overlap the lab subnet and are not the lab bridge's own. */
export async function overlappingRoutes(subnet: LabSubnet, bridge: string): Promise<{ inside: string[]; covering: string[] }> {
  const routes = JSON.parse((await ipOk(['-j', '-4', 'route', 'show', 'table', 'all'])) || '[]') as RouteInfo[];
  const lo = toInt(`${subnet.prefix}.0`);
  const hi = lo + 255;
  const inside: string[] = [];
  const covering: string[] = [];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default' || r.dev === bridge || r.dev === 'lo') continue;
    const [net, lenText] = r.dst.split('/');
    if (!net || !/^\d+\.\d+\.\d+\.\d+$/.test(net)) continue;
    const len = lenText === undefined ? 32 : Number(lenText);
    const start = toInt(net);
    const end = start + 2 ** (32 - len) - 1;
    if (end < lo || start > hi) continue;
    (len >= 24 ? inside : covering).push(`${r.dst}${r.dev ? ` dev ${r.dev}` : ''}`);
  }
  return { inside, covering };
}

/** Create (or repair) the lab bridge with the host's address `<prefix>.1/24`. */
export async function ensureBridge(lab: string, subnet: LabSubnet, links: readonly LinkInfo[]): Promise<boolean> {
  const br = bridgeName(lab);
  const created = !links.some((l) => l.ifname === br);
  if (created) await ipOk(['link', 'add', br, 'type', 'bridge']);
  // bridged frames must not traverse the host's own iptables FORWARD rules (br_netfilter)
  await ip(['link', 'set', br, 'type', 'bridge', 'nf_call_iptables', '0', 'nf_call_ip6tables', '0', 'nf_call_arptables', '0']);
  await ipOk(['addr', 'replace', `${hostAddress(subnet)}/24`, 'dev', br]);
  await ipOk(['link', 'set', br, 'up']);
  return created;
}

/** Create (or repair) node `index`'s netns and veth pair and address its eth0. Returns true if anything was created. */
export async function ensureNodeLink(
  lab: string,
  index: number,
  address: string,
  links: readonly LinkInfo[],
  netnsList: readonly string[],
): Promise<boolean> {
  return ensureHostLink(netnsName(lab, index), vethName(lab, index), bridgeName(lab), address, links, netnsList);
}

/** Create (or repair) netns `ns` with its veth `veth` on bridge `br` and address its eth0. Returns true if anything was created. */
export async function ensureHostLink(
  ns: string,
  veth: string,
  br: string,
  address: string,
  links: readonly LinkInfo[],
  netnsList: readonly string[],
): Promise<boolean> {
  let created = false;
  const hostSide = links.find((l) => l.ifname === veth);
  if (!netnsList.includes(ns)) {
    // a veth left from an earlier netns would lead nowhere
    if (hostSide) await ip(['link', 'del', veth]);
    await ipOk(['netns', 'add', ns]);
    created = true;
  }
  if (created || !hostSide) {
    await ipOk(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    created = true;
  }
  if (created || hostSide?.master !== br) await ipOk(['link', 'set', veth, 'master', br]);
  await ipOk(['link', 'set', veth, 'up']);
  await ipOk(['-n', ns, '-batch', '-'], `addr replace ${address}/24 dev eth0\nlink set eth0 up\nlink set lo up\n`);
  return created;
}

/**
 * Take the host side of a node's veth up or down (the `down` fault: the node is cut off, still running).
 * Up also raises the node's own side, which the node's HA watchdog takes down when it fences the node.
 */
export async function setNodeLink(lab: string, index: number, up: boolean): Promise<void> {
  await ipOk(['link', 'set', vethName(lab, index), up ? 'up' : 'down']);
  if (up) await ipOk(['-n', netnsName(lab, index), 'link', 'set', 'eth0', 'up']);
}

/** Delete a link if present. */
export async function deleteLink(name: string): Promise<void> {
  await ip(['link', 'del', name]);
}

/** Delete a named netns if present. */
export async function deleteNetns(name: string): Promise<string | undefined> {
  const r = await ip(['netns', 'del', name]);
  return r.exitCode === 0 ? undefined : r.stderr.trim();
}
