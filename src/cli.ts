/** The entry: parses argv, runs the command, renders the result; the only place exit codes are set. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readPvxEnv, type PvxEnv } from './config/env-vars.js';
import type { GlobalOptions, TransportFactory } from './context.js';
import { EXIT, PvxError, UsageError, exitCodeOf } from './errors.js';
import type { Dispatch } from './program.js';
import { packageFileUrl } from './config/package-files.js';
import { systemIO, type IO } from './ui/io.js';
import type { Prompter } from './ui/prompter.js';
import { envelopeOf, errorEnvelope, writeHumanError, writeJson, writeWarnings } from './ui/report.js';
import type { Theme } from './ui/theme.js';

// --version and --help must stay close to Node's own start-up: everything a command needs
// (transport, zod, yaml, chalk) is imported only once a command runs.
async function loadTheme(color: boolean): Promise<Theme> {
  const { makeTheme } = await import('./ui/theme.js');
  return makeTheme(color);
}

/** What a run can be given instead of the process's own (command tests use this). */
export interface RunOptions {
  io?: IO;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  transportFactory?: TransportFactory;
  prompter?: Prompter;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(packageFileUrl('package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function globalsOf(cmd: Command, pvx: PvxEnv): GlobalOptions {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  // the flag wins, and a bad PVX_CONNECT_TIMEOUT is then never looked at
  const connectTimeout = (o['connectTimeout'] as number | undefined) ?? pvx.connectTimeout;
  return {
    inventory: o['inventory'] as string | undefined,
    json: Boolean(o['json']),
    yes: Boolean(o['yes']),
    dryRun: Boolean(o['dryRun']),
    verbose: Boolean(o['verbose']) || pvx.verbose,
    quiet: Boolean(o['quiet']),
    noColor: o['color'] === false,
    connectTimeout,
  };
}

/** Run pvx with these arguments (without node and script); resolves to the exit code. */
export async function run(argv: readonly string[], ro: RunOptions = {}): Promise<number> {
  const env = ro.env ?? process.env;
  const pvx = readPvxEnv(env);
  const wantsJson = argv.includes('--json');
  const noColor = argv.includes('--no-color');
  const io = ro.io ?? systemIO(noColor, env);
  let exitCode: number = EXIT.OK;
  let commandName = 'pvx';
  // warnings raised beside a command's result (the cluster lock's) also reach a thrown error's report
  let sideWarnings: readonly string[] = [];

  const dispatch: Dispatch = async (name, cmd, action, render) => {
    commandName = name;
    const globals = globalsOf(cmd, pvx);
    const [{ makeDeps }, { makeProgress }, { inquirerPrompter }, theme] = await Promise.all([
      import('./context.js'),
      import('./ui/progress.js'),
      import('./ui/prompter.js'),
      loadTheme(io.color && !noColor),
    ]);
    const progress = makeProgress(io, theme, { json: globals.json, quiet: globals.quiet });
    const deps = makeDeps({
      io, theme, env, pvx, cwd: ro.cwd ?? process.cwd(), globals, progress,
      prompter: ro.prompter ?? inquirerPrompter(io),
      ...(ro.transportFactory ? { transportFactory: ro.transportFactory } : {}),
      argv,
      early,
    });
    sideWarnings = deps.warnings;
    const returned = await action(deps);
    const outcome = deps.warnings.length > 0 ? { ...returned, warnings: [...returned.warnings, ...deps.warnings] } : returned;
    exitCode = outcome.exitCode;
    if (globals.json) {
      writeJson(io, envelopeOf(outcome));
      return;
    }
    if (render) io.out((await render())(outcome, deps));
    writeWarnings(io, theme, outcome.warnings);
    if (outcome.error) writeHumanError(io, theme, outcome.error, globals.verbose);
  };

  // the command tree (every topic's definition) loads only when a command is parsed: --version needs none of it
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.out(`${version()}\n`);
    return EXIT.OK;
  }
  // a read the command will make first starts now, so the nodes answer while the command loads
  const { startEarlyReads } = await import('./commands/shared/early-reads.js');
  const early = await startEarlyReads(argv, { pvx, env, cwd: ro.cwd ?? process.cwd(), transportFactory: ro.transportFactory });
  const { buildProgram, forEachCommand } = await import('./program.js');
  const program = buildProgram(version(), dispatch, { env, cwd: ro.cwd ?? process.cwd(), out: (text) => io.out(text) });
  commandName = commandPath(program, argv);
  forEachCommand(program, (c) => {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => io.out(s),
      // help-after-error goes to stderr for people; in --json mode only the envelope is printed
      writeErr: (s) => (wantsJson ? undefined : io.err(s)),
      // commander's own error line is replaced by ours (one message, JSON when asked)
      outputError: () => undefined,
    });
  });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    const e = toPvxError(err, await import('commander'));
    if (e === 'exit0') return EXIT.OK;
    if (wantsJson) writeJson(io, errorEnvelope(commandName, e, [...sideWarnings]));
    else {
      const theme = await loadTheme(io.color && !noColor);
      writeWarnings(io, theme, sideWarnings);
      writeHumanError(io, theme, e, pvx.verbose || argv.includes('-v') || argv.includes('--verbose'));
    }
    return exitCodeOf(e);
  }
  return exitCode;
}

/** The sub-command words of argv (`cluster status`), for naming the command in a usage error. */
function commandPath(program: Command, argv: readonly string[]): string {
  const words: string[] = [];
  let cmd: Command | undefined = program;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('-')) {
      // the value of `-i file` is no command word
      const opt = [program, cmd].flatMap((c) => c?.options ?? []).find((o) => o.long === a || o.short === a);
      if (opt && (opt.required || opt.optional)) i++;
      continue;
    }
    const sub: Command | undefined = cmd?.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    words.push(sub.name());
    cmd = sub;
  }
  return words.join(' ') || 'pvx';
}

// commander is loaded by then (program.js); cli.ts does not import it up front, so a node's read starts sooner
function toPvxError(err: unknown, { CommanderError, InvalidArgumentError }: typeof import('commander')): unknown {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 'exit0';
    if (err.code === 'commander.help') return new UsageError('a command is required', { hint: 'run pvx --help' });
    const cause = (err as { nestedError?: unknown }).nestedError;
    const msg = err.message.replace(/^error: /, '');
    return new UsageError(cause instanceof InvalidArgumentError ? cause.message : msg, {
      hint: 'run the command with --help for usage',
    });
  }
  if (err instanceof PvxError) return err;
  return err;
}
