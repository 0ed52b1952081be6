/** `pvx lab …`: bring up, inspect, break and remove a local rehearsal cluster (root, Linux). */
import type { Deps } from '../../context.js';
import { ConfigError, EXIT, StepError, UsageError } from '../../errors.js';
import type { Outcome } from '../../ui/report.js';
import type { LabInfo, LabStatus } from '../../lab/index.js';

/** Options of `lab up`. */
export interface LabUpArgs {
  name: string;
  nodes: number;
  pve?: string[];
  guests?: number;
  subnet?: string;
  /** add a QNetd host for `pvecm qdevice setup` */
  qdevice?: boolean;
  /** seconds before an active HA LRM without quorum fences its node */
  watchdogTimeout?: number;
  installDeps: boolean;
}

// the lab (namespaces, mounts, daemons) is loaded only when a lab command runs; it closes pvx's ssh
// masters to a node whose environment it changes, so it is told where they are
const lab = async () => {
  const [m, { controlDirs }] = await Promise.all([import('../../lab/index.js'), import('./control-dirs.js')]);
  m.setSshControlDirs(controlDirs());
  return m;
};

function logger(deps: Deps): (line: string) => void {
  return (line) => deps.progress.note(deps.theme.c.dim(line));
}

/** Refuse early, naming what is missing, when this machine cannot run a lab. */
async function requireLabHost(deps: Deps, installDeps: boolean): Promise<void> {
  const { checkLabHost, installLabDeps } = await lab();
  let check = await checkLabHost();
  if (!check.isLinux) throw new ConfigError('the lab needs Linux (network namespaces)', { hint: 'run pvx lab on a Linux machine' });
  if (!check.isRoot) throw new ConfigError('the lab needs root (namespaces, bridges, mounts)', { hint: 'run it as root, e.g. sudo pvx lab up' });
  if (check.missing.length > 0 && installDeps) {
    await installLabDeps(logger(deps));
    check = await checkLabHost();
  }
  if (check.missing.length > 0) {
    const pkgs = [...new Set(check.missing.map((m) => m.package))];
    throw new ConfigError(`the lab needs what this machine lacks: ${check.missing.map((m) => m.what).join(', ')}`, {
      hint: `install them: pvx lab up --install-deps (or apt-get install ${pkgs.join(' ')})`,
      details: { missing: check.missing },
    });
  }
}

/** A lab node name (`pveN`), or `all` where every node is meant; anything else is a UsageError. */
async function checkLabNode(name: string, node: string, all: boolean): Promise<void> {
  const { nodeIndex } = await lab();
  if ((all && node === 'all') || nodeIndex(node) !== undefined) return;
  throw new UsageError(`lab '${name}' has no node '${node}'`, { hint: `lab nodes are pve1 … pve16${all ? ', or all' : ''}` });
}

/** `lab up`: build or repair the lab; returns its inventory and nodes (CLI.md shape). */
export async function labUpCommand(deps: Deps, a: LabUpArgs): Promise<Outcome<LabInfo>> {
  // every value is checked before this machine is looked at or changed
  const { validateLabName, validateNodeCount, validatePveVersion, parseSubnet, validateWatchdogTimeout } = await lab();
  validateLabName(a.name);
  validateNodeCount(a.nodes);
  a.pve?.forEach(validatePveVersion);
  if (a.subnet !== undefined) parseSubnet(a.subnet);
  if (a.watchdogTimeout !== undefined) validateWatchdogTimeout(a.watchdogTimeout);
  await requireLabHost(deps, a.installDeps);
  const { labUp } = await lab();
  const step = await deps.progress.start(`bringing up lab '${a.name}' (${a.nodes} nodes)`);
  try {
    const info = await labUp(
      {
        name: a.name,
        nodes: a.nodes,
        ...(a.pve ? { pveVersions: a.pve } : {}),
        ...(a.guests !== undefined ? { guests: a.guests } : {}),
        ...(a.subnet ? { subnet: a.subnet } : {}),
        ...(a.qdevice ? { qdevice: true } : {}),
        ...(a.watchdogTimeout !== undefined ? { watchdogTimeout: a.watchdogTimeout } : {}),
      },
      (line) => step.update(line),
    );
    step.succeed(`lab '${a.name}' is up: ${info.nodes.length} nodes${info.qnetd ? ` and a QNetd host (${info.qnetd.address})` : ''}`);
    return { command: 'lab up', result: info, exitCode: EXIT.OK, warnings: [] };
  } catch (e) {
    step.fail(`lab '${a.name}' did not come up`);
    throw e;
  }
}

