/**
 * The table of PVX_* variables: exactly the documented ones, each parsed as the README says, bad
 * values refused with exit 2 when used, and no other module of the product looking one up itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PVX_ENV_VARS, parseHold, readPvxEnv } from '../../../src/config/env-vars.js';
import { UsageError, exitCodeOf } from '../../../src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SRC = path.join(ROOT, 'src');

const DOCUMENTED = ['PVX_CONNECT_TIMEOUT', 'PVX_INVENTORY', 'PVX_PASSWORD_FILE', 'PVX_RUNTIME_DIR', 'PVX_STATE_DIR', 'PVX_TEARDOWN_HOLD', 'PVX_VERBOSE'];

/** The rows of the README's "Environment variables" table: name → what it does (markdown kept). */
function readmeRows(): Map<string, string> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^### Environment variables$/m)[1]?.split(/^#/m)[0] ?? '';
  return new Map([...section.matchAll(/^\| `(PVX_[A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const LOOKUP = /env\[\s*['"`]PVX_|env\.PVX_/;

/** `file:line` of every line of these files that looks a PVX_* variable up by its literal name. */
function lookups(files: readonly string[]): string[] {
  return files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .flatMap((line, i) => (LOOKUP.test(line) ? [`${path.relative(ROOT, f)}:${i + 1}`] : [])),
  );
}

function usageErrorOf(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect(exitCodeOf(e)).toBe(2);
    return e as UsageError;
  }
  throw new Error('no error thrown');
}

describe('the table of PVX_* variables', () => {
  it('lists exactly the variables the README documents', () => {
    expect(Object.values(PVX_ENV_VARS).map((v) => v.name).sort()).toEqual(DOCUMENTED);
    expect([...readmeRows().keys()].sort()).toEqual(DOCUMENTED);
  });

  it("says in each row what the README's table says", () => {
    const rows = readmeRows();
    for (const v of Object.values(PVX_ENV_VARS)) expect(rows.get(v.name)?.replaceAll('`', ''), v.name).toBe(v.description);
  });
});

