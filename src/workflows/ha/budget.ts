/** Availability as downtime: what a target percentage allows a year, a month, a week and a day. */

/** The availability table of the course: 99 % (two nines) to 99.99999 % (seven nines). */
export const AVAILABILITY_LEVELS = [99, 99.9, 99.99, 99.999, 99.9999, 99.99999] as const;

const DAY = 86_400;
/** A year of 365 days, as the table counts (99 % = 3.65 days). */
const YEAR = 365 * DAY;

/** Allowed downtime in seconds per period. */
export interface DowntimeBudget {
  percent: number;
  year: number;
  month: number;
  week: number;
  day: number;
}

/** Downtime a percentage allows; the month is a twelfth of the year. */
export function downtimeBudget(percent: number): DowntimeBudget {
  const down = (100 - percent) / 100;
  return { percent, year: down * YEAR, month: (down * YEAR) / 12, week: down * 7 * DAY, day: down * DAY };
}

function fixed(n: number): string {
  return n.toFixed(2).replace(/\.?0+$/, '');
}

/** A duration in the largest unit that keeps it at least 1: `3.65 days`, `8.76 hours`, `52.56 minutes`, `3.15 s`. */
export function durationText(seconds: number): string {
  if (seconds >= DAY) return `${fixed(seconds / DAY)} days`;
  if (seconds >= 3600) return `${fixed(seconds / 3600)} hours`;
  if (seconds >= 60) return `${fixed(seconds / 60)} minutes`;
  if (seconds >= 1 || seconds === 0) return `${fixed(seconds)} s`;
  return `${fixed(seconds * 1000)} ms`;
}

/** The percentage a user typed (`99.99` or `99.99%`), or why it is not one. */
export function parsePercent(raw: string): { percent: number } | { problem: string } {
  const t = raw.trim().replace(/\s*%$/, '');
  const n = Number(t);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(t) || !(n > 0) || n > 100) return { problem: `'${raw}' is not an availability percentage: give a number above 0 and at most 100, e.g. 99.99` };
  return { percent: n };
}

/** The whole table. */
export function availabilityTable(): DowntimeBudget[] {
  return AVAILABILITY_LEVELS.map(downtimeBudget);
}
