/** `chronyc tracking` (reference §7.1). */
import { ParseError } from './errors.js';
import { labelledValues, requireText, splitLines, toInt, toNumber } from './text.js';

const TOOL = 'chronyc tracking';

/** Parsed tracking report; offsets in seconds, positive = local clock ahead of NTP time. */
export interface ChronyTracking {
  kind: 'tracking';
  synchronized: boolean;
  /** hex reference id, `00000000` when unsynchronised */
  referenceId: string;
  /** server name or address in parentheses after the id, absent when empty */
  referenceName?: string;
  stratum: number;
  refTimeUtc?: string;
  /** `System time`: signed, fast = +, slow = -; absent when the line is missing */
  systemTimeOffsetSec?: number;
  lastOffsetSec?: number;
  rmsOffsetSec?: number;
  /** `Frequency`: signed, fast = +, slow = - */
  frequencyPpm?: number;
  residualFreqPpm?: number;
  skewPpm?: number;
  rootDelaySec?: number;
  rootDispersionSec?: number;
  updateIntervalSec?: number;
  /** Normal | Insert second | Delete second | Not synchronised */
  leapStatus: string;
}

/** chronyd is not running or not reachable (`506 Cannot talk to daemon`). */
export interface ChronyDaemonUnreachable {
  kind: 'daemon-unreachable';
  message: string;
}

/** Result of parseChronyTracking. */
export type ChronyTrackingResult = ChronyTracking | ChronyDaemonUnreachable;

const UNREACHABLE = /^506 Cannot talk to daemon\s*$/m;

/** True when chronyc could not reach chronyd. */
export function isChronyDaemonUnreachable(output: string): boolean {
  return typeof output === 'string' && UNREACHABLE.test(output);
}

function signedSeconds(field: string, raw: string): number {
  const m = /^([\d.]+) seconds (fast|slow) of NTP time$/.exec(raw);
  if (!m) throw new ParseError(TOOL, `${field}: unexpected value '${raw}'`, raw);
  const v = toNumber(TOOL, field, m[1]);
  return m[2] === 'slow' ? -v : v;
}

function withUnit(field: string, raw: string | undefined, unit: string): number | undefined {
  if (raw === undefined) return undefined;
  const m = new RegExp(`^([-+]?[\\d.]+) ${unit}(?: (fast|slow))?$`).exec(raw);
  if (!m) throw new ParseError(TOOL, `${field}: unexpected value '${raw}'`, raw);
  const v = toNumber(TOOL, field, m[1]);
  return m[2] === 'slow' ? -v : v;
}

/** Parse `chronyc tracking`; pass stderr too so the "cannot talk to daemon" case is recognised. */
export function parseChronyTracking(stdout: string, stderr = ''): ChronyTrackingResult {
  const text = requireText(TOOL, stdout);
  const err = typeof stderr === 'string' ? stderr : '';
  if (isChronyDaemonUnreachable(text) || isChronyDaemonUnreachable(err)) {
    return { kind: 'daemon-unreachable', message: '506 Cannot talk to daemon' };
  }
  const kv = labelledValues(splitLines(text));
  const need = (label: string): string => {
    const v = kv.get(label);
    if (v === undefined) throw new ParseError(TOOL, `missing '${label}' line (not chronyc tracking output?)`, text);
    return v;
  };
  const ref = /^([0-9A-Fa-f]{8})\s*\((.*)\)$/.exec(need('Reference ID'));
  if (!ref) throw new ParseError(TOOL, 'unexpected Reference ID value', need('Reference ID'));
  const referenceId = (ref[1] ?? '').toUpperCase();
  const stratum = toInt(TOOL, 'Stratum', need('Stratum'));
  const leapStatus = need('Leap status');
  const out: ChronyTracking = {
    kind: 'tracking',
    // chrony reports an unsynchronised clock with leap status "Not synchronised", stratum 0 and id 0
    synchronized: leapStatus !== 'Not synchronised' && stratum > 0 && referenceId !== '00000000',
    referenceId,
    stratum,
    leapStatus,
  };
  const systemTime = kv.get('System time');
  if (systemTime !== undefined) out.systemTimeOffsetSec = signedSeconds('System time', systemTime);
  if (ref[2]) out.referenceName = ref[2];
  const optional: Array<[keyof ChronyTracking, string, string]> = [
    ['lastOffsetSec', 'Last offset', 'seconds'],
    ['rmsOffsetSec', 'RMS offset', 'seconds'],
    ['frequencyPpm', 'Frequency', 'ppm'],
    ['residualFreqPpm', 'Residual freq', 'ppm'],
    ['skewPpm', 'Skew', 'ppm'],
    ['rootDelaySec', 'Root delay', 'seconds'],
    ['rootDispersionSec', 'Root dispersion', 'seconds'],
    ['updateIntervalSec', 'Update interval', 'seconds'],
  ];
  for (const [key, label, unit] of optional) {
    const v = withUnit(label, kv.get(label), unit);
    if (v !== undefined) (out as unknown as Record<string, unknown>)[key] = v;
  }
  const refTime = kv.get('Ref time (UTC)');
  if (refTime !== undefined) out.refTimeUtc = refTime;
  return out;
}
