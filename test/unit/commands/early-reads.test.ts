import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { earlyStatusArgs, startEarlyReads } from '../../../src/commands/shared/early-reads.js';
import { readPvxEnv } from '../../../src/config/env-vars.js';
import { makeDeps, type DepsOptions, type EarlyStart } from '../../../src/context.js';
import { nodeReadArgv } from '../../../src/facts/node-read.js';
import type { ExecResult, Transport } from '../../../src/transport/types.js';
import { makeProgress } from '../../../src/ui/progress.js';
import { makeTheme } from '../../../src/ui/theme.js';
import { writeInventory } from '../../helpers/run-cli.js';
import { testIO } from '../../helpers/test-io.js';

/** A transport that records what it ran; every command answers at once. */
function recording(): Transport & { runs: Array<{ node: string; argv: readonly string[] }> } {
  const runs: Array<{ node: string; argv: readonly string[] }> = [];
  return {
    runs,
    async exec(node, argv): Promise<ExecResult> {
      runs.push({ node, argv });
      return { exitCode: 0, stdout: '', stderr: '', durationMs: 0 };
    },
  };
}

describe('earlyStatusArgs: only a plain cluster status starts early', () => {
  it.each([
    [['cluster', 'status'], { inventory: undefined, connectTimeout: undefined, node: undefined }],
    [['-i', 'inv.yaml', '--json', 'cluster', 'status'], { inventory: 'inv.yaml', connectTimeout: undefined, node: undefined }],
    [['cluster', 'status', '--inventory=x.yaml', '--node', 'pve2', '-v'], { inventory: 'x.yaml', connectTimeout: undefined, node: 'pve2' }],
    [['--connect-timeout', '9', 'cluster', '--no-color', 'status', '--node=pve3', '-q'], { inventory: undefined, connectTimeout: 9, node: 'pve3' }],
  ])('%j', (argv, want) => {
    expect(earlyStatusArgs(argv)).toEqual(want);
  });

  it.each([
    [['cluster', 'create', 'c1']],
    [['cluster']],
    [['cluster', 'status', 'extra']],
    [['--dry-run', 'cluster', 'status']],
    [['cluster', 'status', '--help']],
    [['cluster', 'status', '-y']],
    [['--node', 'pve2', 'cluster', 'status']],
    [['cluster', 'status', '--node', 'a', '--node', 'b']],
    [['cluster', 'status', '--node']],
    [['-i', 'a.yaml', '-i', 'b.yaml', 'cluster', 'status']],
    [['--connect-timeout', '0', 'cluster', 'status']],
    [['--connect-timeout', 'soon', 'cluster', 'status']],
    [['-ifile.yaml', 'cluster', 'status']],
    [['cluster', 'status', '--', 'x']],
    [['preflight']],
  ])('refuses %j', (argv) => {
    expect(earlyStatusArgs(argv)).toBeUndefined();
  });
});

