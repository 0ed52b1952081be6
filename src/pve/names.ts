/** Naming rules of Proxmox VE (reference §1.2), checked before any node is touched. */
import net from 'node:net';
// values are echoed in messages: control characters shown escaped, long ones cut
import { excerptOf } from './parse/errors.js';

const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** Why a cluster name is invalid, or undefined when it is valid. */
export function clusterNameProblem(name: string): string | undefined {
  if (!NODE_NAME.test(name)) {
    return `cluster name '${excerptOf(name)}' is invalid: use letters, digits and hyphens, starting and ending with a letter or digit (e.g. 'prod-1')`;
  }
  if (name.length > 15) return `cluster name '${excerptOf(name)}' is ${name.length} characters long; Proxmox allows at most 15`;
  return undefined;
}

/** Why a node name is invalid (hostname rules), or undefined when it is valid. */
export function nodeNameProblem(name: string): string | undefined {
  if (!NODE_NAME.test(name)) {
    return `node name '${excerptOf(name)}' is invalid: a node name is a short hostname of letters, digits and hyphens, starting and ending with a letter or digit (e.g. 'pve1')`;
  }
  if (name.length > 63) return `node name '${excerptOf(name)}' is longer than 63 characters`;
  return undefined;
}

// PVE sets no length limit on these ids; no real one comes near it, and a longer one is not passed on
const MAX_ID_LENGTH = 255;
// PVE's pve-storage-id format
const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
// PVE's pve-configid format (HA group and rule ids)
const CONFIG_ID = /^[a-z][a-z0-9_-]+$/i;

/** True for a storage ID in PVE's format (letters, digits, '-', '_', '.'; a letter first). */
export function isStorageId(id: string): boolean {
  return id.length <= MAX_ID_LENGTH && STORAGE_ID.test(id);
}

/** True for an HA group or rule id in PVE's format (letters, digits, '-', '_'; a letter first; two or more). */
export function isConfigId(id: string): boolean {
  return id.length <= MAX_ID_LENGTH && CONFIG_ID.test(id);
}

/** Why a local file path from the user is unusable (control characters, over PATH_MAX), or undefined. */
export function localPathProblem(p: string): string | undefined {
  if (p.trim() === '') return 'the path is empty';
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'the path contains control characters (a newline, a tab, a NUL byte, an escape)';
  if (p.length > 4096) return `the path is ${p.length} characters long; Linux allows 4096`;
  return undefined;
}

/** True for a literal IPv4 or IPv6 address. */
export function isIpAddress(value: string): boolean {
  return net.isIP(value) !== 0;
}

/** Why an SSH host value is unsafe or malformed, or undefined when acceptable. */
export function hostProblem(host: string): string | undefined {
  if (host === '') return 'host is empty';
  // a leading dash would be read by ssh as an option
  if (host.startsWith('-')) return `host '${excerptOf(host)}' starts with '-'`;
  if (host.length > 253) return `host '${host.slice(0, 20)}…' is ${host.length} characters long; a host name has at most 253`;
  if (!/^[A-Za-z0-9._:%\[\]-]+$/.test(host)) return `host '${excerptOf(host)}' contains characters that are not allowed in a host name or address`;
  return undefined;
}

/** `VM 100` / `CT 101`, as PVE names guests. */
export function guestLabel(g: { type: 'qemu' | 'lxc'; vmid: number }): string {
  return `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}`;
}

/** States `ha-manager add|set --state` takes (`enabled` is PVE's legacy spelling of `started`). */
export const HA_STATES = ['started', 'stopped', 'disabled', 'ignored'] as const;
/** A requested HA state. */
export type HaState = (typeof HA_STATES)[number];
