import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decideColor } from '../../../src/ui/io.js';
import { envelopeOf, errorEnvelope } from '../../../src/ui/report.js';
import { UsageError } from '../../../src/errors.js';

describe('decideColor', () => {
  it('follows --no-color, FORCE_COLOR, NO_COLOR, then the TTY', () => {
    expect(decideColor(false, {}, true)).toBe(true);
    expect(decideColor(false, {}, false)).toBe(false);
    expect(decideColor(true, { FORCE_COLOR: '1' }, true)).toBe(false);
    expect(decideColor(false, { FORCE_COLOR: '1' }, false)).toBe(true);
    expect(decideColor(false, { FORCE_COLOR: '0' }, true)).toBe(false);
    expect(decideColor(false, { NO_COLOR: '1' }, true)).toBe(false);
  });
});

describe('JSON envelope', () => {
  it('has schemaVersion 1 and an error body for failures', () => {
    expect(errorEnvelope('cluster status', new UsageError('bad', { hint: 'fix' }))).toEqual({
      schemaVersion: 1,
      command: 'cluster status',
      ok: false,
      error: { code: 'USAGE', exitCode: 2, message: 'bad', hint: 'fix' },
      warnings: [],
    });
    expect(envelopeOf({ command: 'x', result: { a: 1 }, exitCode: 0, warnings: ['w'] })).toEqual({
      schemaVersion: 1, command: 'x', ok: true, result: { a: 1 }, warnings: ['w'],
    });
  });
});

describe('systemIO', () => {
  it('does not build process.stdin until a command reads it (a pipe costs milliseconds of start-up)', () => {
    // a child of its own (on the build, as pvx runs): this test process's stdin may already exist
    const script = `
      let touched = false;
      const real = Object.getOwnPropertyDescriptor(process, 'stdin');
      Object.defineProperty(process, 'stdin', { configurable: true, get() { touched = true; return real.get.call(process); } });
      const { systemIO } = await import(${JSON.stringify(new URL('../../../dist/ui/io.js', import.meta.url).pathname)});
      const io = systemIO(true, {});
      const before = touched;
      const isTTY = io.stdinIsTTY;
      const s = io.stdin;
      process.stdout.write(JSON.stringify({ before, isTTY, after: touched, same: s === real.get.call(process) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ before: false, isTTY: false, after: true, same: true });
  });
});
