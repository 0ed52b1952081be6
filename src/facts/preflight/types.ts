/** What one read of a node learns (the facts the preflight judges): readings, time, guests, cluster, the whole node. */
import type { CorosyncSummary } from '../../pve/parse/corosync-conf.js';
import type { CfgtoolStatus } from '../../pve/parse/corosync-cfgtool.js';
import type { PveVersion } from '../../pve/parse/pveversion.js';
import type { QuorumtoolStatus } from '../../pve/parse/quorumtool.js';
import type { UdpProbeResults } from './udp-probe.js';

/** A value read from a node, or why it could not be read. */
export type Reading<T> =
  /** unrecognized: lines the tool printed that pvx could not read; the value was read without them */
  | { ok: true; value: T; unrecognized?: string[] }
  /** missing: the tool is not installed; failed: it ran and said no; garbage: output not understood */
  | { ok: false; reason: 'missing' | 'failed' | 'garbage' | 'absent'; message: string };

/** How the node keeps time. */
export interface TimeSync {
  source: 'chrony' | 'timedatectl';
  synchronized: boolean;
  /** chrony's `System time`: + ahead of NTP time */
  offsetSec?: number;
  /** the reference (server) chrony follows */
  reference?: string;
  /** why it is not synchronised, as the tool says it */
  detail?: string;
  /** chronyc failed before timedatectl answered */
  chronyProblem?: string;
}

/** A VM or container configuration the node's /etc/pve holds (its own folder, or one another node left behind). */
export interface Guest {
  vmid: number;
  type: 'qemu' | 'lxc' | 'openvz';
  name?: string;
  /** the folder under /etc/pve/nodes that holds the config */
  node: string;
  /** the config file */
  path: string;
}

/** The node's clock against the workstation, corrected by the round trip. */
export interface ClockReading {
  /** node clock minus workstation clock, seconds */
  offsetSec: number;
  /** half the round trip (plus the clock's own resolution), seconds */
  uncertaintySec: number;
}

/** The cluster a node belongs to, from its corosync.conf. */
export interface NodeCluster {
  name: string;
  configVersion: number;
  nodes: CorosyncSummary['nodes'];
  /** corosync link numbers the configuration uses (knet link N listens on UDP 5405+N) */
  linkNumbers: number[];
  /** /etc/pve/corosync.conf, or only the local /etc/corosync copy (pmxcfs down or a leftover) */
  source: '/etc/pve/corosync.conf' | '/etc/corosync/corosync.conf';
  /** the quorum device the configuration names, if any */
  qdevice?: CorosyncSummary['qdevice'];
}

/** Everything learned about one node in one read. */
export interface NodeFacts {
  /** inventory name */
  name: string;
  reachable: boolean;
  unreachable?: { code: string; message: string; hint?: string };
  /** the read reached the node but its script did not run: why */
  scriptProblem?: string;
  user: Reading<{ uid: number; name: string }>;
  /** the PVE node name (short hostname) */
  hostname: Reading<string>;
  pve: Reading<PveVersion>;
  timeSync: Reading<TimeSync>;
  clock: Reading<ClockReading>;
  /** addresses the node name resolves to, on the node */
  resolved: Reading<string[]>;
  /** addresses configured on the node's interfaces */
  localAddresses: Reading<string[]>;
  /** corosync link 0 address: the inventory's, else the first non-loopback address the name resolves to */
  link0?: string;
  link0Source?: 'inventory' | 'resolved';
  files: Reading<{ pveCorosyncConf: boolean; authkey: boolean; localCorosyncConf: boolean }>;
  cluster: Reading<NodeCluster | null>;
  corosyncRunning: boolean;
  /** UDP ports bound on the node (anything, on any address) */
  udpPortsInUse: Reading<number[]>;
  links: Reading<CfgtoolStatus>;
  quorum: Reading<QuorumtoolStatus>;
  /** every guest config under /etc/pve/nodes/*, as pvecm add counts them */
  guests: Reading<Guest[]>;
}
