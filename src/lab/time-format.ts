/** Timestamps the way systemd prints them ("Tue 2026-08-04 10:15:32 UTC", "5min 3s ago"), for the node stand-ins. */

/** The system time zone name (e.g. "Etc/UTC"). */
export function systemTimeZone(): string {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return !tz || tz === 'UTC' ? 'Etc/UTC' : tz;
}

function parts(d: Date, timeZone: string): Record<string, string> {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  return Object.fromEntries(f.formatToParts(d).map((p) => [p.type, p.value]));
}

/** Abbreviation and offset of a zone at `d`, e.g. ["UTC", "+0000"]. */
export function zoneInfo(d: Date, timeZone: string): [string, string] {
  const p = parts(d, timeZone);
  const local = Date.UTC(Number(p['year']), Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']), Number(p['second']));
  const offMin = Math.round((local - Math.floor(d.getTime() / 1000) * 1000) / 60_000);
  const sign = offMin < 0 ? '-' : '+';
  const abs = Math.abs(offMin);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  const name = p['timeZoneName'] ?? 'UTC';
  return [name === 'GMT' && offMin === 0 && /UTC/.test(timeZone) ? 'UTC' : name, offset];
}

/** "Tue 2026-08-04 10:15:32 UTC" in `timeZone`. */
export function formatSystemdTime(d: Date, timeZone = systemTimeZone()): string {
  const p = parts(d, timeZone);
  const [abbr] = zoneInfo(d, timeZone);
  return `${p['weekday']} ${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}:${p['second']} ${abbr}`;
}

/** A duration the way systemd prints "… ago": "3s", "5min 3s", "2h 5min", "3 days". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}min ${s % 60}s ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}min ago`;
  return `${Math.floor(h / 24)} days ago`;
}
