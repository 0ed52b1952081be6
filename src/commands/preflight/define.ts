/** The definition of `pvx preflight`: help, options and flag → input mapping; run and render load only when a command runs. */
import { Command } from 'commander';
import type { Dispatch } from '../shared/dispatch.js';

/** Register `pvx preflight` on the root. */
export function registerPreflight(program: Command, dispatch: Dispatch): void {
  program
    .command('preflight')
    .description('prove every prerequisite on every node, in parallel; change nothing')
    .option('--for <purpose>', 'the checks of: general, create, join, migrate or ha (default general)')
    .option('--nodes <a,b,c>', 'inventory nodes to check (default: all); for create the first one creates')
    .option('--cluster-name <name>', 'create: the name of the new cluster (checked too); join: the name the cluster must have')
    .option('--via <member>', 'join: a member of the cluster to join (default: the first clustered node)')
    .option('--skew-warn <seconds>', 'clock difference between nodes that warns (default 0.5)')
    .option('--skew-fail <seconds>', 'clock difference between nodes that fails (default 2)')
    .option('--latency-warn <ms>', 'link0 round trip that warns (default 5)')
    .addHelpText('after', `
Checks: ssh, node-names, pve-version, ntp-sync, clock-skew, hostname-resolution, udp-corosync
(every ordered pair, UDP 5405-5412 on link0), link-latency; for create/join also not-clustered,
no-guests, cluster-name, two-node; for join/migrate/ha quorum; for ha ha-votes (3 votes or a QDevice). Exit 0 all passed (warnings allowed),
3 a check failed, 2 bad input (nothing ran).

Examples:
  pvx preflight
  pvx preflight --for create --nodes pve1,pve2,pve3 --cluster-name prod
  pvx preflight --for join --nodes pve4 --via pve1
  pvx preflight --skew-warn 0.2 --latency-warn 2 --json | jq '.result.checks[] | select(.status=="fail")'`)
    .action(async (opts: Record<string, string | undefined>, cmd: Command) =>
      dispatch(
        'preflight',
        cmd,
        async (deps) =>
          (await import('./run.js')).preflight(deps, {
            for: opts['for'],
            nodes: opts['nodes'],
            clusterName: opts['clusterName'],
            via: opts['via'],
            skewWarn: opts['skewWarn'],
            skewFail: opts['skewFail'],
            latencyWarn: opts['latencyWarn'],
          }),
        async () => (await import('./render.js')).renderPreflight,
      ),
    );
}
