/** `lab status`: what runs on each node of a lab, read from the host without entering any node. */
import { labPaths } from './layout.js';
import { qnetdStatus, type QnetdStatus } from './qnetd.js';
import { validateLabName } from './names.js';
import { listLinks, listNetns } from './net.js';
import { liveInitPid, nodeNsFiles } from './node-ns.js';
import { unitStates } from './daemons.js';
import { pidsInNamespaces, rssKiB, nsInode } from './procfs.js';
import { describeFaults, readLabState, readNodeFaults } from './state.js';

/** State of one node. */
export interface NodeStatus {
  name: string;
  address: string;
  pveVersion: string;
  netns: boolean;
  /** its veth: up, down (the `down` fault, or a fence by its HA watchdog) or missing */
  link: 'up' | 'down' | 'missing';
  /** host PID of its PID 1 when alive */
  initPid?: number;
  running: boolean;
  sshd: boolean;
  chronyd: boolean;
  corosync: boolean;
  pmxcfs: boolean;
  /** faults in effect, e.g. ["skew +2.5s", "block-udp 5405"] */
  faults: string[];
  /** resident memory of all its processes, KiB */
  rssKiB: number;
}

/** State of a lab. */
export interface LabStatus {
  name: string;
  exists: boolean;
  root: string;
  subnet?: string;
  bridge?: string;
  bridgeUp: boolean;
  inventory?: string;
  nodes: NodeStatus[];
  /** the QNetd host of `up --qdevice` */
  qnetd?: QnetdStatus;
}

/** Status of lab `name` (exists: false when it has no lab.json). */
export async function labStatus(name: string): Promise<LabStatus> {
  validateLabName(name);
  const paths = labPaths(name);
  const state = await readLabState(name);
  if (!state) return { name, exists: false, root: paths.root, bridgeUp: false, nodes: [] };
  const [links, netns] = await Promise.all([listLinks(), listNetns()]);
  const bridge = links.find((l) => l.ifname === state.bridge);
  const nodes = await Promise.all(
    state.nodes.map(async (n): Promise<NodeStatus> => {
      const files = nodeNsFiles(name, n.name, n.netns);
      const veth = links.find((l) => l.ifname === n.veth);
      const initPid = await liveInitPid(name, n.name, files);
      const faults = await readNodeFaults(name, n.name);
      const units = initPid !== undefined ? await unitStates(initPid) : undefined;
      const st: NodeStatus = {
        name: n.name,
        address: n.address,
        pveVersion: faults.pveVersion ?? n.pveVersion,
        netns: netns.includes(n.netns),
        // NO-CARRIER: the node's own side is down (taken down from inside by its HA watchdog)
        link: !veth ? 'missing' : veth.flags.includes('UP') && !veth.flags.includes('NO-CARRIER') ? 'up' : 'down',
        running: initPid !== undefined,
        sshd: units?.ssh ?? false,
        chronyd: units?.chrony ?? false,
        corosync: units?.corosync ?? false,
        pmxcfs: units?.['pve-cluster'] ?? false,
        faults: describeFaults(faults),
        rssKiB: 0,
      };
      if (initPid !== undefined) {
        st.initPid = initPid;
        const pidNs = await nsInode(files.pid);
        const pids = pidNs !== undefined ? await pidsInNamespaces({ pid: new Set([pidNs]) }) : [];
        st.rssKiB = (await Promise.all(pids.map((p) => rssKiB(p)))).reduce((a, b) => a + b, 0);
      }
      return st;
    }),
  );
  return {
    name,
    exists: true,
    root: paths.root,
    subnet: state.subnet,
    bridge: state.bridge,
    bridgeUp: Boolean(bridge?.flags.includes('UP')),
    inventory: paths.inventory,
    nodes,
    ...(state.qnetd ? { qnetd: await qnetdStatus(name, state.qnetd) } : {}),
  };
}
