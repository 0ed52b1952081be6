/** The definition of `pvx lab …`: help, options and flag → input mapping; run and render load only when a command runs. */
import { Command, Option } from 'commander';
import type { Dispatch } from '../shared/dispatch.js';
import { nonNegativeInt, positiveInt } from '../shared/options.js';

/** Register `pvx lab …` on the root. */
export function registerLab(program: Command, dispatch: Dispatch): void {
  const labCmd = program
    .command('lab')
    .description('a local rehearsal cluster on this machine (root, Linux): real sshd, corosync and chronyd in network namespaces')
    .addHelpText('after', `
Nodes are pve1 … pveN on a closed bridge (10.77.0.0/24 for the default lab). Commands never pick the lab
implicitly: point them at it with -i "$(pvx lab inventory)" or PVX_INVENTORY.

Examples:
  pvx lab up --install-deps
  pvx lab up --nodes 5 --pve 8.4.11,8.4.11,9.1.7 --guests 6
  pvx lab fault pve3 block-udp 5405-5412
  pvx lab up --nodes 2 --qdevice             # then: pvx cluster qdevice add 10.77.0.5
  pvx lab up --watchdog-timeout 6            # HA fencing in seconds instead of a minute
  pvx lab exec pve1 -- pvecm status
  pvx lab down`);
  const labName = () => new Option('--name <lab>', 'lab name (up to 8 letters/digits)').default('pvx');
  labCmd
    .command('up')
    .description('build (or repair) the lab; idempotent')
    .addHelpText('after', `
With --qdevice the lab also gets a QNetd host at <subnet>.5 (10.77.0.5 in the default lab): sshd that
takes every node's root key and Debian's real corosync-qnetd. On a cluster with an even node count:
  pvx lab exec pve1 -- pvecm qdevice setup 10.77.0.5     # QDevice vote via corosync-qdevice on each node
  pvx lab exec pve1 -- pvecm qdevice remove`)
    .addOption(labName())
    .addOption(new Option('--nodes <n>', 'number of nodes, 1 to 16').default(3).argParser(positiveInt('--nodes')))
    .option('--pve <versions>', 'simulated PVE version(s), one for all or one per node, comma-separated (e.g. 8.4.11,9.1.7)')
    .addOption(new Option('--guests <n>', 'seed this many VM/CT configs over the nodes').argParser(nonNegativeInt('--guests')))
    .option('--subnet <cidr>', 'a /24 inside 10.0.0.0/8 (default 10.77.0.0/24 for the default lab)')
    .option('--qdevice', 'add a QNetd host (<subnet>.5: sshd and corosync-qnetd) for pvecm qdevice setup; kept until lab down')
    .option('--install-deps', 'apt-get install what the lab needs (openssh-server corosync corosync-qdevice corosync-qnetd chrony nftables libfaketime sqlite3)')
    .addOption(
      new Option('--watchdog-timeout <s>', 'seconds an active HA LRM without quorum runs before its watchdog fences the node (default 60, as on real nodes; kept for the lab)').argParser(
        positiveInt('--watchdog-timeout'),
      ),
    )
    .action(async (opts: { name: string; nodes: number; pve?: string; guests?: number; subnet?: string; qdevice?: boolean; installDeps?: boolean; watchdogTimeout?: number }, cmd: Command) =>
      dispatch(
        'lab up',
        cmd,
        async (deps) =>
          (await import('./run.js')).labUpCommand(deps, {
            name: opts.name,
            nodes: opts.nodes,
            installDeps: Boolean(opts.installDeps),
            ...(opts.pve !== undefined ? { pve: opts.pve.split(',').map((v) => v.trim()) } : {}),
            ...(opts.guests !== undefined ? { guests: opts.guests } : {}),
            ...(opts.subnet !== undefined ? { subnet: opts.subnet } : {}),
            ...(opts.qdevice ? { qdevice: true } : {}),
            ...(opts.watchdogTimeout !== undefined ? { watchdogTimeout: opts.watchdogTimeout } : {}),
          }),
        async () => (await import('./render.js')).renderLabUp,
      ),
    );
  labCmd
    .command('down')
    .description('remove every namespace, bridge, mount and process of the lab (also after a crash)')
    .addOption(labName())
    .action(async (opts: { name: string }, cmd: Command) =>
      dispatch('lab down', cmd, async (deps) => (await import('./run.js')).labDownCommand(deps, opts.name), async () => (await import('./render.js')).renderNothing),
    );
  labCmd
    .command('status')
    .description('nodes, addresses, daemons and faults of the lab; exit 1 when it is not up')
    .addOption(labName())
    .action(async (opts: { name: string }, cmd: Command) =>
      dispatch('lab status', cmd, async (deps) => (await import('./run.js')).labStatusCommand(deps, opts.name), async () => (await import('./render.js')).renderLabStatus),
    );
  labCmd
    .command('inventory')
    .description("print the path of the lab's inventory (for -i \"$(pvx lab inventory)\")")
    .addOption(labName())
    .action(async (opts: { name: string }, cmd: Command) =>
      dispatch('lab inventory', cmd, async (deps) => (await import('./run.js')).labInventoryCommand(deps, opts.name), async () => (await import('./render.js')).renderLabInventory),
    );
  labCmd
    .command('exec')
    .description("run a command as a process of a node (its namespaces, its session environment)")
    .argument('<node>', 'lab node, e.g. pve1')
    .argument('<command...>', 'the command, after --')
    .addOption(labName())
    .addHelpText('after', '\nExample:\n  pvx lab exec pve2 -- corosync-quorumtool -s')
    .action(async (node: string, command: string[], opts: { name: string }, cmd: Command) =>
      dispatch('lab exec', cmd, async (deps) => (await import('./run.js')).labExecCommand(deps, opts.name, node, command), async () => (await import('./render.js')).renderNothing),
    );
  labCmd
    .command('fault')
    .description('break a node: block-udp <port|from-to>, skew <s>, stop-corosync, kill-corosync, down, pve-version <v>, hosts-loopback; or heal it')
    .argument('<node>', 'lab node, e.g. pve3 (heal also takes all)')
    .argument('<fault>', 'the fault')
    .argument('[arg]', 'its argument (ports, seconds, version)')
    .addOption(labName())
    .addHelpText('after', '\nExamples:\n  pvx lab fault pve2 block-udp 5407\n  pvx lab fault pve3 skew 2.5\n  pvx lab fault all heal')
    .action(async (node: string, fault: string, arg: string | undefined, opts: { name: string }, cmd: Command) =>
      dispatch('lab fault', cmd, async (deps) => (await import('./run.js')).labFaultCommand(deps, opts.name, node, fault, arg), async () => (await import('./render.js')).renderNothing),
    );
}
