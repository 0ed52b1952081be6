/** The definition of `pvx migrate`: help, options and flag → input mapping; run and render load only when a command runs. */
import { Command } from 'commander';
import type { Dispatch } from '../shared/dispatch.js';

/** Register `pvx migrate` on the root. */
export function registerMigrate(program: Command, dispatch: Dispatch): void {
  program
    .command('migrate')
    .description('move guests to a node: checks first, then a worker pool; HA-managed guests are followed until they run there')
    .argument('<guests...>', 'VMIDs (100), ranges (100-110) and all@<node>, also comma-separated')
    .requiredOption('--to <node>', 'the node the guests move to')
    .option('--online', 'move running VMs live (qm migrate --online)')
    .option('--restart', 'move running containers by restarting them (pct migrate --restart)')
    .option('--bwlimit <MiB/s>', 'bandwidth limit in MiB/s (passed on as KiB/s)')
    .option('--target-storage <storage>', 'storage on the target for disks on local storage')
    .option('--with-local-disks', 'allow moving guests with disks on local storage (they are copied)')
    .option('--parallel <n>', 'guests at once, 1 to 8 (default 1)')
    .option('--timeout <seconds>', 'per guest: how long to wait for its migration, HA moves included (default 3600)')
    .addHelpText('after', `
Each guest ends migrated, failed or skipped (with the reason); a guest that cannot go is skipped and the
others go on. Checks before a guest starts: the target is online and quorate, the guest is not locked,
disks on local storage need --with-local-disks, a running VM needs --online, a running container
--restart; warnings for different CPU vendors on a live move and for little free memory on the target.
HA-managed guests move through ha-manager migrate and pvx waits until they run on the target;
ha-manager takes no target storage, so --target-storage with an HA-managed guest is refused (exit 2).
A VM's cloud-init drive and TPM state are copied without --with-local-disks; a drive given as a host
path (/dev/sdb) cannot be migrated unless marked shared=1.
A range selects the guests that exist in it. Exit 0 when every guest is on the target (already there
counts), 1 when any failed or was skipped, 2 bad input (nothing ran).

Examples:
  pvx migrate 100 --to pve2 --online
  pvx migrate 100-110 105 --to pve3 --online --parallel 4 --bwlimit 200
  pvx migrate all@pve1 --to pve2 --online --dry-run
  pvx migrate all@pve1 --to pve2 --restart --json | jq '.result.guests[] | select(.status != "migrated")'`)
    .action(async (guests: string[], opts: Record<string, string | boolean | undefined>, cmd: Command) =>
      dispatch(
        'migrate',
        cmd,
        async (deps) => {
          const s = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
          return (await import('./run.js')).migrate(deps, {
            guests,
            ...(s('to') !== undefined ? { to: s('to') } : {}),
            online: opts['online'] === true,
            restart: opts['restart'] === true,
            withLocalDisks: opts['withLocalDisks'] === true,
            ...(s('bwlimit') !== undefined ? { bwlimit: s('bwlimit') } : {}),
            ...(s('targetStorage') !== undefined ? { targetStorage: s('targetStorage') } : {}),
            ...(s('parallel') !== undefined ? { parallel: s('parallel') } : {}),
            ...(s('timeout') !== undefined ? { timeout: s('timeout') } : {}),
          });
        },
        async () => (await import('./render.js')).renderMigrate,
      ),
    );
}
