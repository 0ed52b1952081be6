/** Bringing a node's services to the wanted state through its own systemctl stand-in. */
import { NODE_BIN_DIR } from './layout.js';
import { parseConf } from './sim/core/corosync-conf.js';
import { execInNode, type RunningNode } from './exec.js';
import { readNodeFile, unitPid } from './node-fs.js';
import { COROSYNC_CONF, HA_UNITS, unit, UNITS, type UnitId } from './units.js';

/** Path of the systemctl stand-in inside nodes. */
export const NODE_SYSTEMCTL = `${NODE_BIN_DIR}/systemctl`;

/** Which units run on a node (true) or not, read from their pidfiles. */
export async function unitStates(initPid: number): Promise<Record<UnitId, boolean>> {
  const entries = await Promise.all(UNITS.map(async (u) => [u.id, (await unitPid(initPid, u)) !== undefined] as const));
  return Object.fromEntries(entries) as Record<UnitId, boolean>;
}

/** True when a corosync.conf has a `device { … }` inside its quorum section. */
export function hasQuorumDevice(conf: string): boolean {
  try {
    // the simulator's own parse_conf: the lab shares no parser with the product it tests
    const quorum = parseConf(conf)?.main['quorum'];
    return typeof quorum === 'object' && !Array.isArray(quorum) && quorum['device'] !== undefined;
  } catch {
    return false;
  }
}

/** Run the node's systemctl; throws with its output when it fails. */
export async function nodeSystemctl(n: RunningNode, args: readonly string[]): Promise<void> {
  const r = await execInNode(n, [NODE_SYSTEMCTL, ...args], { cwd: '/', timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    throw new Error(`${n.name}: systemctl ${args.join(' ')} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
  }
}

/**
 * Make sure sshd and chronyd run (and pve-cluster and pvescheduler, when the simulator provides pmxcfs), and
 * corosync and the HA units once the node has a corosync.conf (as a node booting into its cluster would); restart
 * those in `restart` that already run. Returns the units it started or restarted.
 */
export async function ensureDaemons(n: RunningNode, opts: { restart?: readonly UnitId[]; pveCluster: boolean }): Promise<UnitId[]> {
  const running = await unitStates(n.initPid);
  const wanted: UnitId[] = ['ssh', 'chrony'];
  if (opts.pveCluster) wanted.push('pve-cluster', 'pvescheduler');
  const conf = await readNodeFile(n.initPid, COROSYNC_CONF);
  // a clustered node boots into corosync and, with pmxcfs, its HA units (enabled on PVE nodes)
  if (conf !== undefined) wanted.push('corosync', ...(opts.pveCluster ? HA_UNITS : []));
  // `pvecm qdevice setup` enables corosync-qdevice, so a booting member starts it after corosync
  if (conf !== undefined && hasQuorumDevice(conf)) wanted.push('corosync-qdevice');
  const restart = (opts.restart ?? []).filter((u) => running[u]);
  const start = wanted.filter((u) => !running[u]);
  if (restart.length) await nodeSystemctl(n, ['restart', ...restart.map((u) => unit(u).names[0] as string)]);
  if (start.length) await nodeSystemctl(n, ['start', ...start.map((u) => unit(u).names[0] as string)]);
  return [...restart, ...start];
}
