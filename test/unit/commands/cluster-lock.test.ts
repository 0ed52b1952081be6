/**
 * The cluster lock runner on its own: re-entrant within a run, all or nothing across nodes, an
 * unreachable companion passed over with a warning, the heartbeat, and a lock lost meanwhile.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPvxEnv } from '../../../src/config/env-vars.js';
import { makeDeps, type Deps } from '../../../src/context.js';
import { UnreachableError } from '../../../src/errors.js';
import { renewClusterLock, scopeOfViews, takeClusterLock, withClusterLock } from '../../../src/commands/shared/cluster-lock.js';
import type { Membership } from '../../../src/facts/node.js';
import type { Transport } from '../../../src/transport/types.js';
import { makeProgress } from '../../../src/ui/progress.js';
import { makeTheme } from '../../../src/ui/theme.js';
import { FakeCluster } from '../../helpers/fake-cluster.js';
import { testIO } from '../../helpers/test-io.js';
import { tmpDir } from '../../helpers/tmp.js';

const NAMES = ['pve1', 'pve2', 'pve3'];

function depsFor(fc: FakeCluster, dryRun = false): Deps {
  const io = testIO({ tty: false });
  const theme = makeTheme(false);
  const state = tmpDir('pvx-state-');
  const env = { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') };
  return makeDeps({
    io,
    theme,
    env,
    pvx: readPvxEnv(env),
    cwd: state,
    globals: { inventory: undefined, json: true, yes: true, dryRun, verbose: false, quiet: true, noColor: true, connectTimeout: undefined },
    progress: makeProgress(io, theme, { json: true, quiet: true }),
    prompter: { confirmTyped: async () => false, secret: async () => '' },
    transportFactory: () => fc,
    argv: ['cluster', 'expected', '4', '--node', 'pve1', '--yes'],
  });
}

function log(fc: FakeCluster): string[] {
  return fc.locks.calls.map((c) => `${c.node} ${c.action}:${c.answer}`);
}

describe('takeClusterLock', () => {
  it('records this run as the owner: host, user, pid and the command line', async () => {
    const fc = new FakeCluster(NAMES);
    const deps = depsFor(fc);
    const lock = await takeClusterLock(deps, fc, { nodes: ['pve2'] });
    expect(fc.locks.held.get('pve2')).toMatchObject({ host: deps.self.host, user: deps.self.user, pid: process.pid, command: 'pvx cluster expected 4 --node pve1 --yes' });
    await lock.release();
    expect(fc.locks.lockedNodes()).toEqual([]);
  });

  it('is re-entrant within a run: an inner hold asks no node, and only the outermost release releases', async () => {
    const fc = new FakeCluster(NAMES);
    const deps = depsFor(fc);
    await withClusterLock(deps, fc, { nodes: NAMES }, async () => {
      await withClusterLock(deps, fc, { nodes: ['pve2'] }, async () => {
        expect(fc.locks.lockedNodes()).toEqual(NAMES);
      });
      expect(fc.locks.lockedNodes()).toEqual(NAMES);
    });
    expect(log(fc)).toEqual(['pve1 acquire:taken', 'pve2 acquire:taken', 'pve3 acquire:taken', 'pve3 release:released', 'pve2 release:released', 'pve1 release:released']);
  });

  it('is all or nothing: a refusal gives back what this call took, and keeps what an outer hold has', async () => {
    const fc = new FakeCluster(NAMES);
    const deps = depsFor(fc);
    const outer = await takeClusterLock(deps, fc, { nodes: ['pve1'] });
    fc.locks.hold('pve3');
    await expect(takeClusterLock(deps, fc, { nodes: NAMES })).rejects.toMatchObject({ code: 'LOCKED', exitCode: 1 });
    expect(fc.locks.lockedNodes()).toEqual(['pve1', 'pve3']);
    await outer.release();
    expect(fc.locks.lockedNodes()).toEqual(['pve3']);
    expect(log(fc)).toEqual(['pve1 acquire:taken', 'pve2 acquire:taken', 'pve3 acquire:held', 'pve2 release:released', 'pve1 release:released']);
  });

  it('an unreachable node the run changes stops it (exit 6); an unreachable companion is passed over with a warning', async () => {
    const fc = new FakeCluster(NAMES);
    fc.node('pve2').reachable = false;
    const deps = depsFor(fc);
    await expect(takeClusterLock(deps, fc, { nodes: ['pve1', 'pve2'] })).rejects.toBeInstanceOf(UnreachableError);
    expect(fc.locks.lockedNodes()).toEqual([]);
    const lock = await takeClusterLock(deps, fc, { nodes: ['pve1'], companions: ['pve2', 'pve3'] });
    expect(lock.nodes).toEqual(['pve1', 'pve3']);
    expect(deps.warnings).toEqual([expect.stringMatching(/^pve2 could not be reached to take the cluster lock there \(.*\); this run does not change it, but a run from elsewhere could meanwhile$/)]);
    await lock.release();
    expect(fc.locks.lockedNodes()).toEqual([]);
  });

  it('releases every node at once: each release is held until all have started (one after the other would never end)', async () => {
    const fc = new FakeCluster(NAMES);
    const waiting: Array<() => void> = [];
    const gated: Transport = {
      exec: async (node, argv, opts) => {
        if (argv[4] === 'release') {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === NAMES.length) for (const go of waiting) go();
          });
        }
        return fc.exec(node, argv, opts);
      },
    };
    const deps = depsFor(fc);
    const lock = await takeClusterLock(deps, gated, { nodes: NAMES });
    expect(fc.locks.lockedNodes()).toEqual(NAMES);
    const ended = await Promise.race([lock.release().then(() => 'released'), new Promise((r) => setTimeout(() => r('still waiting'), 2000))]);
    expect(ended).toBe('released');
    expect(fc.locks.lockedNodes()).toEqual([]);
    expect(deps.warnings).toEqual([]);
  });

  it('takes nothing under --dry-run', async () => {
    const fc = new FakeCluster(NAMES);
    const lock = await takeClusterLock(depsFor(fc, true), fc, { nodes: NAMES });
    await lock.release();
    expect(fc.locks.calls).toEqual([]);
  });
});

describe('the heartbeat', () => {
  it('renews the heartbeat on every node held, keeping since', async () => {
    const fc = new FakeCluster(NAMES);
    let now = 1_790_000_000;
    fc.locks.now = () => now;
    const deps = depsFor(fc);
    const lock = await takeClusterLock(deps, fc, { nodes: ['pve1', 'pve2'] });
    now += 60;
    await renewClusterLock(deps);
    expect(fc.locks.held.get('pve1')).toMatchObject({ since: 1_790_000_000, heartbeat: 1_790_000_060 });
    expect(fc.locks.held.get('pve2')).toMatchObject({ since: 1_790_000_000, heartbeat: 1_790_000_060 });
    expect(deps.warnings).toEqual([]);
    await lock.release();
    await renewClusterLock(deps);
    expect(log(fc)).toEqual(['pve1 acquire:taken', 'pve2 acquire:taken', 'pve1 refresh:refreshed', 'pve2 refresh:refreshed', 'pve2 release:released', 'pve1 release:released']);
  });

  it('a lock taken from this run meanwhile is told once, and left to its new holder at release', async () => {
    const fc = new FakeCluster(NAMES);
    fc.locks.now = () => 1_790_000_000;
    const deps = depsFor(fc);
    const lock = await takeClusterLock(deps, fc, { nodes: ['pve1'] });
    const thief = fc.locks.hold('pve1', { since: 1_790_000_000, heartbeat: 1_790_000_000 });
    await renewClusterLock(deps);
    await renewClusterLock(deps);
    await lock.release();
    expect(fc.locks.held.get('pve1')).toEqual(thief);
    expect(deps.warnings).toEqual([
      "the cluster lock on pve1 was taken from this run while it ran: now held by 'pvx cluster teardown --yes' run by bob on ws2 (pid 4242) since 2026-09-21T14:13:20Z (0 s ago; last heartbeat 0 s ago)",
      "the cluster lock on pve1 was no longer this run's at release: it is held by 'pvx cluster teardown --yes' run by bob on ws2 (pid 4242) since 2026-09-21T14:13:20Z (0 s ago; last heartbeat 0 s ago)",
    ]);
  });
});

describe('scopeOfViews', () => {
  it('locks every node that answered, and the online members it did not read that the inventory knows', () => {
    const member = (node: string, online: string[]): Membership => ({ node, kind: 'member', cluster: 'lab', quorate: true, configured: ['pve1', 'pve2', 'pve3', 'pve4'], online, partitionSize: online.length, expectedVotes: 4, totalVotes: online.length });
    const views: Membership[] = [member('pve1', ['pve1', 'pve2', 'pve3', 'pve9']), { node: 'pve5', kind: 'standalone' }, { node: 'pve3', kind: 'unreachable', message: 'timed out' }];
    expect(scopeOfViews(views, ['pve1', 'pve2', 'pve3', 'pve4', 'pve5'])).toEqual({ nodes: ['pve1', 'pve5'], companions: ['pve2'] });
  });
});
