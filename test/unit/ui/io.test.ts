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
