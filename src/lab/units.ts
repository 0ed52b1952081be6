/** The services of a lab node: how each daemon is known, where its pidfile and log are (node paths). */
import { NODE_BIN_DIR } from './layout.js';

/** Identifier of a service the systemctl stand-in manages. */
export type UnitId = 'ssh' | 'chrony' | 'corosync' | 'corosync-qdevice' | 'pve-cluster' | 'pve-ha-crm' | 'pve-ha-lrm' | 'pvescheduler';

/** One service of a lab node, by the conventions the simulated tools rely on. */
export interface UnitSpec {
  id: UnitId;
  /** names systemctl accepts (without .service) */
  names: readonly string[];
  description: string;
  /** unit file path shown by `systemctl status` */
  unitFile: string;
  pidFile: string;
  /** what the process calls itself in /proc/<pid>/comm (pidfile sanity check); undefined: any */
  comm?: string;
  log: string;
  /** only the log lines carrying this tag are the unit's (daemons sharing one log file) */
  logTag?: string;
  /** units started along with this one (systemd Wants=); stopping those never stops this one */
  wants?: readonly UnitId[];
}

/** Every unit of a lab node, in start order (pve-cluster before corosync, as on PVE). */
export const UNITS: readonly UnitSpec[] = [
  {
    id: 'ssh',
    names: ['ssh', 'sshd'],
    description: 'OpenBSD Secure Shell server',
    unitFile: '/lib/systemd/system/ssh.service',
    pidFile: '/run/sshd.pid',
    comm: 'sshd',
    log: '/var/log/sshd.log',
  },
  {
    id: 'chrony',
    names: ['chrony', 'chronyd'],
    description: 'chrony, an NTP client/server',
    unitFile: '/lib/systemd/system/chrony.service',
    pidFile: '/run/chrony/chronyd.pid',
    comm: 'chronyd',
    log: '/var/log/chrony/chronyd.log',
  },
  {
    id: 'pve-cluster',
    names: ['pve-cluster'],
    description: 'The Proxmox VE cluster filesystem',
    unitFile: '/lib/systemd/system/pve-cluster.service',
    pidFile: '/run/pve-cluster.pid',
    log: '/var/log/pve-cluster.log',
  },
  {
    id: 'corosync',
    names: ['corosync'],
    description: 'Corosync Cluster Engine',
    unitFile: '/lib/systemd/system/corosync.service',
    pidFile: '/run/corosync.pid',
    comm: 'corosync',
    log: '/var/log/corosync/corosync.log',
  },
  {
    // Debian's corosync-qdevice: the QDevice vote of a node whose corosync.conf has a quorum device
    id: 'corosync-qdevice',
    names: ['corosync-qdevice'],
    description: 'Corosync Qdevice daemon',
    unitFile: '/lib/systemd/system/corosync-qdevice.service',
    pidFile: '/run/corosync-qdevice/corosync-qdevice.pid',
    // /proc/<pid>/comm keeps 15 characters
    comm: 'corosync-qdevic',
    log: '/var/log/corosync/corosync-qdevice.log',
  },
  {
    // two daemons, as on PVE: each wants pve-cluster (Wants/After only), so stopping pve-cluster leaves them running
    id: 'pve-ha-crm',
    names: ['pve-ha-crm'],
    description: 'PVE Cluster HA Resource Manager Daemon',
    unitFile: '/lib/systemd/system/pve-ha-crm.service',
    pidFile: '/run/pve-ha-crm.pid',
    log: '/var/log/pve-ha-manager.log',
    logTag: 'pve-ha-crm[',
    wants: ['pve-cluster'],
  },
  {
    id: 'pve-ha-lrm',
    names: ['pve-ha-lrm'],
    description: 'PVE Local HA Resource Manager Daemon',
    unitFile: '/lib/systemd/system/pve-ha-lrm.service',
    pidFile: '/run/pve-ha-lrm.pid',
    log: '/var/log/pve-ha-manager.log',
    logTag: 'pve-ha-lrm[',
    wants: ['pve-cluster', 'pve-ha-crm'],
  },
  {
    // runs the node's replication jobs every minute
    id: 'pvescheduler',
    names: ['pvescheduler'],
    description: 'Proxmox VE scheduler',
    unitFile: '/lib/systemd/system/pvescheduler.service',
    pidFile: '/run/pvescheduler.pid',
    log: '/var/log/pvescheduler.log',
  },
];

/** The HA units, in start order (pve-ha-lrm wants pve-ha-crm). */
export const HA_UNITS: readonly UnitId[] = ['pve-ha-crm', 'pve-ha-lrm'];

/** The unit called `name` (with or without `.service`), or undefined. */
export function findUnit(name: string): UnitSpec | undefined {
  const bare = name.endsWith('.service') ? name.slice(0, -'.service'.length) : name;
  return UNITS.find((u) => u.names.includes(bare));
}

/** The spec of a unit by id. */
export function unit(id: UnitId): UnitSpec {
  const u = UNITS.find((x) => x.id === id);
  if (!u) throw new Error(`unknown unit ${id}`);
  return u;
}

/** The corosync configuration whose absence makes PVE's corosync.service skip its start. */
export const COROSYNC_CONF = '/etc/corosync/corosync.conf';

/** chronyd's configuration on a node. */
export const CHRONY_CONF = '/etc/chrony/chrony.conf';

/** PATH of every daemon and session on a node: the stand-in tools first. */
export const NODE_PATH = `${NODE_BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/**
 * Environment of every daemon: what systemd would give it. Never the session's LD_PRELOAD or
 * FAKETIME: libfaketime inside sshd kills its seccomp-sandboxed pre-auth child (pitfall 5).
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { PATH: NODE_PATH, LANG: 'C.UTF-8' };
