import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shJoin, shQuote } from '../../../src/transport/quote.js';

// Every value must come back from the real /bin/sh as exactly one argument, byte for byte.
const HOSTILE = [
  '',
  ' ',
  'plain',
  "it's",
  "''",
  '"double"',
  '$(touch /tmp/pvx-pwned)',
  '`id`',
  '${HOME}',
  '$HOME',
  'a\nb',
  '\n',
  'tab\there',
  '*',
  '/etc/*',
  '?',
  '[a-z]',
  '~',
  '~root',
  'a;b',
  'a|b',
  'a&b',
  'a&&b',
  '>out',
  '<in',
  '-rf',
  '--force',
  '-',
  'ünïcödé ✓ 日本',
  '\\',
  "\\'",
  '!',
  '#comment',
  'a b  c',
  '%s',
  '=x',
  'x=1',
  '\u0001ctl',
];

function roundTrip(values: readonly string[]): string[] {
  // printf '%s\0' prints each argument NUL-terminated, so newlines inside values survive
  const script = `printf '%s\\0' ${values.map(shQuote).join(' ')}`;
  const out = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shQuote against /bin/sh', () => {
  it.each(HOSTILE.map((v) => [JSON.stringify(v), v]))('%s survives as one word', (_label, value) => {
    expect(roundTrip([value])).toEqual([value]);
  });

  it('keeps a whole hostile argv apart, in order', () => {
    expect(roundTrip(HOSTILE)).toEqual(HOSTILE);
  });

  it('never lets a command substitution run', () => {
    const marker = `/tmp/pvx-quote-${process.pid}`;
    execFileSync('/bin/sh', ['-c', `echo ${shQuote(`$(touch ${marker})`)} ${shQuote(`\`touch ${marker}\``)} >/dev/null`]);
    expect(() => execFileSync('test', ['-e', marker])).toThrow();
  });

  it('leaves plain words readable and quotes everything else', () => {
    expect(shQuote('pvecm')).toBe('pvecm');
    expect(shQuote('/etc/pve/corosync.conf')).toBe('/etc/pve/corosync.conf');
    expect(shQuote('a b')).toBe("'a b'");
    expect(shQuote('')).toBe("''");
    expect(shQuote("it's")).toBe("'it'\\''s'");
    expect(shQuote('~')).toBe("'~'");
  });

  it('shJoin quotes every element and refuses an empty argv', () => {
    expect(shJoin(['pvecm', 'add', '10.0.0.1', '--link0', 'a b'])).toBe("pvecm add 10.0.0.1 --link0 'a b'");
    expect(() => shJoin([])).toThrow();
  });
});
