/** `lab fault <node> <fault> [arg]`: knobs that break one node the way real clusters break, and `heal`. */
import { PreflightError, UsageError } from '../errors.js';
import { ensureDaemons, nodeSystemctl, unitStates } from './daemons.js';
import { resolveRunningNode, type RunningNode } from './exec.js';
import { setBlockedUdp } from './firewall.js';
import { LAB_FAULTS, type LabFault } from './fault-names.js';
import { findFaketimeLib } from './host-check.js';
import { labPaths } from './layout.js';
import { parseSubnet, validateLabName, validatePveVersion } from './names.js';
import { setNodeLink } from './net.js';
import { parsePortSpec } from './node-files.js';
import { waitTcpAnswers } from './reachable.js';
import { writeNodeFiles } from './node-setup.js';
import { SIM_TOOLS } from './sim/registry.js';
import { closeMasters } from './ssh-masters.js';
import { readLabState, readNodeFaults, writeNodeFaults, type LabState, type NodeFaults, type NodeState } from './state.js';

export { LAB_FAULTS, type LabFault } from './fault-names.js';

/** How long a healed node's sshd may take to answer. */
const HEAL_REACHABLE_MS = 15_000;

/** Largest skew accepted, in seconds (ten years). */
const MAX_SKEW = 10 * 365 * 86400;

/** Parse a skew argument ("2.5", "-30", "+0.7") in seconds. */
export function parseSkew(arg: string | undefined): number {
  const s = arg === undefined ? NaN : Number(arg.trim());
  if (!Number.isFinite(s) || Math.abs(s) > MAX_SKEW || !/^[+-]?\d+(?:\.\d+)?$/.test(arg?.trim() ?? '')) {
    throw new UsageError(`invalid skew '${arg ?? ''}'`, { hint: 'give seconds, e.g. skew 2.5 or skew -30' });
  }
  return Number(s.toFixed(3));
}

/** Throw a UsageError unless `arg` is what `fault` takes; checked before any node is touched. */
export function checkFaultArg(fault: LabFault, arg: string | undefined): void {
  if (fault === 'block-udp' && (arg === undefined || !parsePortSpec(arg))) {
    throw new UsageError(`invalid port '${arg ?? ''}' for block-udp`, { hint: 'give a UDP port or range, e.g. 5405 or 5404-5412' });
  }
  if (fault === 'skew') parseSkew(arg);
  if (fault === 'pve-version') {
    if (arg === undefined) throw new UsageError('pve-version needs a version', { hint: 'e.g. pve-version 9.1.7' });
    validatePveVersion(arg);
  }
}

interface FaultTarget {
  state: LabState;
  node: NodeState;
  running: RunningNode;
  faketimeLib: string;
}

/** Rewrite the node's /etc files for its faults and let chronyd and ssh sessions pick the change up. */
async function applyFiles(t: FaultTarget, faults: NodeFaults): Promise<void> {
  const changed = await writeNodeFiles(t.running.initPid, {
    lab: t.state.name,
    paths: labPaths(t.state.name),
    subnet: parseSubnet(t.state.subnet),
    nodes: t.state.nodes.map((n) => ({ name: n.name, address: n.address })),
    node: t.node,
    faults,
    faketimeLib: t.faketimeLib,
    tools: Object.keys(SIM_TOOLS),
  });
  if (changed.chrony) {
    const running = await unitStates(t.running.initPid);
    await nodeSystemctl(t.running, [running.chrony ? 'restart' : 'start', 'chrony']);
  }
  // sessions multiplexed over an open master keep the old environment (pitfall 6)
  if (changed.environment) await closeMasters([t.node.address]);
}

async function faultOne(t: FaultTarget, fault: LabFault, arg: string | undefined): Promise<string> {
  const lab = t.state.name;
  const faults = await readNodeFaults(lab, t.node.name);
  switch (fault) {
    case 'block-udp': {
      const spec = arg === undefined ? undefined : parsePortSpec(arg);
      if (!spec) throw new UsageError(`invalid port '${arg ?? ''}' for block-udp`, { hint: 'give a UDP port or range, e.g. 5405 or 5404-5412' });
      faults.blockUdp = [...new Set([...(faults.blockUdp ?? []), spec])];
      await setBlockedUdp(t.running, faults.blockUdp);
      break;
    }
    case 'skew': {
      const s = parseSkew(arg);
      if (s) faults.skew = s;
      else delete faults.skew;
      await applyFiles(t, faults);
      break;
    }
    case 'stop-corosync':
      await nodeSystemctl(t.running, ['stop', 'corosync']);
      faults.corosync = 'stopped';
      break;
    case 'kill-corosync':
      await nodeSystemctl(t.running, ['kill', '-s', 'KILL', 'corosync']);
      faults.corosync = 'killed';
      break;
    case 'down':
      await setNodeLink(lab, t.node.index, false);
      faults.down = true;
      break;
    case 'pve-version':
      if (arg === undefined) throw new UsageError('pve-version needs a version', { hint: 'e.g. pve-version 9.1.7' });
      faults.pveVersion = validatePveVersion(arg);
      await applyFiles(t, faults);
      break;
    case 'hosts-loopback':
      faults.hostsLoopback = true;
      await applyFiles(t, faults);
      break;
    case 'heal':
      await setBlockedUdp(t.running, []);
      await setNodeLink(lab, t.node.index, true);
      await applyFiles(t, {});
      await ensureDaemons(t.running, { pveCluster: 'pmxcfs' in SIM_TOOLS });
      await writeNodeFaults(lab, t.node.name, {});
      // healed means back: a node that boots again is reachable, so heal returns once its sshd answers
      if (!(await waitTcpAnswers(t.node.address, 22, HEAL_REACHABLE_MS))) {
        throw new PreflightError(`${t.node.name}: healed, but its sshd at ${t.node.address}:22 did not answer within ${HEAL_REACHABLE_MS / 1000} s`, { hint: `pvx lab status --name ${lab}` });
      }
      return `${t.node.name}: healed`;
  }
  await writeNodeFaults(lab, t.node.name, faults);
  return `${t.node.name}: ${fault}${arg !== undefined ? ` ${arg}` : ''}`;
}

/** Apply `fault` (with `arg`) to node `node` of lab `name`, or to every node when `node` is 'all'. */
export async function labFault(name: string, node: string, fault: LabFault, arg?: string, log: (line: string) => void = () => undefined): Promise<void> {
  validateLabName(name);
  if (!(LAB_FAULTS as readonly string[]).includes(fault)) {
    throw new UsageError(`unknown fault '${fault}'`, { hint: `one of: ${LAB_FAULTS.join(', ')}` });
  }
  checkFaultArg(fault, arg);
  const state = await readLabState(name);
  if (!state) throw new UsageError(`there is no lab '${name}'`, { hint: `create it: pvx lab up${name === 'pvx' ? '' : ` --name ${name}`}` });
  const faketimeLib = await findFaketimeLib();
  if (!faketimeLib) throw new PreflightError('libfaketime.so.1 is missing', { hint: 'apt-get install libfaketime' });
  const targets = node === 'all' ? state.nodes : state.nodes.filter((n) => n.name === node);
  if (targets.length === 0) {
    throw new UsageError(`lab '${name}' has no node '${node}'`, { hint: `its nodes: ${state.nodes.map((n) => n.name).join(', ')}, or all` });
  }
  await Promise.all(
    targets.map(async (n) => {
      const running = await resolveRunningNode(name, n.name);
      log(await faultOne({ state, node: n, running, faketimeLib }, fault, arg));
    }),
  );
}
