/**
 * Calendar events of replication schedules (PVE::CalendarEvent, format `pve-calendar-event`): the
 * systemd-like subset `[WEEKDAYS] [HOURS:]MINUTES` with lists, ranges and repetitions, plus the
 * keywords minutely, hourly, daily and weekly. Errors are PVE's:
 * `invalid calendar event '<text>' - <reason>` (pve-common src/PVE/CalendarEvent.pm).
 */
import { Die } from './errors.js';

/** A parsed event: matching hours and minutes ('*' = all) and weekdays (0 = Sunday). */
export interface CalendarSpec {
  h: '*' | number[];
  m: '*' | number[];
  dow: number[];
}

const DOW: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const KEYWORDS: Record<string, string> = { minutely: '*:*', hourly: '*:0', daily: '0:0', weekly: 'mon 0:0' };

function timespec(p: string, max: number, set: Set<number>): boolean {
  let m = /^(\*|[0-9]+)(?:\/([1-9][0-9]*))?$/.exec(p);
  if (m) {
    const [, startText = '', repText] = m;
    if (repText !== undefined) {
      const rep = Number(repText);
      let start = startText === '*' ? 0 : Number(startText);
      if (start >= max) throw new Die(`value '${start}' out of range\n`);
      if (rep >= max) throw new Die(`repetition '${rep}' out of range\n`);
      for (; start < max; start += rep) set.add(start);
      return false;
    }
    if (startText === '*') return true;
    const v = Number(startText);
    if (v >= max) throw new Die(`value '${v}' out of range\n`);
    set.add(v);
    return false;
  }
  m = /^([0-9]+)\.\.([1-9][0-9]*)$/.exec(p);
  if (m) {
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (start >= max) throw new Die(`range start '${start}' out of range\n`);
    if (end >= max || end < start) throw new Die(`range end '${end}' out of range\n`);
    for (let i = start; i <= end; i++) set.add(i);
    return false;
  }
  throw new Die(`unable to parse calendar event '${p}'\n`);
}

function dowspec(p: string, set: Set<number>): void {
  const names = Object.keys(DOW).join('|');
  let m = new RegExp(`^(${names})$`, 'i').exec(p);
  if (m) {
    set.add(DOW[(m[1] ?? '').toLowerCase()] ?? 0);
    return;
  }
  m = new RegExp(`^(${names})\\.\\.(${names})$`, 'i').exec(p);
  if (m) {
    const start = DOW[(m[1] ?? '').toLowerCase()] ?? 0;
    const end = DOW[(m[2] ?? '').toLowerCase()] || 7;
    if (end < start) throw new Die(`wrong order in range '${p}'\n`);
    for (let i = start; i <= end; i++) set.add(i % 7);
    return;
  }
  throw new Die(`unable to parse weekday specification '${p}'\n`);
}

/** parse_calendar_event: the spec, or a Die with the parser's reason. */
export function parseCalendarEvent(text: string): CalendarSpec {
  let event = text.trim();
  if (event === '') throw new Die('unable to parse calendar event - event is empty\n');
  event = KEYWORDS[event.toLowerCase()] ?? event;
  const parts = event.split(/\s+/);
  const dows = new Set<number>();
  if (new RegExp(Object.keys(DOW).join('|'), 'i').test(parts[0] ?? '')) {
    for (const p of (parts.shift() ?? '').split(',')) dowspec(p, dows);
  } else {
    for (let i = 0; i < 7; i++) dows.add(i);
  }
  if (parts.length && (parts[0] ?? '').includes('-')) throw new Die('date specification not implemented\n');
  const time = parts.shift() ?? '00:00';
  const hours = new Set<number>();
  const minutes = new Set<number>();
  let allH = false;
  let allM = false;
  const chars = '[0-9*/.,]';
  const hm = new RegExp(`^(${chars}+):(${chars}+)$`).exec(time);
  if (hm) {
    for (const p of (hm[1] ?? '').split(',')) allH = timespec(p, 24, hours) || allH;
    for (const p of (hm[2] ?? '').split(',')) allM = timespec(p, 60, minutes) || allM;
  } else if (new RegExp(`^${chars}+$`).test(time)) {
    allH = true;
    for (const p of time.split(',')) allM = timespec(p, 60, minutes) || allM;
  } else {
    throw new Die('unable to parse calendar event\n');
  }
  if (parts.length) throw new Die('unable to parse calendar event - unused parts\n');
  const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
  return { h: allH ? '*' : sorted(hours), m: allM ? '*' : sorted(minutes), dow: sorted(dows) };
}

/** The `pve-calendar-event` format check: `invalid calendar event '<text>' - <reason>`. */
export function fmtCalendarEvent(text: string): void {
  try {
    parseCalendarEvent(text);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/\n$/, '');
    throw new Die(`invalid calendar event '${text}' - ${reason}\n`);
  }
}

/** compute_next_event: the first matching minute at least one minute after `last` (epoch seconds, local time). */
export function computeNextEvent(spec: CalendarSpec, last: number): number {
  let t = last + 60;
  for (let guard = 0; guard < 100_000; guard++) {
    const d = new Date(t * 1000);
    const startOfDay = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() / 1000;
    const hour = d.getHours();
    const min = d.getMinutes();
    const wday = d.getDay();
    t = startOfDay + hour * 3600 + min * 60;
    if (!spec.dow.includes(wday)) {
      const next = spec.dow.find((x) => x > wday);
      t = new Date(d.getFullYear(), d.getMonth(), d.getDate() + (next !== undefined ? next - wday : 7 - wday)).getTime() / 1000;
      continue;
    }
    if (spec.h !== '*' && !spec.h.includes(hour)) {
      const next = spec.h.find((x) => x > hour);
      t = next !== undefined ? startOfDay + next * 3600 : new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime() / 1000;
      continue;
    }
    if (spec.m !== '*' && !spec.m.includes(min)) {
      const next = spec.m.find((x) => x > min);
      t = next !== undefined ? startOfDay + hour * 3600 + next * 60 : startOfDay + (hour + 1) * 3600;
      continue;
    }
    return t;
  }
  throw new Die('unable to compute next calendar event\n');
}
