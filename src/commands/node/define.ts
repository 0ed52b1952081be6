/** The definition of `pvx node …` (drain, maintenance enable|disable): help, options and flag → input mapping; run and render load only when a command runs. */
import { Command } from 'commander';
import type { Dispatch } from '../shared/dispatch.js';

type Opts = Record<string, string | boolean | undefined>;

function moveInput(node: string, opts: Opts) {
  const s = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  return {
    node,
    ...(s('to') !== undefined ? { to: s('to') } : {}),
    ...(s('parallel') !== undefined ? { parallel: s('parallel') } : {}),
    ...(s('timeout') !== undefined ? { timeout: s('timeout') } : {}),
    withLocalDisks: opts['withLocalDisks'] === true,
  };
}

/** Register `pvx node …` on the root. */
export function registerNode(program: Command, dispatch: Dispatch): void {
  const node = program.command('node').description('empty a node of its guests: drain, or HA maintenance mode with the other guests moved off');
  const render = async () => (await import('./render.js')).renderNodeMove;
  node
    .command('drain')
    .description("move every guest off a node, each placed on a target it fits on, with migrate's checks")
    .argument('<node>', 'the node to empty')
    .option('--to <node,…>', 'the targets, comma-separated (default: every other online node of the inventory)')
    .option('--parallel <n>', 'guests at once, 1 to 8 (default 1)')
    .option('--with-local-disks', 'also move guests with disks on local storage (they are copied, as pvx migrate --with-local-disks)')
    .option('--timeout <seconds>', 'per guest: how long to wait for its migration, HA moves included (default 3600)')
    .addHelpText('after', `
Each guest goes to a target where migrate's checks pass (storages present and enabled there, or
shared; no host paths or devices; disks on local storage only with --with-local-disks), its
configured memory fits the target's free memory (less what the plan already sends there), its
vCPUs fit the target's CPUs, and a running VM with CPU type 'host' keeps its CPU vendor. Among the
targets that fit, the one with the most free memory left wins. A guest that fits nowhere is named
with each target's reason and stays. Running VMs move live, running containers with a restart,
HA-managed guests through ha-manager migrate. --dry-run prints the placement and the exact commands.
Exit 0 when every guest left the node, 1 when any failed or stayed, 2 bad input (nothing ran),
3 the node or every target cannot be used (nothing changed). Run it again to continue.

Examples:
  pvx node drain pve1 --dry-run
  pvx node drain pve1 --to pve2,pve3 --parallel 2
  pvx node drain pve1 --json | jq '.result.guests[] | select(.status != "migrated")'`)
    .action(async (n: string, opts: Opts, cmd: Command) =>
      dispatch('node drain', cmd, async (deps) => (await import('./drain.js')).nodeDrain(deps, moveInput(n, opts)), render),
    );

  const maint = node.command('maintenance').description('HA maintenance mode of a node, with its other guests moved off and back');
  maint
    .command('enable')
    .description('put a node in HA maintenance mode (the HA stack moves its HA guests), then move its other guests off like drain')
    .argument('<node>', 'the node')
    .option('--to <node,…>', 'targets for the guests pvx moves, comma-separated (default: every other online node)')
    .option('--parallel <n>', 'guests at once, 1 to 8 (default 1)')
    .option('--with-local-disks', 'also move guests with disks on local storage (they are copied)')
    .option('--timeout <seconds>', 'how long to wait for the HA stack, and per guest for its migration (default 3600)')
    .addHelpText('after', `
Runs ha-manager crm-command node-maintenance enable <node> (PVE 8 and later) and waits until
ha-manager status shows the node's LRM in maintenance mode and none of its HA guests on it; then
every other guest moves as with pvx node drain. Where each guest went is recorded in
$XDG_STATE_HOME/pvx/maintenance/<node>.json (or $PVX_STATE_DIR) after each move, for
disable --return. On an older PVE every guest is moved like drain. Exit 0 done, 1 a step failed
before any change, 2 bad input, 3 the node or every target cannot be used, 4 failed after the
maintenance request (run the same command again to continue).

Examples:
  pvx node maintenance enable pve1 --dry-run
  pvx node maintenance enable pve1 --parallel 2`)
    .action(async (n: string, opts: Opts, cmd: Command) =>
      dispatch('node maintenance enable', cmd, async (deps) => (await import('./maintenance.js')).maintenanceEnable(deps, moveInput(n, opts)), render),
    );
  maint
    .command('disable')
    .description('end HA maintenance mode of a node; --return brings back the guests pvx moved')
    .argument('<node>', 'the node')
    .option('--return', 'migrate the guests pvx moved off the node back to it (the HA stack brings its running HA guests back itself)')
    .option('--parallel <n>', 'guests at once, 1 to 8 (default 1)')
    .option('--with-local-disks', 'also bring back guests with disks on local storage (they are copied)')
    .option('--timeout <seconds>', 'how long to wait for the HA stack, and per guest for its migration (default 3600)')
    .addHelpText('after', `
Runs ha-manager crm-command node-maintenance disable <node> and waits until ha-manager status
shows its LRM out of maintenance mode. The HA stack migrates the HA guests that were running back
by itself; with --return pvx also moves back each guest it recorded, if it is still where pvx put
it, and waits for those HA guests. Exit codes as for enable.

Examples:
  pvx node maintenance disable pve1 --return --dry-run
  pvx node maintenance disable pve1 --return`)
    .action(async (n: string, opts: Opts, cmd: Command) =>
      dispatch(
        'node maintenance disable',
        cmd,
        async (deps) => (await import('./maintenance.js')).maintenanceDisable(deps, { ...moveInput(n, opts), return: opts['return'] === true }),
        render,
      ),
    );
}
