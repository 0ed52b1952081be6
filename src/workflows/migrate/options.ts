/** The options of `pvx migrate`, validated before anything runs (every problem reported at once). */
import { isPositiveWhole } from '../../config/env-vars.js';
import { isStorageId, nodeNameProblem } from '../../pve/names.js';
import type { MigrateRequest } from './checks.js';

/** The options as commander hands them over (strings, unparsed). */
export interface MigrateInput {
  guests: string[];
  to?: string;
  online?: boolean;
  restart?: boolean;
  bwlimit?: string;
  targetStorage?: string;
  withLocalDisks?: boolean;
  parallel?: string;
  timeout?: string;
}

/** Validated options. */
export interface MigrateOptions extends MigrateRequest {
  parallel: number;
  timeoutSec: number;
}

/** Most guests at once: each holds an SSH session on its node, and sshd's MaxSessions defaults to 10. */
export const MAX_PARALLEL = 8;
/** Default per-guest limit: a live migration of a large VM, or a disk copy, takes a while. */
export const DEFAULT_TIMEOUT_SEC = 3600;
const MAX_TIMEOUT_SEC = 7 * 24 * 3600;
const MAX_BWLIMIT_MIB = 1024 * 1024;

/** --parallel (1 to MAX_PARALLEL, default 1) and --timeout (seconds, default DEFAULT_TIMEOUT_SEC), as migrate and node drain take them; problems are appended. */
export function parseParallelAndTimeout(input: { parallel?: string; timeout?: string }, problems: string[]): { parallel: number; timeoutSec: number } {
  let parallel = 1;
  if (input.parallel !== undefined) {
    if (!isPositiveWhole(input.parallel) || Number(input.parallel) > MAX_PARALLEL) {
      problems.push(`--parallel must be a whole number from 1 to ${MAX_PARALLEL}, got '${input.parallel}'`);
    } else parallel = Number(input.parallel);
  }
  let timeoutSec = DEFAULT_TIMEOUT_SEC;
  if (input.timeout !== undefined) {
    if (!isPositiveWhole(input.timeout) || Number(input.timeout) > MAX_TIMEOUT_SEC) {
      problems.push(`--timeout must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SEC}, got '${input.timeout}'`);
    } else timeoutSec = Number(input.timeout);
  }
  return { parallel, timeoutSec };
}

/** Parse and check the options; `problems` is empty when they are usable. */
export function parseMigrateOptions(input: MigrateInput): { options?: MigrateOptions; problems: string[] } {
  const problems: string[] = [];
  const target = input.to ?? '';
  if (target === '') problems.push('--to <node> is required: the node the guests move to');
  else {
    const p = nodeNameProblem(target);
    if (p) problems.push(`--to: ${p}`);
  }
  if (input.online && input.restart) {
    problems.push('--online and --restart exclude each other: --online moves running VMs live, --restart moves running containers by restarting them; run once per kind');
  }

  let bwlimitKiB: number | undefined;
  if (input.bwlimit !== undefined) {
    const v = input.bwlimit.trim();
    const n = Number(v);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || !(n > 0) || n > MAX_BWLIMIT_MIB) {
      problems.push(`--bwlimit must be a bandwidth in MiB/s above 0 (e.g. 100 or 12.5), got '${input.bwlimit}'`);
    } else {
      bwlimitKiB = Math.max(1, Math.round(n * 1024));
    }
  }

  if (input.targetStorage !== undefined && !isStorageId(input.targetStorage)) {
    problems.push(`--target-storage must be a storage ID (letters, digits, '-', '_', '.', starting with a letter, e.g. local-lvm), got '${input.targetStorage}'`);
  }

  const { parallel, timeoutSec } = parseParallelAndTimeout(input, problems);

  if (problems.length > 0) return { problems };
  return {
    problems,
    options: {
      target,
      online: Boolean(input.online),
      restart: Boolean(input.restart),
      withLocalDisks: Boolean(input.withLocalDisks),
      ...(input.targetStorage !== undefined ? { targetStorage: input.targetStorage } : {}),
      ...(bwlimitKiB !== undefined ? { bwlimitKiB } : {}),
      parallel,
      timeoutSec,
    },
  };
}