/** `lab down`: remove every namespace, bridge, mount and process of the lab. */
export async function labDownCommand(deps: Deps, name: string): Promise<Outcome<{ name: string; removed: boolean }>> {
  (await lab()).validateLabName(name);
  await requireLabHost(deps, false);
  const { labDown, labRemnants } = await lab();
  const step = await deps.progress.start(`removing lab '${name}'`);
  await labDown(name, (line) => step.update(line));
  const left = await labRemnants(name);
  const leftovers = [...left.netns, ...left.links, ...left.mounts, ...left.pids.map(String)];
  if (leftovers.length > 0) {
    step.fail(`lab '${name}' left things behind`);
    throw new StepError(`lab '${name}' could not be removed completely: ${leftovers.join(', ')}`, { hint: 'run pvx lab down again; if it persists, reboot clears namespaces' });
  }
  step.succeed(`lab '${name}' removed`);
  return { command: 'lab down', result: { name, removed: true }, exitCode: EXIT.OK, warnings: [] };
}

/** `lab status`: what runs on each node; exit 1 when the lab is not up. */
export async function labStatusCommand(_deps: Deps, name: string): Promise<Outcome<LabStatus>> {
  const { labStatus, validateLabName } = await lab();
  validateLabName(name);
  const st = await labStatus(name);
  if (!st.exists) {
    return { command: 'lab status', result: st, exitCode: EXIT.STEP_FAILED, warnings: [], error: new StepError(`lab '${name}' is not up`, { hint: 'pvx lab up' }) };
  }
  return { command: 'lab status', result: st, exitCode: EXIT.OK, warnings: [] };
}

/** `lab inventory`: the path of the lab's inventory, for -i "$(pvx lab inventory)". */
export async function labInventoryCommand(_deps: Deps, name: string): Promise<Outcome<{ inventory: string; rootPasswordFile: string }>> {
  const { labStatus, labPaths, validateLabName } = await lab();
  validateLabName(name);
  const st = await labStatus(name);
  if (!st.exists || !st.inventory) throw new StepError(`lab '${name}' is not up`, { hint: 'pvx lab up' });
  return { command: 'lab inventory', result: { inventory: st.inventory, rootPasswordFile: `${labPaths(name).root}/root-password` }, exitCode: EXIT.OK, warnings: [] };
}

/** `lab exec`: run a command as a process of a node, on this terminal; its exit code is ours. */
export async function labExecCommand(deps: Deps, name: string, node: string, argv: string[]): Promise<Outcome<{ exitCode: number; stdout?: string; stderr?: string }>> {
  if (argv.length === 0) throw new UsageError('lab exec needs a command', { hint: 'pvx lab exec pve1 -- pvecm status' });
  const { labExec, validateLabName } = await lab();
  validateLabName(name);
  await checkLabNode(name, node, false);
  const r = await labExec(name, node, argv, deps.globals.json ? {} : { inheritStdio: true });
  if (deps.globals.json) {
    return { command: 'lab exec', result: { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }, exitCode: r.exitCode === 0 ? EXIT.OK : EXIT.STEP_FAILED, warnings: [] };
  }
  // the command's own exit code is what a script wants from `lab exec`
  return { command: 'lab exec', result: { exitCode: r.exitCode }, exitCode: r.exitCode, warnings: [] };
}

/** `lab fault`: break a node in one of the documented ways, or heal it. */
export async function labFaultCommand(deps: Deps, name: string, node: string, fault: string, arg: string | undefined): Promise<Outcome<{ node: string; fault: string; arg?: string }>> {
  const { labFault, LAB_FAULTS, checkFaultArg, validateLabName } = await lab();
  validateLabName(name);
  await checkLabNode(name, node, true);
  if (!(LAB_FAULTS as readonly string[]).includes(fault)) {
    throw new UsageError(`unknown fault '${fault}'`, { hint: `faults: ${LAB_FAULTS.join(', ')}` });
  }
  checkFaultArg(fault as (typeof LAB_FAULTS)[number], arg);
  await labFault(name, node, fault as (typeof LAB_FAULTS)[number], arg, logger(deps));
  return { command: 'lab fault', result: { node, fault, ...(arg !== undefined ? { arg } : {}) }, exitCode: EXIT.OK, warnings: [] };
}
