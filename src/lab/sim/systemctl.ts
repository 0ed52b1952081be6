/** `systemctl` on a lab node (no systemd there, pitfall 10): start/stop/restart/kill/status/is-active of ssh, chrony, corosync, corosync-qdevice, pve-cluster, pve-ha-crm, pve-ha-lrm, pvescheduler. */
import { readFile } from 'node:fs/promises';
import { killService, reloadService, startService, stopService, unitStatus, type UnitStatus } from '../services.js';
import { formatAgo, formatSystemdTime } from '../time-format.js';
import { findUnit, unit, UNITS, COROSYNC_CONF, type UnitSpec } from '../units.js';
import type { SimContext, SimTool } from './types.js';

interface Parsed {
  verb: string;
  units: string[];
  quiet: boolean;
  signal: NodeJS.Signals;
  now: boolean;
}

function parseSignal(s: string): NodeJS.Signals | undefined {
  const name = /^\d+$/.test(s) ? { '1': 'SIGHUP', '2': 'SIGINT', '9': 'SIGKILL', '15': 'SIGTERM', '10': 'SIGUSR1', '12': 'SIGUSR2' }[s] : s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  return name && ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGABRT', 'SIGKILL', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGSTOP', 'SIGCONT'].includes(name) ? (name as NodeJS.Signals) : undefined;
}

function parseArgs(args: readonly string[]): Parsed | string {
  const p: Parsed = { verb: '', units: [], quiet: false, signal: 'SIGTERM', now: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    let sig: string | undefined;
    if (a === '-s' || a === '--signal') sig = args[++i] ?? '';
    else if (a.startsWith('--signal=')) sig = a.slice('--signal='.length);
    else if (a === '-q' || a === '--quiet') p.quiet = true;
    else if (a === '--now') p.now = true;
    else if (a.startsWith('-')) continue; // --no-pager, -l, --full, --no-block, …: no effect here
    else if (!p.verb) p.verb = a;
    else p.units.push(a);
    if (sig !== undefined) {
      const s = parseSignal(sig);
      if (!s) return `Failed to parse signal string ${sig}.`;
      p.signal = s;
    }
  }
  return p;
}

const full = (name: string): string => (name.includes('.') ? name : `${name}.service`);

const DOCS: Record<string, string> = {
  ssh: 'man:sshd(8)',
  chrony: 'man:chronyd(8)',
  corosync: 'man:corosync',
  'corosync-qdevice': 'man:corosync-qdevice',
  'pve-cluster': 'man:pmxcfs(8)',
  'pve-ha-crm': 'man:pve-ha-crm(8)',
  'pve-ha-lrm': 'man:pve-ha-lrm(8)',
  pvescheduler: 'man:pvescheduler(8)',
};

async function statusText(u: UnitSpec, name: string, st: UnitStatus): Promise<string> {
  const dot = st.state === 'active' ? '●' : st.state === 'failed' ? '×' : '○';
  const lines = [`${dot} ${full(u.names[0] ?? name)} - ${u.description}`, `     Loaded: loaded (${u.unitFile}; enabled; preset: enabled)`];
  const when = (d: Date | undefined): string => (d ? ` since ${formatSystemdTime(d)}; ${formatAgo(Date.now() - d.getTime())}` : '');
  if (st.state === 'active') lines.push(`     Active: active (running)${when(st.since)}`);
  else if (st.state === 'failed') lines.push(`     Active: failed (Result: ${st.result ?? 'exit-code'})${when(st.since)}`);
  else lines.push('     Active: inactive (dead)');
  if (st.conditionFailedAt) {
    lines.push(`  Condition: start condition failed at ${formatSystemdTime(st.conditionFailedAt)}; ${formatAgo(Date.now() - st.conditionFailedAt.getTime())}`);
    lines.push(`             └─ ConditionPathExists=${COROSYNC_CONF} was not met`);
  }
  lines.push(`       Docs: ${DOCS[u.id] ?? 'man:systemd'}`);
  if (st.pid !== undefined) {
    const comm = (await readFile(`/proc/${st.pid}/comm`, 'utf8').catch(() => u.comm ?? '')).trim();
    lines.push(`   Main PID: ${st.pid} (${comm})`);
  }
  const tag = u.logTag;
  const log = (await readFile(u.log, 'utf8').catch(() => '')).trimEnd().split('\n').filter((l) => l && (!tag || l.includes(tag)));
  if (log.length) lines.push('', ...log.slice(-10));
  return `${lines.join('\n')}\n`;
}

function notFound(verb: string, name: string): string {
  switch (verb) {
    case 'stop':
    case 'kill':
      return `Failed to ${verb === 'kill' ? 'kill unit' : 'stop'} ${full(name)}: Unit ${full(name)} not loaded.\n`;
    case 'is-enabled':
      return `Failed to get unit file state for ${full(name)}: No such file or directory\n`;
    default:
      return `Failed to ${verb} ${full(name)}: Unit ${full(name)} not found.\n`;
  }
}

function jobFailed(name: string, reason: string): string {
  return `Job for ${full(name)} failed because the control process exited with error code.\nSee "systemctl status ${full(name)}" and "journalctl -xeu ${full(name)}" for details.\n${reason ? `${reason}\n` : ''}`;
}

