import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { afterMarker, remoteCommand, sshBaseArgs, SshTransport } from '../../../src/transport/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sshFailure } from '../../../src/transport/ssh-errors.js';

describe('sshBaseArgs', () => {
  it('uses batch mode, a connect timeout and a control socket, and never weakens host-key checks', () => {
    const args = sshBaseArgs(
      { name: 'pve1', host: '10.0.0.1', port: 2222, user: 'root', identityFile: '/k', knownHostsFile: '/kh', connectTimeout: 7 },
      { runtimeDir: '/run/user/0/pvx' },
    );
    const joined = args.join(' ');
    expect(joined).toContain('BatchMode=yes');
    expect(joined).toContain('ConnectTimeout=7');
    expect(joined).toContain('ControlPath=/run/user/0/pvx/cm-%C');
    expect(joined).toContain('UserKnownHostsFile=/kh');
    expect(args).toEqual(expect.arrayContaining(['-p', '2222', '-l', 'root', '-i', '/k']));
    expect(joined).not.toMatch(/StrictHostKeyChecking|accept-new|\/dev\/null/);
  });
});

describe('remoteCommand', () => {
  it('cuts login-shell noise and runs the argv under the C locale', () => {
    const cmd = remoteCommand(['sh', '-c', 'echo "$LC_ALL:$1"', 'x', "it's; $(id)"], 'MARK');
    // what a noisy .bashrc does before the command runs
    const out = execFileSync('/bin/sh', ['-c', `echo 'Welcome!'; echo 'noise' >&2; ${cmd}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(afterMarker(out, 'MARK')).toBe("C:it's; $(id)\n");
  });

  it('reports a missing marker as undefined (ssh itself failed)', () => {
    expect(afterMarker('ssh: connect to host x port 22: Connection refused\n', 'MARK')).toBeUndefined();
  });
});

describe('sshFailure', () => {
  const ep = { name: 'pve1', host: '10.0.0.1', port: 22, knownHostsFile: '/lab/known_hosts' };
  it('explains an unknown host key with a way to verify it', () => {
    const e = sshFailure(ep, 'No ED25519 host key is known for 10.0.0.1 and you have requested strict checking.\r\nHost key verification failed.\r\n');
    expect(e.code).toBe('HOST_KEY_UNKNOWN');
    expect(e.exitCode).toBe(6);
    expect(e.hint).toContain('ssh-keyscan -p 22 10.0.0.1');
    expect(e.hint).toContain('ssh-keygen -lf');
    expect(e.hint).toContain('/lab/known_hosts');
  });
  it('tells a changed host key apart', () => {
    const e = sshFailure(ep, '@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@\nHost key verification failed.\n');
    expect(e.code).toBe('HOST_KEY_CHANGED');
  });
  it('recognises refused key auth and plain connection failures', () => {
    expect(sshFailure(ep, 'root@10.0.0.1: Permission denied (publickey).\n').code).toBe('SSH_AUTH_FAILED');
    const e = sshFailure(ep, 'ssh: connect to host 10.0.0.1 port 22: Connection refused\n');
    expect(e.code).toBe('UNREACHABLE');
    expect(e.message).toContain('Connection refused');
    // ssh failed before the remote shell ran: the command never started
    expect(e.beforeCommand).toBe(true);
  });
});

describe('SshTransport and a Ctrl-C that hits ssh before it left pvx\'s process group', () => {
  // an `ssh` on PATH that plays the remote side with sh; `die` says which starts die of SIGINT silently
  function fakeSsh(dir: string, die: string): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'ssh'),
      `#!/bin/sh\nc=${dir}/count; n=$(cat "$c" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$c"\ncase " ${die} " in *" $n "*) kill -INT $$; sleep 5;; esac\nfor last; do :; done\nexec sh -c "$last"\n`,
      { mode: 0o755 },
    );
  }
  async function withPath<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const before = process.env['PATH'];
    process.env['PATH'] = `${dir}:${before}`;
    try {
      return await fn();
    } finally {
      process.env['PATH'] = before;
    }
  }
  const transport = (dir: string) =>
    new SshTransport(new Map([['pve1', { name: 'pve1', host: '10.99.0.1', connectTimeout: 5 }]]), { runtimeDir: path.join(dir, 'rt'), controlPersist: 60, maxNewConnections: 8 });

  it('runs a command again once when its ssh died of SIGINT without a word: it never started', async () => {
    const dir = tmpDir('pvx-fake-ssh-');
    fakeSsh(dir, '1');
    const r = await withPath(dir, () => transport(dir).exec('pve1', ['echo', 'ran']));
    expect(r).toMatchObject({ exitCode: 0, stdout: 'ran\n' });
    expect(readFileSync(path.join(dir, 'count'), 'utf8').trim()).toBe('2');
  });

  it('a second such death is reported, not tried a third time', async () => {
    const dir = tmpDir('pvx-fake-ssh-');
    fakeSsh(dir, '1 2');
    await expect(withPath(dir, () => transport(dir).exec('pve1', ['echo', 'ran']))).rejects.toThrow('cannot reach pve1 over SSH');
    expect(readFileSync(path.join(dir, 'count'), 'utf8').trim()).toBe('2');
  });
});

describe('SshTransport and a connection that breaks under a running command', () => {
  // an `ssh` on PATH that runs the remote side with sh, then exits as a broken connection makes it: 255, no word
  function brokenSsh(dir: string, after: string): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'ssh'), `#!/bin/sh\nfor last; do :; done\nsh -c "$last"\n${after}\n`, { mode: 0o755 });
  }
  const transport = (dir: string) =>
    new SshTransport(new Map([['pve3', { name: 'pve3', host: '10.99.0.3', connectTimeout: 5 }]]), { runtimeDir: path.join(dir, 'rt'), controlPersist: 60, maxNewConnections: 8 });

  it('says the connection may have broken when exit 255 comes without a word, and keeps a command\'s own words', async () => {
    const before = process.env['PATH'];
    try {
      const silent = tmpDir('pvx-broken-ssh-');
      brokenSsh(silent, 'exit 255');
      process.env['PATH'] = `${silent}:${before}`;
      expect(await transport(silent).exec('pve3', ['true'])).toMatchObject({
        exitCode: 255,
        stderr: 'the ssh connection to 10.99.0.3 broke while the command ran (exit 255), or the command exited 255 without a word\n',
        cutOff: true,
      });
      // ssh's own last words for a session that broke: the command may have run
      const closed = tmpDir('pvx-broken-ssh-');
      brokenSsh(closed, 'echo "Connection to 10.99.0.3 closed by remote host." >&2; exit 255');
      process.env['PATH'] = `${closed}:${before}`;
      expect(await transport(closed).exec('pve3', ['true'])).toMatchObject({ exitCode: 255, cutOff: true });
      const spoke = tmpDir('pvx-broken-ssh-');
      brokenSsh(spoke, 'echo "it failed its own way" >&2; exit 255');
      process.env['PATH'] = `${spoke}:${before}`;
      const own = await transport(spoke).exec('pve3', ['true']);
      expect(own).toMatchObject({ exitCode: 255, stderr: 'it failed its own way\n' });
      expect(own.cutOff).toBeUndefined();
    } finally {
      process.env['PATH'] = before;
    }
  });
});
