import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runProcess as runChild } from '../../../src/lab/process.js';

describe('the lab runner (lab/process.ts runProcess)', () => {
  it('collects stdout, stderr and the exit code', async () => {
    const r = await runChild('/bin/sh', ['-c', 'printf "a\\nb\\n"; printf "oops" >&2; exit 3']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('a\nb\n');
    expect(r.stderr).toBe('oops');
    expect(r.signal).toBeUndefined();
    expect(r.timedOut).toBeUndefined();
  });

  it('feeds input on stdin and gives /dev/null without it', async () => {
    expect((await runChild('/bin/cat', [], { input: 'x\ny' })).stdout).toBe('x\ny');
    expect((await runChild('/bin/cat', [])).stdout).toBe('');
  });

  it('ignores input the program never reads', async () => {
    const r = await runChild('/bin/true', [], { input: 'z'.repeat(1 << 20) });
    expect(r.exitCode).toBe(0);
  });

  it('passes arguments without a shell', async () => {
    expect((await runChild('/bin/echo', ['$HOME', "it's", 'a b'])).stdout).toBe("$HOME it's a b\n");
  });

  it('reports a timeout as exit code 124 with SIGTERM', async () => {
    const r = await runChild('/bin/sleep', ['30'], { timeoutMs: 100 });
    expect(r).toMatchObject({ exitCode: 124, signal: 'SIGTERM', timedOut: true });
  });

  it('reports a program killed by a signal as exit code 128', async () => {
    const r = await runChild('/bin/sh', ['-c', 'kill -KILL $$']);
    expect(r).toMatchObject({ exitCode: 128, signal: 'SIGKILL' });
  });

  it('reports a program that cannot start as exit code 127 with the reason', async () => {
    const r = await runChild('/nonexistent/tool', ['-l']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain('ENOENT');
  });

  it('extends the environment, or replaces it with cleanEnv', async () => {
    const show = ['-c', 'printf "%s|%s" "$PVX_T_A" "${HOME-unset}"'];
    expect((await runChild('/bin/sh', show, { env: { PVX_T_A: 'x' } })).stdout).toBe(`x|${process.env['HOME'] ?? 'unset'}`);
    expect((await runChild('/bin/sh', show, { cleanEnv: true, env: { PVX_T_A: 'y' } })).stdout).toBe('y|unset');
  });

  it('runs in cwd', async () => {
    const d = realpathSync(mkdtempSync(path.join(tmpdir(), 'pvx-run-')));
    expect((await runChild('/bin/pwd', [], { cwd: d })).stdout).toBe(`${d}\n`);
  });

  it('appends stderr to stderrFile and drops stdout; ignoreOutput drops both', async () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'pvx-run-')), 'log');
    const script = ['-c', 'echo out; echo err >&2; exit 4'];
    const a = await runChild('/bin/sh', script, { stderrFile: f });
    const b = await runChild('/bin/sh', script, { stderrFile: f });
    expect([a.exitCode, a.stdout, a.stderr, b.exitCode]).toEqual([4, '', '', 4]);
    expect(readFileSync(f, 'utf8')).toBe('err\nerr\n');
    expect(await runChild('/bin/sh', script, { ignoreOutput: true })).toMatchObject({ exitCode: 4, stdout: '', stderr: '' });
  });

  it('does not wait for a daemon that keeps its stderr file open', async () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'pvx-run-')), 'log');
    const r = await runChild('/bin/sh', ['-c', 'sleep 30 & echo $! >&2'], { stderrFile: f, timeoutMs: 10_000 });
    const pid = Number(readFileSync(f, 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    expect(r).toMatchObject({ exitCode: 0 });
    expect(r.timedOut).toBeUndefined();
  });
});