async function start(u: UnitSpec, name: string, ctx: SimContext): Promise<number> {
  // Wants=: the wanted units start too, and their failure does not fail this start
  for (const w of u.wants ?? []) await startService(unit(w));
  const r = await startService(u);
  if (r.ok) return 0;
  ctx.err(jobFailed(name, r.reason));
  return 1;
}

async function listUnits(ctx: SimContext): Promise<number> {
  const rows = await Promise.all(UNITS.map(async (u) => [full(u.names[0] as string), (await unitStatus(u)).state, u.description] as const));
  ctx.out(`  UNIT                   LOAD   ACTIVE   SUB     DESCRIPTION\n`);
  for (const [n, st, d] of rows) {
    const sub = st === 'active' ? 'running' : st === 'failed' ? 'failed' : 'dead';
    ctx.out(`  ${n.padEnd(22)} loaded ${st.padEnd(8)} ${sub.padEnd(7)} ${d}\n`);
  }
  ctx.out(`\n${rows.length} loaded units listed.\n`);
  return 0;
}

async function runOne(p: Parsed, name: string, ctx: SimContext): Promise<number> {
  const u = findUnit(name);
  if (!u) {
    if (p.verb === 'status') {
      ctx.err(`Unit ${full(name)} could not be found.\n`);
      return 4;
    }
    if (p.verb === 'is-active' || p.verb === 'is-failed') {
      if (!p.quiet) ctx.out('inactive\n');
      return p.verb === 'is-active' ? 3 : 1;
    }
    ctx.err(notFound(p.verb, name));
    return p.verb === 'is-enabled' ? 1 : 5;
  }
  switch (p.verb) {
    case 'start':
      return start(u, name, ctx);
    case 'stop':
      await stopService(u);
      return 0;
    case 'restart':
      await stopService(u);
      return start(u, name, ctx);
    case 'try-restart':
    case 'condrestart':
      if ((await unitStatus(u)).state !== 'active') return 0;
      await stopService(u);
      return start(u, name, ctx);
    case 'reload':
      if (await reloadService(u)) return 0;
      ctx.err(`Failed to reload ${full(name)}: Job type reload is not applicable for unit ${full(name)}.\n`);
      return 1;
    case 'reload-or-restart':
    case 'try-reload-or-restart':
      if ((await unitStatus(u)).state === 'active' && (await reloadService(u))) return 0;
      if (p.verb === 'try-reload-or-restart' && (await unitStatus(u)).state !== 'active') return 0;
      await stopService(u);
      return start(u, name, ctx);
    case 'kill':
      if (await killService(u, p.signal)) return 0;
      ctx.err(`Failed to kill unit ${full(name)}: No main process to kill\n`);
      return 1;
    case 'status': {
      const st = await unitStatus(u);
      ctx.out(await statusText(u, name, st));
      return st.state === 'active' ? 0 : 3;
    }
    case 'is-active': {
      const st = await unitStatus(u);
      if (!p.quiet) ctx.out(`${st.state}\n`);
      return st.state === 'active' ? 0 : 3;
    }
    case 'is-failed': {
      const st = await unitStatus(u);
      if (!p.quiet) ctx.out(`${st.state}\n`);
      return st.state === 'failed' ? 0 : 1;
    }
    case 'is-enabled':
      if (!p.quiet) ctx.out('enabled\n');
      return 0;
    case 'enable':
      return p.now ? start(u, name, ctx) : 0;
    case 'disable':
      if (p.now) await stopService(u);
      return 0;
    default:
      ctx.err(`Unknown command verb '${p.verb}'.\n`);
      return 1;
  }
}

const NEEDS_UNIT = new Set(['start', 'stop', 'restart', 'try-restart', 'condrestart', 'reload', 'reload-or-restart', 'try-reload-or-restart', 'kill', 'is-active', 'is-failed', 'is-enabled', 'enable', 'disable']);

/** The systemctl stand-in. */
export const systemctl: SimTool = {
  name: 'systemctl',
  async run(args, ctx) {
    const p = parseArgs(args);
    if (typeof p === 'string') {
      ctx.err(`${p}\n`);
      return 1;
    }
    if (!p.verb || p.verb === 'list-units') return listUnits(ctx);
    if (p.verb === 'daemon-reload' || p.verb === 'reset-failed') return 0;
    if (p.verb === 'status' && p.units.length === 0) return listUnits(ctx);
    if (NEEDS_UNIT.has(p.verb) && p.units.length === 0) {
      ctx.err(`Too few arguments.\n`);
      return 1;
    }
    if (!NEEDS_UNIT.has(p.verb) && p.verb !== 'status') {
      ctx.err(`Unknown command verb '${p.verb}'.\n`);
      return 1;
    }
    let code = 0;
    let anyActive = false;
    for (const name of p.units) {
      const c = await runOne(p, name, ctx);
      if (c === 0) anyActive = true;
      code = Math.max(code, c);
    }
    // is-active succeeds when at least one of the units is active
    return p.verb === 'is-active' && anyActive ? 0 : code;
  },
};
