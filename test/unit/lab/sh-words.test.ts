import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { labLine, labWord } from '../../../src/lab/sh-words.js';

// words a lab script may carry: paths, quotes, globs, expansions, newlines, an empty word
const WORDS = ['/usr/local/bin/pmxcfs', "it's", '"$HOME"', '*', '$(id)', '`id`', 'a b\tc', 'line1\nline2', '', "''", '\\', '-n', '~root'];

describe("the lab's own shell quoting", () => {
  it('reads back every word byte for byte through the real /bin/sh', () => {
    const out = execFileSync('sh', ['-c', `for w in ${labLine(WORDS)}; do printf '%s\\0' "$w"; done`], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(WORDS);
  });

  it('quotes even a plain word, and refuses an empty command line', () => {
    expect(labWord('plain')).toBe("'plain'");
    expect(labWord("a'b")).toBe(`'a'"'"'b'`);
    expect(() => labLine([])).toThrow('labLine: no words');
  });
});