describe('readPvxEnv', () => {
  /** Every field unset, verbose off. */
  function expectNothingSet(p: ReturnType<typeof readPvxEnv>): void {
    expect(p.inventory).toBeUndefined();
    expect(p.stateDir).toBeUndefined();
    expect(p.runtimeDir).toBeUndefined();
    expect(p.connectTimeout).toBeUndefined();
    expect(p.verbose).toBe(false);
    expect(p.passwordFile).toBeUndefined();
    expect(p.teardownHold).toBeUndefined();
  }

  it('gives nothing but verbose=false for an environment without PVX_* variables', () => {
    expectNothingSet(readPvxEnv({ HOME: '/home/u', XDG_STATE_HOME: '/home/u/.state' }));
  });

  it('parses every variable', () => {
    const p = readPvxEnv({
      PVX_INVENTORY: '~/lab.yaml',
      PVX_STATE_DIR: '/var/tmp/pvx-state',
      PVX_RUNTIME_DIR: '/run/pvx-sockets',
      PVX_CONNECT_TIMEOUT: '12',
      PVX_VERBOSE: '1',
      PVX_PASSWORD_FILE: 'secrets/root.txt',
      PVX_TEARDOWN_HOLD: 'pve2:/tmp/hold-here',
    });
    expect(p.inventory).toBe('~/lab.yaml');
    expect(p.stateDir).toBe('/var/tmp/pvx-state');
    expect(p.runtimeDir).toBe('/run/pvx-sockets');
    expect(p.connectTimeout).toBe(12);
    expect(p.verbose).toBe(true);
    expect(p.passwordFile).toBe('secrets/root.txt');
    expect(p.teardownHold).toEqual({ node: 'pve2', file: '/tmp/hold-here' });
  });

  it('takes an empty value as unset', () => {
    expectNothingSet(readPvxEnv({ PVX_INVENTORY: '', PVX_STATE_DIR: '', PVX_RUNTIME_DIR: '', PVX_CONNECT_TIMEOUT: '', PVX_VERBOSE: '', PVX_PASSWORD_FILE: '', PVX_TEARDOWN_HOLD: '' }));
  });

  it('is verbose only for PVX_VERBOSE=1', () => {
    expect(readPvxEnv({ PVX_VERBOSE: '1' }).verbose).toBe(true);
    for (const v of ['0', 'true', 'yes', ' 1', '11']) expect(readPvxEnv({ PVX_VERBOSE: v }).verbose, v).toBe(false);
  });

  it('refuses a PVX_CONNECT_TIMEOUT that is not a positive whole number, with exit 2', () => {
    expect(readPvxEnv({ PVX_CONNECT_TIMEOUT: '1' }).connectTimeout).toBe(1);
    expect(readPvxEnv({ PVX_CONNECT_TIMEOUT: '300' }).connectTimeout).toBe(300);
    for (const bad of ['0', '-3', '1.5', '07', 'abc', ' 5', '5s']) {
      expect(usageErrorOf(() => readPvxEnv({ PVX_CONNECT_TIMEOUT: bad }).connectTimeout).message).toBe(`PVX_CONNECT_TIMEOUT must be a positive whole number, got '${bad}'`);
    }
  });

  it('refuses a PVX_TEARDOWN_HOLD that is not <node>:<absolute file>, with exit 2', () => {
    expect(readPvxEnv({ PVX_TEARDOWN_HOLD: 'pve1:/a:b' }).teardownHold).toEqual({ node: 'pve1', file: '/a:b' });
    for (const bad of ['pve2', ':/tmp/h', 'pve2:tmp/h', 'pve2:']) {
      expect(usageErrorOf(() => readPvxEnv({ PVX_TEARDOWN_HOLD: bad }).teardownHold).message).toBe(`PVX_TEARDOWN_HOLD must be <node>:<absolute file>, got '${bad}'`);
    }
    expect(parseHold(undefined)).toBeUndefined();
  });

  it('checks a value when it is used, so a bad one fails only what needs it', () => {
    const p = readPvxEnv({ PVX_CONNECT_TIMEOUT: 'soon', PVX_TEARDOWN_HOLD: 'nowhere', PVX_VERBOSE: '1', PVX_STATE_DIR: '/s' });
    expect(p.verbose).toBe(true);
    expect(p.stateDir).toBe('/s');
    expect(() => p.connectTimeout).toThrow("PVX_CONNECT_TIMEOUT must be a positive whole number, got 'soon'");
    expect(() => p.teardownHold).toThrow("PVX_TEARDOWN_HOLD must be <node>:<absolute file>, got 'nowhere'");
  });

  it('reads the environment once: later changes to it are not seen', () => {
    const env: NodeJS.ProcessEnv = { PVX_STATE_DIR: '/first', PVX_CONNECT_TIMEOUT: '4' };
    const p = readPvxEnv(env);
    env['PVX_STATE_DIR'] = '/second';
    env['PVX_CONNECT_TIMEOUT'] = 'bad';
    env['PVX_VERBOSE'] = '1';
    expect(p.stateDir).toBe('/first');
    expect(p.connectTimeout).toBe(4);
    expect(p.verbose).toBe(false);
  });
});

describe('PVX_* lookups in src/', () => {
  it('finds a lookup by literal name where there is one (the scanner itself works)', () => {
    expect(LOOKUP.test("const x = env['PVX_SOMETHING'];")).toBe(true);
    expect(LOOKUP.test('const x = process.env.PVX_SOMETHING;')).toBe(true);
    expect(LOOKUP.test("hint: 'set PVX_INVENTORY'")).toBe(false);
    // the lab reads its own variables directly
    expect(lookups(tsFiles(path.join(SRC, 'lab'))).some((l) => l.startsWith('src/lab/layout.ts:'))).toBe(true);
  });

  it('happen only in the table (src/lab, outside a run, has variables of its own)', () => {
    const files = tsFiles(SRC).filter((f) => !f.startsWith(path.join(SRC, 'lab') + path.sep) && f !== path.join(SRC, 'config', 'env-vars.ts'));
    expect(files).toContain(path.join(SRC, 'cli.ts'));
    expect(lookups(files)).toEqual([]);
  });
});
