/** `timedatectl show -p NTPSynchronized --value` and `timedatectl status` (reference §7.1). */
import { ParseError } from './errors.js';
import { labelledValues, requireText, splitLines } from './text.js';

/** The parts of `timedatectl status` that the time-sync check uses. */
export interface TimedatectlStatus {
  systemClockSynchronized: boolean;
  /** `active` | `inactive`, or whatever systemd prints (`n/a` without an NTP unit) */
  ntpService?: string;
  timeZone?: string;
  /** every `Label: value` line, for diagnostics */
  fields: Record<string, string>;
}

function yesNo(tool: string, raw: string): boolean {
  const v = raw.trim();
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new ParseError(tool, `expected 'yes' or 'no', got '${v}'`, raw);
}

/** `timedatectl show -p NTPSynchronized --value` (`yes`/`no`); the `NTPSynchronized=yes` form without --value is accepted too. */
export function parseNtpSynchronized(text: string): boolean {
  const tool = 'timedatectl show -p NTPSynchronized';
  const lines = splitLines(requireText(tool, text))
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length !== 1) throw new ParseError(tool, `expected one line, got ${lines.length}`, text);
  const line = lines[0] ?? '';
  return yesNo(tool, line.startsWith('NTPSynchronized=') ? line.slice('NTPSynchronized='.length) : line);
}

/** `timedatectl status`; labels are right-aligned by systemd, so leading spaces are ignored. */
export function parseTimedatectlStatus(text: string): TimedatectlStatus {
  const tool = 'timedatectl status';
  const kv = labelledValues(splitLines(requireText(tool, text)), /^\s*([A-Za-z][A-Za-z ]*?):\s?(.*)$/);
  const synced = kv.get('System clock synchronized');
  if (synced === undefined) throw new ParseError(tool, "missing 'System clock synchronized:' line", text);
  const out: TimedatectlStatus = { systemClockSynchronized: yesNo(tool, synced), fields: Object.fromEntries(kv) };
  const ntp = kv.get('NTP service');
  if (ntp !== undefined) out.ntpService = ntp;
  const tz = kv.get('Time zone');
  if (tz !== undefined) out.timeZone = tz;
  return out;
}
