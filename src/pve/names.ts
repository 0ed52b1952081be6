/** Naming rules of Proxmox VE (reference §1.2), checked before any node is touched. */
import net from 'node:net';

const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** Why a cluster name is invalid, or undefined when it is valid. */
export function clusterNameProblem(name: string): string | undefined {
  if (!NODE_NAME.test(name)) {
    return `cluster name '${name}' is invalid: use letters, digits and hyphens, starting and ending with a letter or digit (e.g. 'prod-1')`;
  }
  if (name.length > 15) return `cluster name '${name}' is ${name.length} characters long; Proxmox allows at most 15`;
  return undefined;
}

/** Why a node name is invalid (hostname rules), or undefined when it is valid. */
export function nodeNameProblem(name: string): string | undefined {
  if (!NODE_NAME.test(name)) {
    return `node name '${name}' is invalid: a node name is a short hostname of letters, digits and hyphens, starting and ending with a letter or digit (e.g. 'pve1')`;
  }
  if (name.length > 63) return `node name '${name}' is longer than 63 characters`;
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
  if (host.startsWith('-')) return `host '${host}' starts with '-'`;
  if (!/^[A-Za-z0-9._:%\[\]-]+$/.test(host)) return `host '${host}' contains characters that are not allowed in a host name or address`;
  return undefined;
}
