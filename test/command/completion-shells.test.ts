/**
 * The shipped completion scripts, run in the real shells: bash (COMP_WORDS/COMP_CWORD → COMPREPLY),
 * zsh (words/CURRENT → compadd) and fish (`complete -C`). `pvx` on their PATH is a stand-in that
 * records the words it is given and answers what the real `pvx __complete` answers for exactly the
 * words the test expects, so a script that sends other words gets a wrong answer and fails.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const SCRIPT = { bash: path.join(ROOT, 'completions/pvx.bash'), zsh: path.join(ROOT, 'completions/_pvx'), fish: path.join(ROOT, 'completions/pvx.fish') };

function has(shell: string): boolean {
  return spawnSync(shell, ['-c', 'exit 0']).status === 0;
}
// CI installs every shell (.ci/run); elsewhere a missing one is skipped
const need = (shell: string) => !has(shell) && process.env['CI'] !== 'true';

/** Quote for any POSIX-like shell (bash, zsh) as one word. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Stub {
  dir: string;
  env: Record<string, string>;
  /** the arguments the stand-in got, or undefined when it was not run */
  argv(): string[] | undefined;
}

/** A `pvx` stand-in answering what the real `pvx __complete -- <words>` answers in `cwd`. */
async function stub(words: string[], cwd = tmpDir('pvx-cwd-')): Promise<Stub> {
  const dir = tmpDir('pvx-stub-');
  const io = testIO();
  const env = { HOME: dir, PVX_LAB_ROOT: path.join(dir, 'labs'), PVX_STATE_DIR: path.join(dir, 'state') };
  expect(await run(['__complete', '--', ...words], { io, env, cwd })).toBe(0);
  writeFileSync(path.join(dir, 'answer'), io.stdoutText());
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin', 'pvx'), `#!/bin/sh\nprintf '%s\\0' "$@" > '${dir}/argv'\ncat '${dir}/answer'\n`);
  chmodSync(path.join(dir, 'bin', 'pvx'), 0o755);
  return {
    dir,
    env: { PATH: `${path.join(dir, 'bin')}:${process.env['PATH']}`, HOME: dir },
    argv: () => {
      try {
        return readFileSync(path.join(dir, 'argv'), 'utf8').split('\0').slice(0, -1);
      } catch {
        return undefined;
      }
    },
  };
}

