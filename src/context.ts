/** Everything a command may use, injected: IO, output, prompts, inventory, transport. */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { ConfigError } from './errors.js';
import type { PvxEnv } from './config/env-vars.js';
import { findInventory, loadInventory, type Inventory, type InventoryNode } from './config/inventory.js';
import { runtimeDir, stateDir } from './config/paths.js';
import { DryRunTransport } from './transport/dry-run.js';
import { journalObserver, journalPath } from './transport/journal.js';
import { shQuote } from './transport/quote.js';
import { ObservedTransport } from './transport/observed.js';
import { SshTransport, type SshTarget } from './transport/ssh.js';
import type { ExecObserver, PlannedCommand, Transport } from './transport/types.js';
import type { IO } from './ui/io.js';
import type { Progress } from './ui/progress.js';
import type { Prompter } from './ui/prompter.js';
import type { Theme } from './ui/theme.js';

/** The global options of CLI.md, resolved (flags > env > defaults). */
export interface GlobalOptions {
  inventory: string | undefined;
  json: boolean;
  yes: boolean;
  dryRun: boolean;
  verbose: boolean;
  quiet: boolean;
  noColor: boolean;
  connectTimeout: number | undefined;
}

/** Builds the transport for a set of inventory nodes (replaced by a fake in command tests). */
export type TransportFactory = (nodes: readonly InventoryNode[], inv: Inventory) => Transport;

/** Who this run is: what the cluster lock records of its holder, and how to tell a local holder is gone. */
export interface RunIdentity {
  /** this workstation's host name */
  host: string;
  user: string;
  pid: number;
  /** the pvx command line of this run */
  command: string;
  /** true while a process with this pid runs on this workstation */
  alive(pid: number): boolean;
}

/** The dependencies of every command. */
export interface Deps {
  io: IO;
  theme: Theme;
  /** the process environment, for what is not pvx's own (HOME, XDG_*, USER) */
  env: NodeJS.ProcessEnv;
  /** the PVX_* variables, read once by the CLI */
  pvx: PvxEnv;
  cwd: string;
  globals: GlobalOptions;
  progress: Progress;
  prompter: Prompter;
  /** the inventory (found per CLI.md); ConfigError when there is none */
  inventory(): Inventory;
  /** the transport for these (inventory) nodes: journaled, verbose-aware, dry-run-enforcing */
  transport(nodes: readonly InventoryNode[]): Transport;
  /** commands dry-run recorded instead of running */
  planned(): PlannedCommand[];
  now(): number;
  /** who this run is (the cluster lock's owner) */
  self: RunIdentity;
  /** warnings raised beside a command's own result (the cluster lock's), added to whatever it returns or throws */
  warnings: string[];
}

/** Options of makeDeps, so tests can swap the transport and the prompter. */
export interface DepsOptions {
  io: IO;
  theme: Theme;
  env: NodeJS.ProcessEnv;
  /** the PVX_* variables (readPvxEnv) */
  pvx: PvxEnv;
  cwd: string;
  globals: GlobalOptions;
  progress: Progress;
  prompter: Prompter;
  transportFactory?: TransportFactory;
  /** the arguments pvx was started with (without node and script), for the cluster lock's owner */
  argv?: readonly string[];
  /** reads started from argv before the command loaded (commands/shared/early-reads.ts) */
  early?: EarlyStart | undefined;
}

/** An inventory read and a transport made before the command loaded, with the reads started on it. */
export interface EarlyStart {
  /** the inventory file it was read from */
  file: string;
  inventory: Inventory;
  /** the connect timeout the transport was made with: --connect-timeout, else PVX_CONNECT_TIMEOUT (undefined: neither) */
  connectTimeout: number | undefined;
  transport: Transport;
}

