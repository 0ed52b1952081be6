/** The commander root: global options and help; each topic registers its commands (commands/<topic>/define.ts), whose implementations load only when run. */
import { Command, Option } from 'commander';
import { registerCluster } from './commands/cluster/define.js';
import { registerCompleteHook, registerCompletion } from './commands/completion/define.js';
import { registerHa } from './commands/ha/define.js';
import { registerLab } from './commands/lab/define.js';
import { registerMigrate } from './commands/migrate/define.js';
import { registerNode } from './commands/node/define.js';
import { registerPreflight } from './commands/preflight/define.js';
import { registerReplication } from './commands/replication/define.js';
import { registerSchema } from './commands/schema/define.js';
import { positiveInt } from './commands/shared/options.js';
import type { Dispatch, PrintContext } from './commands/shared/dispatch.js';

export type { Dispatch, PrintContext } from './commands/shared/dispatch.js';

const EXIT_HELP = `
Exit codes:
  0 success          1 a step failed (nothing left half-changed)   2 bad input or config (nothing ran)
  3 preflight failed 4 failed after changes (see the journal)       5 cluster not quorate
  6 node unreachable 130 cancelled`;

/** Build the program; `dispatch` is called by each command's action, `print` serves the commands that only print. */
export function buildProgram(version: string, dispatch: Dispatch, print: PrintContext): Command {
  const program = new Command('pvx')
    .description('Safe Proxmox VE cluster workflows over SSH: preflight, create, join, status, teardown, migrate, node drain/maintenance, ha, replication, lab')
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

  registerPreflight(program, dispatch);
  registerCluster(program, dispatch);
  registerMigrate(program, dispatch);
  registerNode(program, dispatch);
  registerHa(program, dispatch);
  registerReplication(program, dispatch);
  registerLab(program, dispatch);
  registerCompletion(program, print);
  registerSchema(program, print);
  registerCompleteHook(program, print);
  return program;
}

/** The root `--help` text at a help width, exactly as `pvx --help` prints it to a stdout of that width. */
export function renderRootHelp(version: string, width: number): string {
  const noop = async (): Promise<void> => undefined;
  const program = buildProgram(version, noop, { env: {}, cwd: '/', out: () => undefined });
  let text = '';
  program.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => width, getOutHasColors: () => false });
  program.outputHelp();
  return text;
}

/** Apply a setting to a command and every sub-command (commander copies settings only at creation). */
export function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, fn);
}
