/** Every path a simulated tool touches, on a node or under a test root (PVX_SIM_ROOT). */
import path from 'node:path';
import { labPaths, NODE_DPKG_DIR, type NodeIdentity } from '../../layout.js';

/** Paths of one node as the simulated tools see them. */
export interface SimPaths {
  /** '' on a lab node; a scratch directory when the tools run outside a node */
  root: string;
  etcPve: string;
  etcCorosync: string;
  corosyncConf: string;
  authkey: string;
  /** pmxcfs pid file (CFS_PID_FN in pve-cluster) */
  pveClusterPid: string;
  /** pid file of pve-ha-crm */
  haPid: string;
  /** pid file of pve-ha-lrm */
  haLrmPid: string;
  /** runtime state of the simulated daemons (node-private /run) */
  simRun: string;
  taskDir: string;
  varLog: string;
  /** the stand-in tools (systemctl, pmxcfs, …) */
  binDir: string;
  /** the node's package database (dpkg's admin directory): the host's, with the node's PVE packages */
  dpkgDir: string;
  /** the node's pmxcfs database (SQLite, served at /etc/pve by the node's pmxcfs) */
  configDb: string;
  /** where pvecm add keeps the database it replaces (Setup.pm finish_join) */
  configDbBackupDir: string;
  /** under a test root only: the plain folder that stands for the node's database at /etc/pve */
  localDb: string;
  /** node-private lab directory on the shared lab root */
  nodeDir(node: string): string;
  /** where the running state of the guests of `node` lives (shared, so it survives sessions and moves with a migration) */
  guestState(node: string): string;
  /** the lab root password file */
  rootPassword: string;
  labRoot: string;
}

/** Resolve the paths of the node described by `node`, honouring PVX_SIM_ROOT. */
export function simPaths(node: NodeIdentity, env: NodeJS.ProcessEnv): SimPaths {
  const root = env['PVX_SIM_ROOT'] ?? '';
  const r = (p: string): string => (root ? path.join(root, p) : p);
  const lab = labPaths(node.lab, { PVX_LAB_ROOT: path.dirname(node.labRoot) });
  const nodeDir = (n: string): string => lab.nodeDir(n);
  return {
    root,
    etcPve: r('/etc/pve'),
    etcCorosync: r('/etc/corosync'),
    corosyncConf: r('/etc/corosync/corosync.conf'),
    authkey: r('/etc/corosync/authkey'),
    pveClusterPid: r('/run/pve-cluster.pid'),
    haPid: r('/run/pve-ha-crm.pid'),
    haLrmPid: r('/run/pve-ha-lrm.pid'),
    simRun: r('/run/pvx-lab'),
    taskDir: r('/var/log/pve/tasks'),
    varLog: r('/var/log'),
    binDir: r('/etc/pvx-lab/bin'),
    dpkgDir: r(NODE_DPKG_DIR),
    configDb: r('/var/lib/pve-cluster/config.db'),
    configDbBackupDir: r('/var/lib/pve-cluster/backup'),
    localDb: path.join(nodeDir(node.name), 'pve-local'),
    nodeDir,
    guestState: (n) => path.join(nodeDir(n), 'guests'),
    rootPassword: path.join(lab.root, 'root-password'),
    labRoot: lab.root,
  };
}

/** The path a user sees for a file under /etc/pve (messages always name the real location). */
export function pveShown(rel: string): string {
  return path.posix.join('/etc/pve', rel);
}
