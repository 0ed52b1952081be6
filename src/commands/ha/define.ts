/** The definition of `pvx ha …` (add, set, remove, status, budget): help, options and flag → input mapping; run and render load only when a command runs. */
import { Command } from 'commander';
import type { Dispatch } from '../shared/dispatch.js';

/** Register `pvx ha …` (add, set, remove, status, budget) on the root. */
export function registerHa(program: Command, dispatch: Dispatch): void {
  const ha = program.command('ha').description('HA resources: add, remove, set, status, budget; groups on PVE 8, node-affinity rules on PVE 9');
  const haRender = async () => (await import('./render.js')).renderHaChange;
  const haChange = (name: string, how: string) =>
    ha
      .command(name)
      .option('--nodes <n1:prio,n2>', 'node preference: nodes with an optional priority (higher is preferred)')
      .option('--strict', 'run the guests only on the --nodes nodes (PVE 8: restricted group; PVE 9: strict rule)')
      .option('--state <state>', 'the requested state: started, stopped, disabled or ignored (default for add: the state the guest is in now)')
      .option('--max-restart <n>', 'restarts on the same node before relocating (ha-manager default 1)')
      .option('--max-relocate <n>', 'relocations to other nodes before giving up (ha-manager default 1)')
      .option('--comment <text>', 'a comment on the resource')
      .option('--timeout <seconds>', `how long to wait for the HA stack to show the new state (default 120)`)
      .description(how);
  const haInput = (guests: string[], opts: Record<string, string | boolean | undefined>) => {
    const s = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
    return {
      guests,
      ...(s('nodes') !== undefined ? { nodes: s('nodes') } : {}),
      strict: opts['strict'] === true,
      ...(s('state') !== undefined ? { state: s('state') } : {}),
      ...(s('maxRestart') !== undefined ? { maxRestart: s('maxRestart') } : {}),
      ...(s('maxRelocate') !== undefined ? { maxRelocate: s('maxRelocate') } : {}),
      ...(s('comment') !== undefined ? { comment: s('comment') } : {}),
      ...(s('timeout') !== undefined ? { timeout: s('timeout') } : {}),
    };
  };
  haChange('add', 'make guests HA resources, after proving the prerequisites; a stopped guest stays stopped unless --state says otherwise')
    .argument('<guests...>', 'VMIDs (100), ranges (100-110) and all@<node>, also comma-separated')
    .addHelpText('after', `
Before any change (exit 3 and nothing changed when one fails): every node reachable, same PVE version,
clocks in sync, the cluster quorate with at least 3 votes (or a QDevice), and every disk of each guest
on shared storage or replicated (ZFS) to every node HA may restart it on. Guests that are HA resources
already are left alone (exit 0). ha-manager add requests 'started' by default, which would start a
stopped guest: pvx adds each guest in the state it is in now unless --state says otherwise.
--nodes makes (or reuses) an HA group on PVE 8 and a node-affinity rule on PVE 9; --dry-run shows
which commands the detected version gets. pvx then waits until ha-manager status shows each guest
in its state. Exit 0 done, 2 bad input (nothing ran), 3 a prerequisite failed, 4 failed after changes.

Examples:
  pvx ha add 100 101 --dry-run
  pvx ha add 100 --nodes pve1:2,pve2:1
  pvx ha add 100-105 --nodes pve1,pve2 --strict --state started --max-relocate 2 --json`)
    .action(async (guests: string[], opts: Record<string, string | boolean | undefined>, cmd: Command) =>
      dispatch('ha add', cmd, async (deps) => (await import('./change.js')).haAdd(deps, haInput(guests, opts)), haRender),
    );
  haChange('set', 'change one HA resource: its requested state, node preference or limits')
    .argument('<guest>', 'the VMID of an HA resource')
    .addHelpText('after', `
--state waits until ha-manager status shows the new state. --nodes moves the resource to a group
(PVE 8) or node-affinity rule (PVE 9) of that preference, made or reused as for add.

Examples:
  pvx ha set 100 --state stopped
  pvx ha set 100 --nodes pve2:2,pve3 --dry-run`)
    .action(async (guest: string, opts: Record<string, string | boolean | undefined>, cmd: Command) =>
      dispatch('ha set', cmd, async (deps) => (await import('./change.js')).haSet(deps, haInput([guest], opts)), haRender),
    );
  ha.command('remove')
    .description('stop managing guests with HA; the guests keep running or stay stopped')
    .argument('<guests...>', 'VMIDs (100), ranges (100-110) and all@<node>')
    .addHelpText('after', `
On PVE 9 the guests leave their rules too (rules left empty go); on PVE 8 groups pvx made that nothing
uses any more are removed. Guests that are not HA resources are left alone (exit 0).

Examples:
  pvx ha remove 100 101
  pvx ha remove all@pve3 --dry-run`)
    .action(async (guests: string[], _opts: unknown, cmd: Command) =>
      dispatch('ha remove', cmd, async (deps) => (await import('./change.js')).haRemove(deps, { guests }), haRender),
    );
  ha.command('status')
    .description('the CRM master, each LRM, each HA resource, and the downtime each availability level allows')
    .option('--node <name>', 'read the status from this node (default: the first that answers)')
    .addHelpText('after', `
Reads ha-manager status (PVE 8, 9.0 and 9.1+ formats). Exit 0, 5 the node has no quorum, 6 unreachable.

Examples:
  pvx ha status
  pvx ha status --json | jq '.result.services[] | select(.state != "started")'`)
    .action(async (opts: { node?: string }, cmd: Command) =>
      dispatch('ha status', cmd, async (deps) => (await import('./status.js')).haStatus(deps, { node: opts.node }), async () => (await import('./render.js')).renderHaStatus),
    );
  ha.command('budget')
    .description('the downtime a year, month and week that an availability target allows (no node is asked)')
    .argument('<percent>', 'the target, e.g. 99.99')
    .addHelpText('after', `
Examples:
  pvx ha budget 99.95
  pvx ha budget 99.999 --json | jq .result.budget.month`)
    .action(async (percent: string, _opts: unknown, cmd: Command) =>
      dispatch('ha budget', cmd, async (deps) => (await import('./status.js')).haBudget(deps, percent), async () => (await import('./render.js')).renderHaBudget),
    );
}
