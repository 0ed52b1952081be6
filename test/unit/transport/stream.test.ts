/** The process runner and line feed under the SSH transport and the local one, on real processes. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LineFeed } from '../../../src/transport/line-feed.js';
import { LocalTransport } from '../../../src/transport/local.js';
import { startStream } from '../../../src/transport/stream-process.js';

describe('LineFeed', () => {
  it('hands out whole lines across chunk borders, in order, and the last partial line at close', async () => {
    const f = new LineFeed();
    const first = f.line();
    f.push('al');
    f.push('pha\nbeta\ngam');
    expect(await first).toBe('alpha');
    expect(await f.line()).toBe('beta');
    const third = f.line();
    f.close();
    expect(await third).toBe('gam');
    expect(await f.line()).toBeUndefined();
  });

  it('drops everything up to the gate line and says when it passed', async () => {
    let passed = 0;
    const f = new LineFeed('MARK', () => passed++);
    f.push('Welcome to the node\nMARK is not alone\n');
    expect(passed).toBe(0);
    f.push('MARK\nafter\nMARK\n');
    expect(passed).toBe(1);
    expect(await f.line()).toBe('after');
    expect(await f.line()).toBe('MARK');
  });

  it('wakes a waiting reader with undefined when output ends', async () => {
    const f = new LineFeed();
    const waiting = f.line();
    f.close();
    expect(await waiting).toBeUndefined();
  });
});

describe('startStream', () => {
  it('feeds input and collects both streams and the exit code', async () => {
    const r = await startStream('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: 'in\n' }).done;
    expect(r).toMatchObject({ exitCode: 3, stdout: 'in\n', stderr: 'oops\n' });
  });

  it('closes stdin at once unless interactive', async () => {
    const r = await startStream('sh', ['-c', 'cat; echo end'], {}).done;
    expect(r.stdout).toBe('end\n');
  });

  it("runs each command in a process group of its own, so a terminal's Ctrl-C reaches pvx and not the command under way", async () => {
    // /proc/<pid>/stat: pid (comm) state ppid pgrp …
    const pgrp = (stat: string): string => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2] ?? '';
    const r = await startStream('sh', ['-c', 'echo $$; cat /proc/$$/stat']).done;
    const [pid, stat] = r.stdout.split('\n');
    expect(pgrp(stat ?? '')).toBe(pid);
    expect(pgrp(readFileSync('/proc/self/stat', 'utf8'))).not.toBe(pid);
  });

  it('reports a program that does not exist as exit code 127', async () => {
    const r = await startStream('/nonexistent/pvx-no-such-program', []).done;
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toMatch(/ENOENT/);
  });

  it('kills a process that outlives its timeout and says so', async () => {
    // it would outlive the test itself: that it ends at all is the kill
    const r = await startStream('sleep', ['600'], { timeoutMs: 100 }).done;
    expect(r).toMatchObject({ exitCode: 124, timedOut: true, signal: 'SIGTERM' });
  });
});

describe('LocalTransport conversations', () => {
  it('answers line by line while the command runs; the result still holds all of stdout', async () => {
    const t = new LocalTransport();
    expect(t.conversations).toBe(true);
    const seen: string[] = [];
    const r = await t.exec('here', ['sh', '-c', 'echo ready; while read -r l; do [ "$l" = end ] && break; echo "got $l"; done; echo bye'], {
      converse: async (c) => {
        seen.push((await c.line()) ?? '?');
        c.write('one\n');
        seen.push((await c.line()) ?? '?');
        c.write('two\n');
        seen.push((await c.line()) ?? '?');
        c.write('end\n');
        c.end();
      },
    });
    expect(seen).toEqual(['ready', 'got one', 'got two']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'ready\ngot one\ngot two\nbye\n' });
  });

  it('a conversation that fails closes stdin, lets the command end, and the error reaches the caller', async () => {
    const t = new LocalTransport();
    await expect(
      t.exec('here', ['sh', '-c', 'echo ready; cat >/dev/null; echo done'], {
        converse: async (c) => {
          await c.line();
          throw new Error('the node said something odd');
        },
      }),
    ).rejects.toThrow('the node said something odd');
  });
});
