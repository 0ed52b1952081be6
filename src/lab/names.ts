/** Names and addresses of a lab: validation and the naming scheme of its kernel objects. */
import { DEFAULT_LAB } from './layout.js';
import { UsageError } from '../errors.js';

/** Most nodes one lab may have (addresses .11–.26 of its /24). */
export const MAX_NODES = 16;

/** The subnet of the default lab; other labs get one derived from their name. */
export const DEFAULT_SUBNET = '10.77.0.0/24';

/** Suffix of node FQDNs in /etc/hosts (`<ip> <name>.lab.pvx <name>`, like the PVE installer). */
export const LAB_DOMAIN = 'lab.pvx';

// Lab names end up inside interface names (15 characters at most on Linux): `pvxbr-<name>`
// and `pvx-<name>-<I>`. No hyphens, so that one lab's prefix can never match another lab's names.
const LAB_NAME = /^[a-z][a-z0-9]{0,7}$/;

/** Throw a UsageError unless `name` is a valid lab name (a-z, 0-9, starts with a letter, ≤ 8). */
export function validateLabName(name: string): string {
  if (!LAB_NAME.test(name)) {
    throw new UsageError(`invalid lab name '${name}'`, {
      hint: 'use 1 to 8 lower-case letters or digits, starting with a letter (e.g. pvx, e2e1)',
    });
  }
  return name;
}

/** Throw a UsageError unless `n` is a whole number of nodes from 1 to MAX_NODES. */
export function validateNodeCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NODES) {
    throw new UsageError(`invalid number of nodes: ${n}`, { hint: `a lab has 1 to ${MAX_NODES} nodes` });
  }
  return n;
}

/** A lab /24 inside 10.0.0.0/8: its first three octets. */
export interface LabSubnet {
  /** e.g. "10.77.0" */
  prefix: string;
  /** e.g. "10.77.0.0/24" */
  cidr: string;
}

/** Parse `10.X.Y.0/24` (or `10.X.Y.0`); anything else is a UsageError. */
export function parseSubnet(text: string): LabSubnet {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  const bad = (why: string): never => {
    throw new UsageError(`invalid lab subnet '${text}': ${why}`, { hint: 'give a /24 inside 10.0.0.0/8, e.g. 10.77.5.0/24' });
  };
  if (!m) return bad('not an IPv4 network');
  const octets = [m[1], m[2], m[3], m[4]].map((o) => Number(o));
  if (octets.some((o) => o > 255)) bad('octet out of range');
  if (octets[0] !== 10) bad('must be inside 10.0.0.0/8 (the lab never uses other ranges)');
  if (m[5] !== undefined && m[5] !== '24') bad('only /24 networks are supported');
  if (octets[3] !== 0) bad('the host part must be 0');
  const prefix = `${octets[0]}.${octets[1]}.${octets[2]}`;
  return { prefix, cidr: `${prefix}.0/24` };
}

/** The subnet a lab uses when none is given: 10.77.0.0/24 for the default lab, else one from its name. */
export function defaultSubnet(name: string): LabSubnet {
  if (name === DEFAULT_LAB) return parseSubnet(DEFAULT_SUBNET);
  // FNV-1a: a stable third octet per name (1–254), so two labs rarely collide; a clash is detected at up
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return parseSubnet(`10.77.${1 + (h % 254)}.0/24`);
}

/** PVE node name of node `index` (1-based). */
export function nodeName(index: number): string {
  return `pve${index}`;
}

/** 1-based index of a node name of this lab, or undefined. */
export function nodeIndex(name: string): number | undefined {
  const m = /^pve([1-9]\d?)$/.exec(name);
  const i = m ? Number(m[1]) : NaN;
  return Number.isInteger(i) && i >= 1 && i <= MAX_NODES ? i : undefined;
}

/** Address of node `index` in the subnet: `<prefix>.(10+index)`. */
export function nodeAddress(subnet: LabSubnet, index: number): string {
  return `${subnet.prefix}.${10 + index}`;
}

/** The host's own address on the lab bridge. */
export function hostAddress(subnet: LabSubnet): string {
  return `${subnet.prefix}.1`;
}

/** The lab's bridge on the host (≤ 14 characters). */
export function bridgeName(lab: string): string {
  return `pvxbr-${lab}`;
}

/** Host side of node `index`'s veth pair (≤ 15 characters); the node side is `eth0`. */
export function vethName(lab: string, index: number): string {
  return `pvx-${lab}-${index}`;
}

/** The node's network namespace (`ip netns` name). */
export function netnsName(lab: string, index: number): string {
  return `pvx-${lab}-pve${index}`;
}

/** Index of a netns name of this lab, or undefined (for scans when lab.json is gone). */
export function netnsIndex(lab: string, netns: string): number | undefined {
  const prefix = `pvx-${lab}-`;
  return netns.startsWith(prefix) ? nodeIndex(netns.slice(prefix.length)) : undefined;
}

/** Index of a veth name of this lab, or undefined. */
export function vethIndex(lab: string, link: string): number | undefined {
  const m = new RegExp(`^pvx-${lab}-([1-9]\\d?)$`).exec(link);
  const i = m ? Number(m[1]) : NaN;
  return i >= 1 && i <= MAX_NODES ? i : undefined;
}

/** Validate a simulated PVE version such as 8.4.11 or 9.1.7. */
export function validatePveVersion(v: string): string {
  if (!/^[0-9]\d?\.\d{1,2}(?:\.\d{1,3})?$/.test(v)) {
    throw new UsageError(`invalid PVE version '${v}'`, { hint: 'give major.minor.patch, e.g. 8.4.11 or 9.1.7' });
  }
  return v;
}

/** One PVE version per node from `--pve a[,b…]`: one value for all nodes, or exactly one per node. */
export function pveVersionsFor(count: number, given: readonly string[] | undefined, fallback: readonly string[]): string[] {
  if (!given || given.length === 0) {
    return Array.from({ length: count }, (_, i) => fallback[i] ?? fallback[fallback.length - 1] ?? DEFAULT_PVE_VERSION);
  }
  given.forEach(validatePveVersion);
  if (given.length === 1) return Array.from({ length: count }, () => given[0] as string);
  if (given.length !== count) {
    throw new UsageError(`${given.length} PVE versions given for ${count} nodes`, {
      hint: 'give one version for all nodes, or exactly one per node',
    });
  }
  return [...given];
}

/** pve-manager version of a fresh lab node. */
export const DEFAULT_PVE_VERSION = '8.4.11';
