import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { readWatchdogTimeout, validateWatchdogTimeout } from '../../../src/lab/watchdog.js';

describe('the lab watchdog timeout', () => {
  const dirs: string[] = [];
  const labRoot = (state?: string): string => {
    const d = mkdtempSync(path.join(tmpdir(), 'pvx-wd-'));
    dirs.push(d);
    if (state !== undefined) writeFileSync(path.join(d, 'lab.json'), state);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('accepts whole seconds from 1 to 3600 and refuses anything else as bad input', () => {
    expect(validateWatchdogTimeout(1)).toBe(1);
    expect(validateWatchdogTimeout(3600)).toBe(3600);
    for (const bad of [0, -5, 2.5, 3601, Number.NaN]) expect(() => validateWatchdogTimeout(bad)).toThrow(UsageError);
  });

  it('is read from lab.json, and is 60 s (real nodes) when the lab has none or an unusable one', () => {
    expect(readWatchdogTimeout(labRoot('{"version":1,"watchdogTimeout":6}'))).toBe(6);
    expect(readWatchdogTimeout(labRoot('{"version":1}'))).toBe(60);
    expect(readWatchdogTimeout(labRoot('{"watchdogTimeout":"6"}'))).toBe(60);
    expect(readWatchdogTimeout(labRoot('{"watchdogTimeout":0}'))).toBe(60);
    expect(readWatchdogTimeout(labRoot('not json'))).toBe(60);
    expect(readWatchdogTimeout(labRoot())).toBe(60);
  });
});
