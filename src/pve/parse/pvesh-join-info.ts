/** `pvesh get /cluster/config/join --output-format json` (reference §1.7) and certificate fingerprints. */
import { z } from 'zod';
import { clusterNameProblem, hostProblem, isIpAddress, nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { parseJsonText, validate, zInt } from './json.js';

const TOOL = 'pvesh get /cluster/config/join';

/** One cluster node as the join information lists it. */
export interface JoinInfoNode {
  name: string;
  nodeid: number;
  quorumVotes: number;
  /** corosync link addresses keyed `link0`..`link7` (from `ringN_addr`/`linkN_addr`) */
  addresses: Record<string, string>;
  /** the IP the node name resolves to */
  pveAddr: string;
  /** SHA-256 fingerprint of the node's API certificate, as `pvecm add --fingerprint` expects it */
  fingerprint: string;
}

/** What a joining node needs to know about the cluster. */
export interface JoinInfo {
  configDigest: string;
  preferredNode: string;
  clusterName: string;
  configVersion: number;
  /** corosync link numbers in use, ascending */
  links: number[];
  nodes: JoinInfoNode[];
}

const FINGERPRINT = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

/** True for a SHA-256 fingerprint in colon-hex form (32 bytes), the only form pvecm accepts. */
export function isValidFingerprint(fp: string): boolean {
  return typeof fp === 'string' && FINGERPRINT.test(fp);
}

/** Upper-case form, which is how PVE prints fingerprints and compares them. */
export function normalizeFingerprint(fp: string): string {
  return fp.trim().toUpperCase();
}

/** True for the error of /cluster/config/join on a node that is not in a cluster. */
export function isNotInClusterError(stderr: string): boolean {
  return typeof stderr === 'string' && /node is not in a cluster, no join info available!/.test(stderr);
}

const LINK_KEY = /^(?:ring|link)(\d)_addr$/;

const scalar = z.union([z.string(), z.number()]).transform(String);

// values that end up in `pvecm add` arguments or in messages: only what PVE itself would write passes
const nodeName = z.string().refine((v) => nodeNameProblem(v) === undefined, 'is not a node name');
const clusterName = z.string().refine((v) => clusterNameProblem(v) === undefined, 'is not a cluster name');

const nodeSchema = z
  .object({
    name: nodeName,
    nodeid: zInt,
    quorum_votes: zInt.optional(),
    pve_addr: z.string().refine(isIpAddress, 'is not an IP address'),
    pve_fp: z.string().refine(isValidFingerprint, 'is not a SHA-256 fingerprint'),
  })
  .catchall(z.unknown());

const interfaceSchema = z.object({ linknumber: zInt.optional(), ringnumber: zInt.optional() }).catchall(z.unknown());

const docSchema = z.object({
  config_digest: z.string(),
  preferred_node: nodeName,
  nodelist: z.array(nodeSchema),
  totem: z
    .object({
      cluster_name: clusterName,
      config_version: zInt,
      interface: z.union([z.record(z.string(), interfaceSchema), z.array(interfaceSchema)]).optional(),
    })
    .catchall(z.unknown()),
});

/** Parse the join information; link numbers come from totem.interface, or from the node addresses when it is empty. */
export function parseJoinInfo(text: string): JoinInfo {
  return joinInfoFromJson(parseJsonText(TOOL, text));
}

/** Same as parseJoinInfo for an already decoded document. */
export function joinInfoFromJson(doc: unknown): JoinInfo {
  const d = validate(TOOL, docSchema, doc, 'join info');
  const links = new Set<number>();
  const iface = d.totem.interface;
  if (iface) {
    const entries = Array.isArray(iface) ? iface.map((v, i) => [String(i), v] as const) : Object.entries(iface);
    for (const [key, v] of entries) {
      const n = v.linknumber ?? v.ringnumber ?? (/^\d+$/.test(key) ? Number(key) : undefined);
      if (n !== undefined) links.add(n);
    }
  }
  const derive = links.size === 0;
  const nodes = d.nodelist.map((n): JoinInfoNode => {
    const addresses: Record<string, string> = {};
    for (const [k, v] of Object.entries(n)) {
      const m = LINK_KEY.exec(k);
      if (!m) continue;
      const addr = scalar.safeParse(v);
      if (!addr.success) throw new ParseError(TOOL, `node '${n.name}': ${k} is not a string`, JSON.stringify(v) ?? '');
      if (hostProblem(addr.data) !== undefined) throw new ParseError(TOOL, `node '${n.name}': ${k} is not an address`, addr.data);
      addresses[`link${m[1]}`] = addr.data;
      if (derive) links.add(Number(m[1]));
    }
    return {
      name: n.name,
      nodeid: n.nodeid,
      quorumVotes: n.quorum_votes ?? 1,
      addresses,
      pveAddr: n.pve_addr,
      fingerprint: n.pve_fp,
    };
  });
  // the API lists nodes in Perl hash order
  nodes.sort((a, b) => a.nodeid - b.nodeid || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    configDigest: d.config_digest,
    preferredNode: d.preferred_node,
    clusterName: d.totem.cluster_name,
    configVersion: d.totem.config_version,
    links: [...links].sort((a, b) => a - b),
    nodes,
  };
}
