/** The cluster lock's pure parts: the commands it sends and the reading of the nodes' answers. */
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../src/pve/parse/errors.js';
import { DryRunTransport } from '../../../src/transport/dry-run.js';
import type { Transport } from '../../../src/transport/types.js';
import {
  ageText,
  CLUSTER_LOCK_SCRIPT,
  describeHolder,
  isLockArgv,
  lockAcquireArgv,
  lockRefreshArgv,
  lockReleaseArgv,
  parseHolder,
  parseLockAnswer,
} from '../../../src/workflows/cluster/lock.js';

const OWNER = { host: 'ws1', user: 'alice', pid: 4242, command: "pvx -i /etc/pvx.yaml cluster teardown --yes", token: '0123456789abcdef' };
const FILE = '{"host":"ws2","user":"bob","pid":77,"command":"pvx migrate all@pve1 --to pve2","token":"aaaaaaaaaaaaaaaa","since":1789999820,"heartbeat":1789999980}\n';

describe('the lock commands', () => {
  it('acquire: the folder in /run/lock, the owner JSON without its closing brace, the token and the stale limit', () => {
    expect(lockAcquireArgv(OWNER)).toEqual([
      'sh', '-c', CLUSTER_LOCK_SCRIPT, 'pvx-lock', 'acquire', '/run/lock/pvx-cluster',
      '{"host":"ws1","user":"alice","pid":4242,"command":"pvx -i /etc/pvx.yaml cluster teardown --yes","token":"0123456789abcdef"',
      '0123456789abcdef', '600',
    ]);
    expect(lockAcquireArgv(OWNER, { dir: '/tmp/x', staleSeconds: 30 }, 'aaaaaaaaaaaaaaaa').slice(5)).toEqual([
      '/tmp/x', expect.any(String), '0123456789abcdef', '30', 'aaaaaaaaaaaaaaaa',
    ]);
  });

  it('refresh and release', () => {
    expect(lockRefreshArgv(OWNER, 1789999820).slice(3)).toEqual([
      'pvx-lock', 'refresh', '/run/lock/pvx-cluster',
      '{"host":"ws1","user":"alice","pid":4242,"command":"pvx -i /etc/pvx.yaml cluster teardown --yes","token":"0123456789abcdef"',
      '0123456789abcdef', '1789999820',
    ]);
    expect(lockReleaseArgv('0123456789abcdef').slice(3)).toEqual(['pvx-lock', 'release', '/run/lock/pvx-cluster', '0123456789abcdef']);
  });

  it('never runs under --dry-run, even sent as a read', async () => {
    const ran: string[][] = [];
    const node: Transport = { exec: async (_n, argv) => (ran.push([...argv]), { exitCode: 0, stdout: '', stderr: '', durationMs: 0 }) };
    const dry = new DryRunTransport(node);
    for (const argv of [lockAcquireArgv(OWNER), lockRefreshArgv(OWNER, 1), lockReleaseArgv(OWNER.token)]) await dry.exec('pve1', argv, { mutates: false });
    expect(ran).toEqual([]);
    expect(dry.planned).toHaveLength(3);
  });

  it('recognises its own argv only', () => {
    expect(isLockArgv(lockReleaseArgv('0123456789abcdef'))).toBe(true);
    expect(isLockArgv(['sh', '-c', 'echo hi', 'pvx-lock', 'release'])).toBe(false);
    expect(isLockArgv(['rm', '-r', '/run/lock/pvx-cluster'])).toBe(false);
  });
});

describe('parseLockAnswer', () => {
  it('taken, refreshed, released: one line with the node clock', () => {
    expect(parseLockAnswer('pvx-lock taken 1790000000\n')).toEqual({ kind: 'taken', now: 1790000000 });
    expect(parseLockAnswer('pvx-lock refreshed 1790000000\n')).toEqual({ kind: 'refreshed', now: 1790000000 });
    expect(parseLockAnswer('pvx-lock released 1790000000\n')).toEqual({ kind: 'released', now: 1790000000 });
  });

  it('held and took-over carry the owner file', () => {
    const holder = { host: 'ws2', user: 'bob', pid: 77, command: 'pvx migrate all@pve1 --to pve2', token: 'aaaaaaaaaaaaaaaa', since: 1789999820, heartbeat: 1789999980 };
    expect(parseLockAnswer(`pvx-lock held 1790000000\n${FILE}`)).toEqual({ kind: 'held', now: 1790000000, holder: { ok: true, holder } });
    expect(parseLockAnswer(`pvx-lock took-over 1790000000\n${FILE}`)).toEqual({ kind: 'took-over', now: 1790000000, previous: { ok: true, holder } });
    expect(parseLockAnswer('pvx-lock lost 1790000000\n')).toEqual({ kind: 'lost', now: 1790000000, holder: undefined });
  });

  it('an owner file pvx cannot read is kept as text, with why', () => {
    const a = parseLockAnswer('pvx-lock held 1790000000\nheld by hand, do not touch\n');
    expect(a).toEqual({ kind: 'held', now: 1790000000, holder: { ok: false, text: 'held by hand, do not touch', problem: 'not JSON' } });
    const b = parseLockAnswer('pvx-lock held 1790000000\n{"host":"ws2","pid":"77"}\n');
    expect(b.kind === 'held' && b.holder && !b.holder.ok && b.holder.problem).toContain('pid');
  });

  it('passes over what a login shell printed before the answer', () => {
    expect(parseLockAnswer('Welcome to pve1!\n\npvx-lock taken 1790000000\n')).toEqual({ kind: 'taken', now: 1790000000 });
  });

  it('anything else is a ParseError', () => {
    for (const bad of ['', 'taken 1\n', 'pvx-lock maybe 1790000000\n', 'pvx-lock taken soon\n', 'pvx-lock taken 1790000000\nextra\n', 'pvx-lock  taken 1\n']) {
      expect(() => parseLockAnswer(bad), bad).toThrow(ParseError);
    }
  });
});

describe('describeHolder', () => {
  it('names the command, user, host, pid, since (UTC) and the ages on the node clock', () => {
    expect(describeHolder(parseHolder(FILE), 1790000000)).toBe(
      "'pvx migrate all@pve1 --to pve2' run by bob on ws2 (pid 77) since 2026-09-21T14:10:20Z (3 min ago; last heartbeat 20 s ago)",
    );
  });

  it('shows control characters of a hostile owner file instead of printing them', () => {
    const text = '{"host":"ws\\u001b[31m2","user":"bob","pid":77,"command":"pvx\\nrm -rf /","token":"aaaaaaaaaaaaaaaa","since":1,"heartbeat":1}';
    const d = describeHolder(parseHolder(text), 1790000000);
    expect(d).toContain("'pvx\\nrm -rf /'");
    expect(d).toContain('ws\\x1b[31m2');
    expect(d).not.toMatch(/[\u0000-\u001f]/);
  });

  it('a folder without an owner file, or one pvx cannot read', () => {
    expect(describeHolder(undefined, 1)).toBe('a run that has not written its owner file yet (or a folder made by hand)');
    expect(describeHolder(parseHolder('garbage'), 1)).toBe("a holder pvx cannot identify (its owner file: 'garbage', not JSON)");
  });

  it('ages in words', () => {
    expect([0, 59, 119, 120, 3599, 7199, 7200, 172_799, 172_800].map(ageText)).toEqual(['0 s', '59 s', '119 s', '2 min', '60 min', '120 min', '2 h', '48 h', '2 days']);
  });
});
