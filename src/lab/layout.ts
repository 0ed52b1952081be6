/** Where a lab keeps its files, on the host and as seen from inside a node (one contract for lab and sim). */
import path from 'node:path';

/** Default lab name; `--name` gives others (tests use their own names and subnets). */
export const DEFAULT_LAB = 'pvx';

/**
 * Root of all labs. Not under /root, /tmp or /run: those are private inside nodes, and the
 * node-side simulator must see the lab's shared state at the same path as the host.
 */
export function labsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env['PVX_LAB_ROOT'] || '/var/lib/pvx-lab';
}

/** Every host path of one lab. */
export interface LabPaths {
  root: string;
  /** the pvx installation (dir holding dist/ and node_modules/), bind-mounted here inside each node */
  app: string;
  inventory: string;
  clientKey: string;
  knownHosts: string;
  /** the lab's root password (mode 0600); read by the simulated `pvecm add`, never printed */
  rootPassword: string;
  /** lab.json: what `up` built (nodes, subnet, bridge, pids), for status/down/fault */
  state: string;
  /** per-node private dirs (etc-upper, root, varlog, var-lib-corosync, var-lib-pve-cluster) */
  nodeDir(node: string): string;
  /** a node's pmxcfs database as the host sees it (the node's /var/lib/pve-cluster/config.db) */
  nodeConfigDb(node: string): string;
  /** mount/uts/pid namespace files of a node */
  nsDir: string;
}

/** Paths of the lab called `name`. */
export function labPaths(name: string, env: NodeJS.ProcessEnv = process.env): LabPaths {
  const root = path.join(labsRoot(env), name);
  return {
    root,
    app: path.join(root, 'app'),
    inventory: path.join(root, 'inventory.yaml'),
    clientKey: path.join(root, 'id_ed25519'),
    knownHosts: path.join(root, 'known_hosts'),
    rootPassword: path.join(root, 'root-password'),
    state: path.join(root, 'lab.json'),
    nodeDir: (node) => path.join(root, 'nodes', node),
    nodeConfigDb: (node) => path.join(root, 'nodes', node, 'var-lib-pve-cluster', 'config.db'),
    nsDir: path.join(root, 'ns'),
  };
}

/** Inside a node: the directory of stand-in tools, first on the PATH of sessions and daemons. */
export const NODE_BIN_DIR = '/etc/pvx-lab/bin';

/** Inside a node: identity of the node, written by `lab up` (see NodeIdentity). */
export const NODE_IDENTITY_FILE = '/etc/pvx-lab/node.json';

/** A node's own dpkg admin directory: the host's package database with the node's PVE packages (sim/core/dpkg-db.ts). */
export const NODE_DPKG_DIR = '/etc/pvx-lab/dpkg';

/** What a node knows about itself and its lab (NODE_IDENTITY_FILE). */
export interface NodeIdentity {
  lab: string;
  /** PVE node name, e.g. pve2 */
  name: string;
  index: number;
  address: string;
  /** host path of the lab root, visible at the same path inside the node */
  labRoot: string;
  /** simulated pve-manager version, e.g. "8.4.11" or "9.1.7" */
  pveVersion: string;
  /** every node of the lab (name, address), for /etc/hosts-like lookups by the sim */
  nodes: Array<{ name: string; address: string }>;
}
