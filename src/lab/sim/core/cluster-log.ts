/**
 * PVE::Cluster::log_msg: a message for the cluster log, handed to the node's pmxcfs over its local
 * socket (CFS_IPC_LOG_CLUSTER_MSG); pmxcfs stamps node, time and a uid and passes it to every
 * member. Like the Perl call (an eval), a pmxcfs that is not running loses the message silently.
 */
import path from 'node:path';
import { requestLocal } from '../cfs/peer.js';
import type { SimPaths } from './paths.js';

/** The socket the node's pmxcfs answers its local clients on. */
export function pmxcfsSocket(paths: SimPaths): string {
  return path.join(paths.simRun, 'pmxcfs.sock');
}

/** What a client sends. */
export interface ClusterLogRequest {
  t: 'log';
  /** syslog priority (PVE::Cluster's $log_levels: info 6, err 3) */
  pri: number;
  /** the user (`ident` in pmxcfs) */
  user: string;
  /** the syslog tag of the process (its program name) */
  tag: string;
  pid: number;
  msg: string;
}

/** log_msg(priority, user, msg); resolves either way. */
export async function clusterLogMsg(paths: SimPaths, pri: number, user: string, tag: string, msg: string): Promise<void> {
  if (paths.root) return;
  const req: ClusterLogRequest = { t: 'log', pri, user, tag, pid: process.pid, msg: msg || 'empty message' };
  try {
    await requestLocal(pmxcfsSocket(paths), req, 2000);
  } catch {
    // log_msg runs in an eval: a missing pmxcfs costs only the log entry
  }
}
