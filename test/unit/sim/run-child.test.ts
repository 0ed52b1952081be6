import { describe, expect, it } from 'vitest';
import { runChild } from '../../../src/lab/sim/core/run-child.js';

describe('runChild', () => {
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
});