function sh(shell: string, args: string[], s: Stub, cwd = s.dir): string {
  const r = spawnSync(shell, args, { cwd, env: s.env, encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** COMPREPLY after bash's own completion call for this command line (bash splits words at = and :). */
function bash(s: Stub, compWords: string[], line: string, cwd?: string): string[] {
  const script = [
    `source ${q(SCRIPT.bash)}`,
    `COMP_WORDS=(${compWords.map(q).join(' ')})`,
    `COMP_CWORD=${compWords.length - 1}`,
    `COMP_LINE=${q(line)}`,
    `COMP_POINT=${line.length}`,
    '_pvx',
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  return sh('bash', ['--norc', '--noprofile', '-c', script], s, cwd).split('\n').filter(Boolean);
}

describe.skipIf(need('bash'))('bash: completions/pvx.bash', () => {
  it('hands the words to pvx __complete and fills COMPREPLY with the values', async () => {
    const s = await stub(['clu']);
    expect(bash(s, ['pvx', 'clu'], 'pvx clu')).toEqual(['cluster']);
    expect(s.argv()).toEqual(['__complete', '--', 'clu']);
  });

  it('an empty word after a space is sent as an empty word', async () => {
    const s = await stub(['cluster', '']);
    expect(bash(s, ['pvx', 'cluster', ''], 'pvx cluster ')).toEqual(['status', 'create', 'join', 'remove-node', 'expected', 'qdevice', 'teardown', 'restore', 'help']);
    expect(s.argv()).toEqual(['__complete', '--', 'cluster', '']);
  });

  it('--flag=value arrives whole; the reply holds only what bash replaces', async () => {
    const s = await stub(['preflight', '--for=cr']);
    expect(bash(s, ['pvx', 'preflight', '--for', '=', 'cr'], 'pvx preflight --for=cr')).toEqual(['create']);
    expect(s.argv()).toEqual(['__complete', '--', 'preflight', '--for=cr']);
    const t = await stub(['preflight', '--for=']);
    expect(bash(t, ['pvx', 'preflight', '--for', '='], 'pvx preflight --for=')).toEqual(['=general', '=create', '=join', '=migrate', '=ha']);
    expect(t.argv()).toEqual(['__complete', '--', 'preflight', '--for=']);
  });

  it('node:priority lists arrive whole, and a colon before a space ends its word', async () => {
    const inv = path.join(tmpDir('pvx-inv-'), 'pvx.yaml');
    writeFileSync(inv, 'nodes:\n  - name: pve1\n    host: 192.0.2.1\n  - name: pve2\n    host: 192.0.2.2\n  - name: pve3\n    host: 192.0.2.3\n');
    const s = await stub(['-i', inv, 'ha', 'add', '100', '--nodes', 'pve1:2,p']);
    const line = `pvx -i ${inv} ha add 100 --nodes pve1:2,p`;
    expect(bash(s, ['pvx', '-i', inv, 'ha', 'add', '100', '--nodes', 'pve1', ':', '2,p'], line)).toEqual(['2,pve2', '2,pve3']);
    expect(s.argv()).toEqual(['__complete', '--', '-i', inv, 'ha', 'add', '100', '--nodes', 'pve1:2,p']);
    const t = await stub(['ha', 'add', '100', '--comment', 'note:', '']);
    bash(t, ['pvx', 'ha', 'add', '100', '--comment', 'note', ':', ''], 'pvx ha add 100 --comment note: ');
    expect(t.argv()).toEqual(['__complete', '--', 'ha', 'add', '100', '--comment', 'note:', '']);
  });

  it('file and directory names where pvx says so', async () => {
    const dir = tmpDir('pvx-files-');
    mkdirSync(path.join(dir, 'backups'));
    writeFileSync(path.join(dir, 'inventory.yaml'), '');
    const s = await stub(['-i', 'inv']);
    expect(bash(s, ['pvx', '-i', 'inv'], 'pvx -i inv', dir)).toEqual(['inventory.yaml']);
    const t = await stub(['cluster', 'teardown', '--backup-dir', '']);
    expect(bash(t, ['pvx', 'cluster', 'teardown', '--backup-dir', ''], 'pvx cluster teardown --backup-dir ', dir)).toEqual(['backups']);
  });
});

/** What _pvx handed to compadd and _files (stand-ins: they only work inside a completion widget). */
function zsh(s: Stub, words: string[], cwd?: string): string[] {
  const script = [
    'compdef() { : }',
    'compadd() { print -rl -- "compadd $*" "${values[@]}" "${displays[@]}" }',
    '_files() { print -r -- "_files $*" }',
    `source ${q(SCRIPT.zsh)}`,
    `words=(${words.map(q).join(' ')})`,
    `CURRENT=${words.length}`,
    '_pvx',
  ].join('\n');
  return sh('zsh', ['-f', '-c', script], s, cwd).split('\n').filter(Boolean);
}

describe.skipIf(need('zsh'))('zsh: completions/_pvx', () => {
  it('hands words[2,CURRENT] to pvx __complete; values and "value  -- description" go to compadd', async () => {
    const s = await stub(['cluster', 'st']);
    expect(zsh(s, ['pvx', 'cluster', 'st'])).toEqual([
      'compadd -l -d displays -a values',
      'status',
      'status  -- cluster name, quorum and members, read from every inventory node in parallel',
    ]);
    expect(s.argv()).toEqual(['__complete', '--', 'cluster', 'st']);
  });

  it('--flag=value stays one word; files go to _files, directories to _files -/', async () => {
    const s = await stub(['preflight', '--for=c']);
    expect(zsh(s, ['pvx', 'preflight', '--for=c'])).toEqual(['compadd -l -d displays -a values', '--for=create', '--for=create']);
    const t = await stub(['-i', '']);
    expect(zsh(t, ['pvx', '-i', ''])).toEqual(['_files ']);
    const u = await stub(['cluster', 'teardown', '--backup-dir', '']);
    expect(zsh(u, ['pvx', 'cluster', 'teardown', '--backup-dir', ''])).toEqual(['_files -/']);
    expect(u.argv()).toEqual(['__complete', '--', 'cluster', 'teardown', '--backup-dir', '']);
  });
});

/** What fish offers for this command line (`complete -C`), as `value<TAB>description` lines. */
function fish(s: Stub, line: string, cwd?: string): string[] {
  const script = `source ${SCRIPT.fish.replace(/([\\' ])/g, '\\$1')}; complete -C ${q(line)}`;
  return sh('fish', ['--no-config', '-c', script], s, cwd).split('\n').filter(Boolean);
}

describe.skipIf(need('fish'))('fish: completions/pvx.fish', () => {
  it('hands the tokens and the current one (also when empty) to pvx __complete; fish shows the descriptions', async () => {
    const s = await stub(['cluster', 'st']);
    expect(fish(s, 'pvx cluster st')).toEqual(['status\tcluster name, quorum and members, read from every inventory node in parallel']);
    expect(s.argv()).toEqual(['__complete', '--', 'cluster', 'st']);
    const t = await stub(['lab', 'up', '--pve', '']);
    expect(fish(t, 'pvx lab up --pve ')).toEqual(['8.4.11', '9.0.6', '9.1.7']);
    expect(t.argv()).toEqual(['__complete', '--', 'lab', 'up', '--pve', '']);
    // in pvx's order, not sorted
    const u = await stub(['completion', '']);
    expect(fish(u, 'pvx completion ')).toEqual(['bash', 'zsh', 'fish']);
  });

  it('directories where pvx says so', async () => {
    const dir = tmpDir('pvx-files-');
    mkdirSync(path.join(dir, 'backups'));
    writeFileSync(path.join(dir, 'notes.txt'), '');
    const s = await stub(['cluster', 'teardown', '--backup-dir', '']);
    expect(fish(s, 'pvx cluster teardown --backup-dir ', dir)).toEqual(['backups/\tDirectory']);
  });
});