/** The SSH transport factory of a run: a --connect-timeout flag wins over the inventory's and the default. */
export function sshTransportFactory(connectTimeout: number | undefined, pvx: PvxEnv, env: NodeJS.ProcessEnv): TransportFactory {
  return (nodes, i) => {
    const timeout = connectTimeout ?? i.ssh.connectTimeout ?? SSH_DEFAULTS.connectTimeout;
    const targets = new Map<string, SshTarget>(nodes.map((n) => [n.name, { ...n, connectTimeout: timeout }]));
    return new SshTransport(targets, {
      runtimeDir: runtimeDir(pvx.runtimeDir, env),
      controlPersist: SSH_DEFAULTS.controlPersist,
      maxNewConnections: SSH_DEFAULTS.maxNewConnections,
    });
  };
}

/** Default SSH settings of a run. */
export const SSH_DEFAULTS = { connectTimeout: 5, controlPersist: 60, maxNewConnections: 8 } as const;

/** Wire the dependencies of one run. */
export function makeDeps(o: DepsOptions): Deps {
  let inv: Inventory | undefined;
  const dry: DryRunTransport[] = [];
  const runId = randomBytes(4).toString('hex');
  let base: Transport | undefined;
  // the early start serves this run only when it read the inventory this run names, with the same SSH settings
  let early: EarlyStart | undefined;
  const inventory = (): Inventory => {
    if (inv) return inv;
    const file = findInventory(o.globals.inventory, o.pvx.inventory, o.env, o.cwd);
    if (!file) {
      throw new ConfigError('no inventory: pvx does not know which nodes to manage', {
        hint: 'pass -i <file> or set PVX_INVENTORY, or create ./pvx.yaml (format in the README); for the local lab: pvx lab up, then -i "$(pvx lab inventory)"',
      });
    }
    if (o.early && o.early.file === file && o.early.connectTimeout === o.globals.connectTimeout) {
      early = o.early;
      inv = early.inventory;
    } else {
      inv = loadInventory(file, o.env);
    }
    return inv;
  };
  const factory = o.transportFactory ?? sshTransportFactory(o.globals.connectTimeout, o.pvx, o.env);
  const observers: ExecObserver[] = [journalObserver(journalPath(stateDir(o.pvx.stateDir, o.env)), runId, o.globals.dryRun)];
  if (o.globals.verbose) {
    observers.push((ev) => {
      const code = ev.result ? (ev.result.skipped ? 'dry-run' : `exit ${ev.result.exitCode}`) : 'unreachable';
      const ms = ev.result ? ` ${ev.result.durationMs}ms` : '';
      o.io.err(`${o.theme.c.dim(`[${ev.node}] ${briefArgv(ev.argv)} → ${code}${ms}`)}\n`);
    });
  }
  return {
    io: o.io,
    theme: o.theme,
    env: o.env,
    pvx: o.pvx,
    cwd: o.cwd,
    globals: o.globals,
    progress: o.progress,
    prompter: o.prompter,
    inventory,
    transport() {
      // one underlying transport per run: a node found unreachable, or a connection opened, in one
      // phase of a workflow stays so in the next (no second connect timeout per phase)
      const i = inventory();
      base ??= early?.transport ?? factory(i.nodes, i);
      let t: Transport = base;
      if (o.globals.dryRun) {
        const d = new DryRunTransport(t);
        dry.push(d);
        t = d;
      }
      return new ObservedTransport(t, observers);
    },
    planned: () => dry.flatMap((d) => d.planned),
    now: () => Date.now(),
    self: runIdentity(o.argv ?? [], o.env),
    warnings: [],
  };
}

/** This process as the cluster lock names its holder. */
function runIdentity(argv: readonly string[], env: NodeJS.ProcessEnv): RunIdentity {
  let user = env['USER'] ?? env['LOGNAME'] ?? '';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry for this uid (a container): the environment's name, or none
  }
  return {
    host: os.hostname(),
    user,
    pid: process.pid,
    command: ['pvx', ...argv].map(shQuote).join(' '),
    alive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (e) {
        // EPERM: it runs, as another user
        return (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

/** argv for a verbose line: an embedded script shows as its first line and its length. */
export function briefArgv(argv: readonly string[]): string {
  return argv
    .map((a) => {
      const lines = a.split('\n');
      return lines.length > 1 ? `${lines[0]}… (${lines.length} lines)` : a;
    })
    .join(' ');
}
