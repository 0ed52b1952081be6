/** The commander tree: global options, every command, implementations loaded only when run. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Deps } from './context.js';
import type { Outcome } from './ui/report.js';

/** Runs a command's implementation with wired dependencies and renders its outcome. */
export type Dispatch = (
  name: string,
  cmd: Command,
  action: (deps: Deps) => Promise<Outcome>,
  render?: () => Promise<(o: Outcome, deps: Deps) => string>,
) => Promise<void>;

const EXIT_HELP = `
Exit codes:
  0 success          1 a step failed (nothing left half-changed)   2 bad input or config (nothing ran)
  3 preflight failed 4 failed after changes (see the journal)       5 cluster not quorate
  6 node unreachable 130 cancelled`;

/** Build the program; `dispatch` is called by each command's action. */
export function buildProgram(version: string, dispatch: Dispatch): Command {
  const program = new Command('pvx')
    .description('Safe Proxmox VE cluster workflows over SSH: preflight, create, join, status, lab')
    .version(version, '-V, --version', 'print the pvx version')
    .option('-i, --inventory <file>', 'inventory file (default ./pvx.yaml, then $XDG_CONFIG_HOME/pvx/inventory.yaml; env PVX_INVENTORY)')
    .option('--json', 'print exactly one JSON document on stdout (no spinners, no prompts)')
    .option('-y, --yes', 'confirm destructive steps without a prompt (required without a TTY)')
    .option('--dry-run', 'run the reads, print the exact native commands per node, change nothing')
    .option('-v, --verbose', 'print every remote command, its node, exit code and duration on stderr (env PVX_VERBOSE=1)')
    .option('-q, --quiet', 'only errors and the final result')
    .option('--no-color', 'no colours (also NO_COLOR; FORCE_COLOR forces them)')
    .addOption(new Option('--connect-timeout <seconds>', 'SSH connect timeout (env PVX_CONNECT_TIMEOUT)').argParser(positiveInt('--connect-timeout')))
    .addHelpText('after', `${EXIT_HELP}

Examples:
  pvx lab up                                  # a local 3-node rehearsal lab (root, Linux)
  pvx -i "$(pvx lab inventory)" cluster status
  pvx cluster status --json | jq .result.quorum`);

  const cluster = program.command('cluster').description('cluster membership: status');
  cluster
    .command('status')
    .description('cluster name, quorum and members, read from every inventory node in parallel')
    .option('--node <name>', 'ask only this inventory node')
    .addHelpText('after', `
Reads 'pvecm status', 'pvesh get /cluster/status' and 'pveversion' on each node and merges what they say.
Exit 0 quorate, 5 not quorate, 6 a node could not be reached.

Examples:
  pvx cluster status
  pvx cluster status --node pve2 --json`)
    .action(async (opts: { node?: string }, cmd: Command) =>
      dispatch(
        'cluster status',
        cmd,
        async (deps) => (await import('./commands/cluster-status.js')).clusterStatus(deps, { node: opts.node }),
        async () => (await import('./ui/render/cluster-status.js')).renderClusterStatus,
      ),
    );

  return program;
}

/** A commander arg parser for positive integers with a clear message. */
export function positiveInt(flag: string): (v: string) => number {
  return (v: string) => {
    if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError(`${flag} must be a positive whole number, got '${v}'`);
    return Number(v);
  };
}

/** Apply a setting to a command and every sub-command (commander copies settings only at creation). */
export function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, fn);
}
