/**
 * `pvx --help`: the text people see, and the copy written at build time that bin/pvx.js prints
 * instead of building the whole command tree; that copy must be the live text at each width it
 * serves, and is never used for another width or when older than the build's program.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { helpWidthOf, pickRootHelp, preRenderedRootHelp } from '../../bin/root-help.js';
import { rootHelpRenders, type RootHelpRender } from '../../src/root-help.js';
import { ROOT } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run-cli.js';

// the root help as pvx printed it to a pipe before the build-time copy existed
const BEFORE = readFileSync(path.join(ROOT, 'test', 'fixtures', 'help', 'root-help-80.txt'), 'utf8');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const stdoutTty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
const stdoutColumns = Object.getOwnPropertyDescriptor(process.stdout, 'columns');
/** Make commander see a terminal of this width on stdout (it asks process.stdout itself). */
function terminalOf(columns: number): void {
  Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
  Object.defineProperty(process.stdout, 'columns', { value: columns, configurable: true });
}
afterEach(() => {
  for (const [key, d] of [['isTTY', stdoutTty], ['columns', stdoutColumns]] as const) {
    if (d) Object.defineProperty(process.stdout, key, d);
    else delete (process.stdout as unknown as Record<string, unknown>)[key];
  }
});

async function liveHelp(columns?: number): Promise<string> {
  if (columns !== undefined) terminalOf(columns);
  const r = await runInProcess(['--help'], undefined);
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('pvx --help', () => {
  it('prints the root help byte for byte as before', async () => {
    expect(await liveHelp()).toBe(BEFORE);
  });

  it('has a build-time copy for a pipe (80 columns) and for every width where nothing wraps', () => {
    const renders = rootHelpRenders(VERSION);
    expect(renders.map((r) => [r.min, r.max])).toEqual([
      [80, 80],
      [renders[1]!.min, null],
    ]);
    expect(renders[0]!.text).toBe(BEFORE);
  });

  it('serves each width only the live text of that width', async () => {
    const renders = rootHelpRenders(VERSION);
    const wideFrom = renders[1]!.min;
    for (const width of [80, wideFrom, wideFrom + 1, 200, 500]) {
      expect(pickRootHelp(renders, width), `width ${width}`).toBe(await liveHelp(width));
    }
    // one column narrower the live text wraps differently: the copy is not used there
    expect(await liveHelp(wideFrom - 1)).not.toBe(renders[1]!.text);
    for (const width of [79, 81, wideFrom - 1, 0]) expect(pickRootHelp(renders, width), `width ${width}`).toBeUndefined();
  });
});

describe('the build-time root help in bin/', () => {
  const renders: RootHelpRender[] = [
    { min: 80, max: 80, text: 'eighty\n' },
    { min: 150, max: null, text: 'wide\n' },
  ];

  it('uses the width commander would: the columns of a terminal, else 80', () => {
    expect(helpWidthOf({ isTTY: false, columns: 120 })).toBe(80);
    expect(helpWidthOf({ isTTY: undefined })).toBe(80);
    expect(helpWidthOf({ isTTY: true, columns: 120 })).toBe(120);
    expect(helpWidthOf({ isTTY: true, columns: undefined })).toBe(80);
  });

  it('picks the render of the width, or none', () => {
    expect(pickRootHelp(renders, 80)).toBe('eighty\n');
    expect(pickRootHelp(renders, 150)).toBe('wide\n');
    expect(pickRootHelp(renders, 4000)).toBe('wide\n');
    expect(pickRootHelp(renders, 100)).toBeUndefined();
    expect(pickRootHelp(undefined, 80)).toBeUndefined();
  });

  /** A file system of two files with their modification times. */
  function fakeFs(help: { mtimeMs: number; text: string } | undefined, programMtimeMs: number) {
    return {
      statSync: (u: URL) => {
        if (u.pathname.endsWith('/dist/program.js')) return { mtimeMs: programMtimeMs };
        if (u.pathname.endsWith('/dist/root-help.json') && help) return { mtimeMs: help.mtimeMs };
        throw Object.assign(new Error(`ENOENT: ${u.pathname}`), { code: 'ENOENT' });
      },
      readFileSync: (u: URL) => {
        if (u.pathname.endsWith('/dist/root-help.json') && help) return help.text;
        throw Object.assign(new Error(`ENOENT: ${u.pathname}`), { code: 'ENOENT' });
      },
    };
  }
  const pipe = { isTTY: false };

  it('reads dist/root-help.json written after the program', () => {
    expect(preRenderedRootHelp(fakeFs({ mtimeMs: 2000, text: JSON.stringify({ renders }) }, 1000), pipe)).toBe('eighty\n');
    expect(preRenderedRootHelp(fakeFs({ mtimeMs: 2000, text: JSON.stringify({ renders }) }, 2000), pipe)).toBe('eighty\n');
  });

  it('leaves a stale, missing or unreadable copy to the live path', () => {
    expect(preRenderedRootHelp(fakeFs({ mtimeMs: 1000, text: JSON.stringify({ renders }) }, 2000), pipe)).toBeUndefined();
    expect(preRenderedRootHelp(fakeFs(undefined, 1000), pipe)).toBeUndefined();
    expect(preRenderedRootHelp(fakeFs({ mtimeMs: 2000, text: '{"renders": [' }, 1000), pipe)).toBeUndefined();
    expect(preRenderedRootHelp(fakeFs({ mtimeMs: 2000, text: '{}' }, 1000), pipe)).toBeUndefined();
  });
});
