/**
 * The cluster lock script run by the real /bin/sh (POSIX sh, coreutils, sed), on a scratch folder
 * instead of /run/lock: taking, refusing, two acquirers at once, stale expiry, a holder known gone,
 * refresh and release. Expected answers are written by hand from the protocol in the script's doc.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockAcquireArgv, lockRefreshArgv, lockReleaseArgv, type LockOwner } from '../../../src/workflows/cluster/lock.js';
import { tmpDir } from '../../helpers/tmp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A lock folder under a scratch root whose parent does not exist yet (the script makes it). */
function place(): { dir: string } {
  const root = tmpDir('pvx-lock-sh-');
  dirs.push(root);
  return { dir: path.join(root, 'run', 'lock', 'pvx-cluster') };
}

function owner(token: string, extra: Partial<LockOwner> = {}): LockOwner {
  return { host: 'ws1', user: 'alice', pid: 4242, command: "pvx cluster teardown --yes --backup-dir '/tmp/a b'", token, ...extra };
}

/** Run an argv of the lock script with the real /bin/sh. */
function sh(argv: readonly string[]): { code: number; out: string; err: string } {
  expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
  const r = spawnSync('/bin/sh', argv.slice(1), { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function shAsync(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/sh', argv.slice(1), { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
  });
}

const nowSec = () => Math.floor(Date.now() / 1000);

/** An owner file as a holder on another workstation wrote it. */
function holderFile(dir: string, fields: { token: string; since: number; heartbeat: number }): string {
  mkdirSync(dir, { recursive: true });
  const text = `{"host":"ws2","user":"bob","pid":77,"command":"pvx migrate all@pve1 --to pve2","token":"${fields.token}","since":${fields.since},"heartbeat":${fields.heartbeat}}\n`;
  writeFileSync(path.join(dir, 'owner.json'), text);
  return text;
}

describe('the cluster lock script on the real /bin/sh', () => {
  it('takes a free lock: makes the folder (and its parent) and writes the owner with the node clock', () => {
    const p = place();
    const before = nowSec();
    const r = sh(lockAcquireArgv(owner('0123456789abcdef'), p));
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^pvx-lock taken [0-9]+\n$/);
    const stamp = Number(r.out.trim().split(' ')[2]);
    expect(stamp).toBeGreaterThanOrEqual(before);
    const file = JSON.parse(readFileSync(path.join(p.dir, 'owner.json'), 'utf8'));
    expect(file).toEqual({
      host: 'ws1',
      user: 'alice',
      pid: 4242,
      command: "pvx cluster teardown --yes --backup-dir '/tmp/a b'",
      token: '0123456789abcdef',
      since: stamp,
      heartbeat: stamp,
    });
  });

  it('refuses a held lock and answers with the holder, leaving it as it was', () => {
    const p = place();
    const text = holderFile(p.dir, { token: 'aaaaaaaaaaaaaaaa', since: nowSec() - 300, heartbeat: nowSec() - 5 });
    const r = sh(lockAcquireArgv(owner('0123456789abcdef'), p));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pvx-lock held [0-9]+\n/);
    expect(r.out.slice(r.out.indexOf('\n') + 1)).toBe(text);
    expect(readFileSync(path.join(p.dir, 'owner.json'), 'utf8')).toBe(text);
  });

  it('of eight acquirers started at once, exactly one takes the lock', async () => {
    const p = place();
    const tokens = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(16));
    const answers = await Promise.all(tokens.map((t) => shAsync(lockAcquireArgv(owner(t), p))));
    const kinds = answers.map((a) => a.split(' ')[1]);
    expect(kinds.filter((k) => k === 'taken')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'held')).toHaveLength(7);
    const winner = tokens[kinds.indexOf('taken')];
    expect(JSON.parse(readFileSync(path.join(p.dir, 'owner.json'), 'utf8')).token).toBe(winner);
    // every refused one was told the winner
    for (const a of answers.filter((x) => x.startsWith('pvx-lock held'))) expect(a).toContain(`"token":"${winner}"`);
  });

  it('takes over a stale lock (heartbeat older than the limit) and answers with the previous holder', () => {
    const p = place();
    const old = holderFile(p.dir, { token: 'aaaaaaaaaaaaaaaa', since: 1000, heartbeat: 2000 });
    const r = sh(lockAcquireArgv(owner('0123456789abcdef'), p));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pvx-lock took-over [0-9]+\n/);
    expect(r.out.slice(r.out.indexOf('\n') + 1)).toBe(old);
    expect(JSON.parse(readFileSync(path.join(p.dir, 'owner.json'), 'utf8')).token).toBe('0123456789abcdef');
    expect(existsSync(`${p.dir}.break`)).toBe(false);
  });

  it('a lock within the limit is not stale: a 10-minute limit keeps a 9-minute-old heartbeat', () => {
    const p = place();
    holderFile(p.dir, { token: 'aaaaaaaaaaaaaaaa', since: nowSec() - 3600, heartbeat: nowSec() - 540 });
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), p)).out).toMatch(/^pvx-lock held /);
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), { ...p, staleSeconds: 300 })).out).toMatch(/^pvx-lock took-over /);
  });

  it('of eight acquirers meeting one stale lock, exactly one takes it over', async () => {
    const p = place();
    holderFile(p.dir, { token: 'aaaaaaaaaaaaaaaa', since: 1000, heartbeat: 2000 });
    const tokens = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(16));
    const answers = await Promise.all(tokens.map((t) => shAsync(lockAcquireArgv(owner(t), p))));
    const kinds = answers.map((a) => a.split(' ')[1]);
    expect(kinds.filter((k) => k === 'took-over' || k === 'taken')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'held')).toHaveLength(7);
    const winner = tokens[kinds.findIndex((k) => k !== 'held')];
    expect(JSON.parse(readFileSync(path.join(p.dir, 'owner.json'), 'utf8')).token).toBe(winner);
    expect(existsSync(`${p.dir}.break`)).toBe(false);
  });

  it('a folder without an owner file is judged by its own age', () => {
    const p = place();
    mkdirSync(p.dir, { recursive: true });
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), p)).out).toMatch(/^pvx-lock held [0-9]+\n$/);
    utimesSync(p.dir, 1000, 1000);
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), p)).out).toMatch(/^pvx-lock took-over [0-9]+\n$/);
  });

  it('breaks a fresh lock only with the token it still holds (its holder is known gone)', () => {
    const p = place();
    const text = holderFile(p.dir, { token: 'aaaaaaaaaaaaaaaa', since: nowSec(), heartbeat: nowSec() });
    const refused = sh(lockAcquireArgv(owner('0123456789abcdef'), p, 'bbbbbbbbbbbbbbbb'));
    expect(refused.out).toMatch(/^pvx-lock held [0-9]+\n/);
    expect(refused.out.slice(refused.out.indexOf('\n') + 1)).toBe(text);
    expect(readFileSync(path.join(p.dir, 'owner.json'), 'utf8')).toBe(text);
    const r = sh(lockAcquireArgv(owner('0123456789abcdef'), p, 'aaaaaaaaaaaaaaaa'));
    expect(r.out).toMatch(/^pvx-lock took-over [0-9]+\n/);
    expect(JSON.parse(readFileSync(path.join(p.dir, 'owner.json'), 'utf8')).token).toBe('0123456789abcdef');
  });

  it('a breaker folder left by a dead breaker blocks a takeover for a minute, then is cleared', () => {
    const p = place();
    holderFile(p.dir, { token: 'aaaaaaaaaaaaaaaa', since: 1000, heartbeat: 2000 });
    mkdirSync(`${p.dir}.break`);
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), p)).out).toMatch(/^pvx-lock held /);
    expect(existsSync(`${p.dir}.break`)).toBe(true);
    utimesSync(`${p.dir}.break`, 1000, 1000);
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), p)).out).toMatch(/^pvx-lock held /);
    expect(existsSync(`${p.dir}.break`)).toBe(false);
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), p)).out).toMatch(/^pvx-lock took-over /);
  });

  it('refresh renews the heartbeat and keeps since; a run that lost the lock is told who has it', () => {
    const p = place();
    const mine = owner('0123456789abcdef');
    sh(lockAcquireArgv(mine, p));
    const file = path.join(p.dir, 'owner.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/"since":[0-9]+,"heartbeat":[0-9]+/, '"since":1000,"heartbeat":1000'));
    const r = sh(lockRefreshArgv(mine, 1000, p));
    expect(r.out).toMatch(/^pvx-lock refreshed [0-9]+\n$/);
    const stamp = Number(r.out.trim().split(' ')[2]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ token: '0123456789abcdef', since: 1000, heartbeat: stamp });
    const other = holderFile(p.dir, { token: 'aaaaaaaaaaaaaaaa', since: 5, heartbeat: 6 });
    const lost = sh(lockRefreshArgv(mine, 1000, p));
    expect(lost.out).toMatch(/^pvx-lock lost [0-9]+\n/);
    expect(lost.out.slice(lost.out.indexOf('\n') + 1)).toBe(other);
    expect(readFileSync(file, 'utf8')).toBe(other);
  });

  it('release removes the folder only for the token that holds it', () => {
    const p = place();
    sh(lockAcquireArgv(owner('0123456789abcdef'), p));
    const wrong = sh(lockReleaseArgv('aaaaaaaaaaaaaaaa', p));
    expect(wrong.out).toMatch(/^pvx-lock lost [0-9]+\n\{"host":"ws1"/);
    expect(existsSync(p.dir)).toBe(true);
    expect(sh(lockReleaseArgv('0123456789abcdef', p)).out).toMatch(/^pvx-lock released [0-9]+\n$/);
    expect(existsSync(p.dir)).toBe(false);
    expect(existsSync(path.dirname(p.dir))).toBe(true);
    // released twice: the second is told nobody holds it
    expect(sh(lockReleaseArgv('0123456789abcdef', p)).out).toMatch(/^pvx-lock lost [0-9]+\n$/);
  });

  it('hostile owner text stays data: quotes, $(…), newlines and backslashes end up in the JSON as they were', () => {
    const p = place();
    const command = `pvx cluster create "x" $(touch ${p.dir}.pwned) \`id\` '\\' %s %n\nsecond line`;
    const r = sh(lockAcquireArgv(owner('0123456789abcdef', { command, user: "o'brien" }), p));
    expect(r.out).toMatch(/^pvx-lock taken /);
    expect(JSON.parse(readFileSync(path.join(p.dir, 'owner.json'), 'utf8'))).toMatchObject({ command, user: "o'brien" });
    expect(existsSync(`${p.dir}.pwned`)).toBe(false);
  });

  it('refuses a malformed token or number without touching anything (exit 2)', () => {
    const p = place();
    expect(sh(lockAcquireArgv(owner('NOT-HEX'), p)).code).toBe(2);
    expect(sh(lockAcquireArgv(owner('0123456789abcdef'), { ...p, staleSeconds: -1 })).code).toBe(2);
    expect(sh(lockReleaseArgv('', p)).code).toBe(2);
    expect(existsSync(p.dir)).toBe(false);
  });
});
