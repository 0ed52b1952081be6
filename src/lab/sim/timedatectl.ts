/**
 * `timedatectl` on a lab node (no systemd there, pitfall 10): status and show, from the session's
 * clock and the node's chronyd. It never sets the clock: a namespace shares the host's (pitfall 1).
 */
import { run } from './core/exec.js';
import { formatSystemdTime, systemTimeZone, zoneInfo } from '../time-format.js';
import type { SimContext, SimTool } from './types.js';

/** chronyd's view of the clock, from `chronyc tracking`. */
export interface ChronyView {
  /** chronyd answers */
  running: boolean;
  /** seconds the system clock is ahead (+) or behind (-) NTP time */
  offset?: number;
  leap?: string;
}

/** Parse `chronyc tracking` output. */
export function parseTracking(text: string): Omit<ChronyView, 'running'> {
  const out: Omit<ChronyView, 'running'> = {};
  const sys = /^System time\s*:\s*([\d.]+) seconds (fast|slow) of NTP time/m.exec(text);
  if (sys?.[1]) out.offset = Number(sys[1]) * (sys[2] === 'slow' ? -1 : 1);
  const leap = /^Leap status\s*:\s*(.+)$/m.exec(text);
  if (leap?.[1]) out.leap = leap[1].trim();
  return out;
}

/** Synchronised as timedatectl means it: chronyd runs, has a source, and is within 0.5 s of it. */
export function isSynchronized(v: ChronyView): boolean {
  return v.running && v.leap !== undefined && v.leap !== 'Not synchronised' && v.offset !== undefined && Math.abs(v.offset) < 0.5;
}

async function chrony(): Promise<ChronyView> {
  const r = await run('chronyc', ['-n', 'tracking'], { timeoutMs: 5000 });
  if (r.exitCode !== 0) return { running: false };
  return { running: true, ...parseTracking(r.stdout) };
}

async function properties(): Promise<Array<[string, string]>> {
  const now = new Date();
  const view = await chrony();
  return [
    ['Timezone', systemTimeZone()],
    ['LocalRTC', 'no'],
    ['CanNTP', 'yes'],
    ['NTP', view.running ? 'yes' : 'no'],
    ['NTPSynchronized', isSynchronized(view) ? 'yes' : 'no'],
    ['TimeUSec', formatSystemdTime(now)],
    ['RTCTimeUSec', 'n/a'],
  ];
}

async function status(ctx: SimContext): Promise<number> {
  const now = new Date();
  const tz = systemTimeZone();
  const [abbr, offset] = zoneInfo(now, tz);
  const view = await chrony();
  const rows: Array<[string, string]> = [
    ['Local time', formatSystemdTime(now, tz)],
    ['Universal time', formatSystemdTime(now, 'UTC')],
    ['RTC time', 'n/a'],
    ['Time zone', `${tz} (${abbr}, ${offset})`],
    ['System clock synchronized', isSynchronized(view) ? 'yes' : 'no'],
    ['NTP service', view.running ? 'active' : 'inactive'],
    ['RTC in local TZ', 'no'],
  ];
  for (const [k, v] of rows) ctx.out(`${k.padStart(25)}: ${v}\n`);
  return 0;
}

async function show(args: readonly string[], ctx: SimContext): Promise<number> {
  const wanted: string[] = [];
  let valueOnly = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-p' || a === '--property') wanted.push(...(args[++i] ?? '').split(','));
    else if (a.startsWith('--property=')) wanted.push(...a.slice('--property='.length).split(','));
    else if (a.startsWith('-p') && a.length > 2) wanted.push(...a.slice(2).split(','));
    else if (a === '--value') valueOnly = true;
  }
  const props = await properties();
  const chosen = wanted.length ? props.filter(([k]) => wanted.includes(k)) : props;
  for (const [k, v] of chosen) ctx.out(valueOnly ? `${v}\n` : `${k}=${v}\n`);
  return 0;
}

/** The timedatectl stand-in. */
export const timedatectl: SimTool = {
  name: 'timedatectl',
  async run(args, ctx) {
    const verb = args.find((a) => !a.startsWith('-'));
    const rest = verb === undefined ? args : args.filter((a, i) => i !== args.indexOf(verb));
    switch (verb ?? 'status') {
      case 'status':
        return status(ctx);
      case 'show':
        return show(rest, ctx);
      case 'set-time':
        ctx.err('Failed to set time: Automatic time synchronization is enabled\n');
        return 1;
      case 'set-ntp':
        ctx.err('Failed to set ntp: NTP not supported\n');
        return 1;
      case 'set-timezone':
        ctx.err('Failed to set time zone: Access denied\n');
        return 1;
      case 'set-local-rtc':
        ctx.err('Failed to set local RTC: Access denied\n');
        return 1;
      case 'list-timezones':
        for (const z of Intl.supportedValuesOf('timeZone')) ctx.out(`${z}\n`);
        return 0;
      default:
        ctx.err(`Unknown command verb ${verb}.\n`);
        return 1;
    }
  },
};