describe('startEarlyReads', () => {
  const ctx = (env: Record<string, string> = {}) => ({ pvx: readPvxEnv(env), env, cwd: '/', transportFactory: undefined as undefined | (() => Transport) });

  it('starts the node read on every inventory node, on the run transport factory', async () => {
    const inv = writeInventory(['a', 'b', 'c']);
    const t = recording();
    const early = await startEarlyReads(['-i', inv, 'cluster', 'status'], { ...ctx(), transportFactory: () => t });
    expect(early?.file).toBe(inv);
    expect(early?.inventory.nodes.map((n) => n.name)).toEqual(['a', 'b', 'c']);
    expect(t.runs).toEqual(['a', 'b', 'c'].map((node) => ({ node, argv: nodeReadArgv() })));
    // the command's own read gets the started run
    await early!.transport.exec('b', nodeReadArgv());
    expect(t.runs).toHaveLength(3);
  });

  it('--node reads that node only; the inventory comes from PVX_INVENTORY as the run finds it', async () => {
    const inv = writeInventory(['a', 'b']);
    const t = recording();
    const early = await startEarlyReads(['cluster', 'status', '--node', 'b'], { ...ctx({ PVX_INVENTORY: inv }), transportFactory: () => t });
    expect(early?.file).toBe(inv);
    expect(t.runs.map((r) => r.node)).toEqual(['b']);
  });

  it('starts nothing for a node not in the inventory, a missing or broken inventory, or a bad PVX_CONNECT_TIMEOUT', async () => {
    const inv = writeInventory(['a']);
    const t = recording();
    const factory = () => t;
    expect(await startEarlyReads(['-i', inv, 'cluster', 'status', '--node', 'zz'], { ...ctx(), transportFactory: factory })).toBeUndefined();
    expect(await startEarlyReads(['-i', path.join(path.dirname(inv), 'none.yaml'), 'cluster', 'status'], { ...ctx(), transportFactory: factory })).toBeUndefined();
    expect(await startEarlyReads(['-i', inv, 'cluster', 'status'], { ...ctx({ PVX_CONNECT_TIMEOUT: 'x' }), transportFactory: factory })).toBeUndefined();
    expect(await startEarlyReads(['-i', inv, 'cluster', 'create', 'c'], { ...ctx(), transportFactory: factory })).toBeUndefined();
    expect(t.runs).toEqual([]);
  });

  it('records the connect timeout as the run resolves it: the flag, else PVX_CONNECT_TIMEOUT', async () => {
    const inv = writeInventory(['a']);
    const factory = () => recording();
    expect((await startEarlyReads(['-i', inv, '--connect-timeout', '7', 'cluster', 'status'], { ...ctx({ PVX_CONNECT_TIMEOUT: '3' }), transportFactory: factory }))?.connectTimeout).toBe(7);
    expect((await startEarlyReads(['-i', inv, 'cluster', 'status'], { ...ctx({ PVX_CONNECT_TIMEOUT: '3' }), transportFactory: factory }))?.connectTimeout).toBe(3);
    expect((await startEarlyReads(['-i', inv, 'cluster', 'status'], { ...ctx(), transportFactory: factory }))?.connectTimeout).toBeUndefined();
  });
});

describe('makeDeps uses an early start only when the run names the same inventory and timeout', () => {
  const io = testIO({ tty: false });
  const theme = makeTheme(false);
  const deps = (inventory: string, connectTimeout: number | undefined, early: EarlyStart, own: Transport): DepsOptions => ({
    io, theme, env: {}, pvx: readPvxEnv({ PVX_STATE_DIR: path.join(path.dirname(inventory), 'state') }), cwd: '/',
    globals: { inventory, json: true, yes: false, dryRun: false, verbose: false, quiet: false, noColor: true, connectTimeout },
    progress: makeProgress(io, theme, { json: true, quiet: false }),
    prompter: { confirm: async () => false, input: async () => '', select: async () => '' } as never,
    transportFactory: () => own,
    early,
  });

  it('same file and timeout: its inventory and its transport', async () => {
    const inv = writeInventory(['a']);
    const early = recording();
    const own = recording();
    const e = (await startEarlyReads(['-i', inv, 'cluster', 'status'], { pvx: readPvxEnv({}), env: {}, cwd: '/', transportFactory: () => early }))!;
    const d = makeDeps(deps(inv, undefined, e, own));
    expect(d.inventory()).toBe(e.inventory);
    await d.transport(d.inventory().nodes).exec('a', nodeReadArgv());
    expect(early.runs).toHaveLength(1);
    expect(own.runs).toEqual([]);
  });

  it('another file, or another timeout: neither', async () => {
    const inv = writeInventory(['a']);
    const other = writeInventory(['a']);
    for (const [file, timeout] of [[other, undefined], [inv, 4]] as const) {
      const early = recording();
      const own = recording();
      const e = (await startEarlyReads(['-i', inv, 'cluster', 'status'], { pvx: readPvxEnv({}), env: {}, cwd: '/', transportFactory: () => early }))!;
      const d = makeDeps(deps(file, timeout, e, own));
      expect(d.inventory()).not.toBe(e.inventory);
      await d.transport(d.inventory().nodes).exec('a', nodeReadArgv());
      expect(own.runs).toHaveLength(1);
    }
  });
});
