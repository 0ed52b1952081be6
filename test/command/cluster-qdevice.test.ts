/**
 * `pvx cluster qdevice add|remove` against the strict fake transport: every command scripted by hand,
 * nothing else may run (so a refusal that ran pvecm, or a dry run that changed something, fails).
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli.js';
import { nodeReadArgv } from '../../src/facts/node-read.js';
import type { ExecResult } from '../../src/transport/types.js';
import { addPreflight, corosyncConf, membershipReads, QdeviceFake, quorumtool } from '../helpers/fake-qdevice.js';
import type { Script } from '../helpers/fake-transport.js';
import { validEnvelope } from '../helpers/json-schema.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const HOST = '10.99.0.5';
const SETUP = ['pvecm', 'qdevice', 'setup', HOST];
const QUORUMTOOL = ['corosync-quorumtool', '-s'];

/** Run pvx in-process on fake timers (the vote polls end at once); a --json document must match its schema. */
async function pvx(args: string[], t: QdeviceFake | undefined, names = ['pve1', 'pve2']) {
  const io = testIO();
  const state = tmpDir('pvx-state-');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  let done = false;
  const p = run(['-i', writeInventory(names), ...args], {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') },
    cwd: state,
    transportFactory: () => {
      if (!t) throw new Error('no transport expected in this run');
      return t;
    },
  }).finally(() => (done = true));
  while (!done) await vi.advanceTimersByTimeAsync(500);
  const code = await p;
  if (args.includes('--json')) validEnvelope(io.stdoutText());
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

const ran = (t: QdeviceFake, argv: readonly string[]) => t.calls.filter((c) => c.argv.join(' ') === argv.join(' ')).map((c) => c.node);
const ok = (stdout = ''): Partial<ExecResult> => ({ exitCode: 0, stdout, stderr: '' });
const votes3 = (self: number): Script => ({ node: `pve${self}`, argv: QUORUMTOOL, result: ok(quorumtool(self, 2, { expected: 3, total: 3, qdevice: true })) });
const votes2 = (self: number): Script => ({ node: `pve${self}`, argv: QUORUMTOOL, result: ok(quorumtool(self, 2, { expected: 2, total: 2, qdevice: false })) });

afterEach(() => vi.useRealTimers());

describe('pvx cluster qdevice add', () => {
  it('proves the prerequisites, runs pvecm qdevice setup on pve1, and verifies 3 expected votes on both nodes', async () => {
    const t = new QdeviceFake([...addPreflight(2, HOST), { node: 'pve1', argv: SETUP, result: ok('\nINFO: initializing qnetd server\n') }, votes3(1), votes3(2)]);
    const r = await pvx(['--json', 'cluster', 'qdevice', 'add', HOST], t);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result).toMatchObject({ action: 'add', cluster: 'lab', host: HOST, outcome: 'added' });
    expect(doc.result.votes).toEqual([
      { node: 'pve1', expectedVotes: 3, totalVotes: 3, qdevice: true },
      { node: 'pve2', expectedVotes: 3, totalVotes: 3, qdevice: true },
    ]);
    expect(ran(t, SETUP)).toEqual(['pve1']);
    // the change held the cluster lock on both nodes and gave it back
    expect(t.locks.calls.map((c) => `${c.node} ${c.action}`).sort()).toEqual(['pve1 acquire', 'pve1 release', 'pve2 acquire', 'pve2 release']);
    t.verify();
  });

  it('--dry-run runs the checks and prints the exact native commands, changing nothing', async () => {
    const t = new QdeviceFake(addPreflight(2, HOST));
    const r = await pvx(['--dry-run', 'cluster', 'qdevice', 'add', HOST], t);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pvecm qdevice setup 10.99.0.5\n');
    expect(r.stdout).toContain('corosync-quorumtool -s\n');
    expect(r.stdout).toContain('pve2 reaches 10.99.0.5:5403');
    const j = new QdeviceFake(addPreflight(2, HOST));
    const doc = JSON.parse((await pvx(['--json', '--dry-run', 'cluster', 'qdevice', 'add', HOST], j)).stdout);
    expect(doc.result.plan.map((s: { node: string; command: string[]; mutates: boolean }) => [s.node, s.command.join(' '), s.mutates])).toEqual([
      ['pve1', 'pvecm qdevice setup 10.99.0.5', true],
      ['pve1', 'corosync-quorumtool -s', false],
      ['pve2', 'corosync-quorumtool -s', false],
    ]);
    expect(t.locks.calls).toEqual([]);
    t.verify();
    j.verify();
  });

  it('an address that is not an IP is bad input (exit 2) before any node is touched', async () => {
    for (const host of ['qnetd.example', '-oProxyCommand=x', '10.99.0.300']) {
      const r = await pvx(['--json', 'cluster', 'qdevice', 'add', host], undefined);
      expect(r.code, host).toBe(2);
      expect(JSON.parse(r.stdout).error.code).toBe('USAGE');
    }
  });

  it('refuses (exit 3, nothing run) when a node cannot reach TCP 5403 and another lacks corosync-qdevice', async () => {
    const t = new QdeviceFake(
      addPreflight(2, HOST, {
        tcp: { 2: { exitCode: 124, stdout: '', stderr: '' } },
        pkg: { 1: { exitCode: 1, stdout: '', stderr: 'dpkg-query: no packages found matching corosync-qdevice\n' } },
      }),
    );
    const r = await pvx(['--json', 'cluster', 'qdevice', 'add', HOST], t);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.message).toContain('pve2: pve2 cannot open TCP 10.99.0.5:5403: timed out after 5 s');
    expect(doc.error.message).toContain('pve1: corosync-qdevice is not installed on pve1 (apt install corosync-qdevice)');
    expect(ran(t, SETUP)).toEqual([]);
    expect(t.locks.calls).toEqual([]);
    t.verify();
  });

  it('refuses when root ssh to the QNetd host needs a prompt, or corosync-qnetd is missing there', async () => {
    const noSsh = new QdeviceFake(addPreflight(2, HOST, { ssh: { exitCode: 255, stdout: '', stderr: 'root@10.99.0.5: Permission denied (publickey,password).\n' } }));
    const a = await pvx(['cluster', 'qdevice', 'add', HOST], noSsh);
    expect(a.code).toBe(3);
    expect(a.stderr).toContain('root ssh from pve1 to 10.99.0.5 failed without a prompt (pvecm qdevice setup needs it): root@10.99.0.5: Permission denied (publickey,password).');
    noSsh.verify();
    const noQnetd = new QdeviceFake(addPreflight(2, HOST, { ssh: { exitCode: 127, stdout: '', stderr: 'bash: line 1: corosync-qnetd-tool: command not found\n' } }));
    const b = await pvx(['cluster', 'qdevice', 'add', HOST], noQnetd);
    expect(b.code).toBe(3);
    expect(b.stderr).toContain('corosync-qnetd is not installed on 10.99.0.5 (apt install corosync-qnetd there)');
    noQnetd.verify();
  });

  it('refuses a cluster that has a QDevice already', async () => {
    const t = new QdeviceFake(addPreflight(2, HOST, { conf: corosyncConf(2, true) }));
    const r = await pvx(['cluster', 'qdevice', 'add', HOST], t);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('a QDevice is configured already (host 10.99.0.5): remove it first with pvx cluster qdevice remove');
    t.verify();
  });

  it('refuses an odd node count as pvecm does, and sets it up with --force', async () => {
    const names = ['pve1', 'pve2', 'pve3'];
    const t = new QdeviceFake(addPreflight(3, HOST));
    const r = await pvx(['cluster', 'qdevice', 'add', HOST], t, names);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Clusters with an odd node count are not officially supported!');
    t.verify();
    // lms: corosync gives the device the node count minus one votes, 3 + 2 = 5 expected
    const five = (self: number): Script => ({ node: `pve${self}`, argv: QUORUMTOOL, result: ok(quorumtool(self, 3, { expected: 5, total: 5, qdevice: true })) });
    const f = new QdeviceFake([...addPreflight(3, HOST, { force: true }), { node: 'pve1', argv: [...SETUP, '--force', '1'], result: ok() }, five(1), five(2), five(3)]);
    const forced = await pvx(['cluster', 'qdevice', 'add', HOST, '--force'], f, names);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('every node shows 5 expected votes and the Qdevice flag');
    f.verify();
  });

  it('exits 4 after changes when a node never shows the QDevice vote, and names the command that undoes it', async () => {
    const stuck: Script = { node: 'pve2', argv: QUORUMTOOL, result: ok(quorumtool(2, 2, { expected: 2, total: 2, qdevice: false })), repeat: true };
    const t = new QdeviceFake([...addPreflight(2, HOST), { node: 'pve1', argv: SETUP, result: ok() }, votes3(1), stuck]);
    const r = await pvx(['cluster', 'qdevice', 'add', HOST], t);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('pve2 shows 2 expected votes, not 3, no Qdevice flag');
    expect(r.stderr).toMatch(/to take the QDevice out again: pvx -i \S+ cluster qdevice remove/);
    t.verify();
  });

  it('a failed pvecm qdevice setup that wrote nothing exits 1 and says to run again with --force', async () => {
    const t = new QdeviceFake([
      ...addPreflight(2, HOST),
      { node: 'pve1', argv: SETUP, result: { exitCode: 255, stdout: '\nINFO: initializing qnetd server\n', stderr: "command 'scp -o BatchMode=yes root@[10.99.0.5]:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt /etc/pve/qnetd-cacert.crt' failed: exit code 1\n" } },
      { node: 'pve1', argv: ['cat', '/etc/pve/corosync.conf'], result: ok(corosyncConf(2, false)) },
    ]);
    const r = await pvx(['--json', 'cluster', 'qdevice', 'add', HOST], t);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.outcome).toBe('failed');
    expect(doc.result.recovery).toMatch(/run again with --force .*cluster qdevice add 10\.99\.0\.5 --force$/);
    t.verify();
  });
});

describe('pvx cluster qdevice remove', () => {
  const reads = (offline: number[] = []) => [...membershipReads(1, 2, { qdevice: true, offline }), ...membershipReads(2, 2, { qdevice: true, offline })];

  it('runs pvecm qdevice remove and verifies 2 expected votes and no Qdevice flag on both nodes', async () => {
    const t = new QdeviceFake([
      ...reads(),
      { node: 'pve1', argv: ['cat', '/etc/pve/corosync.conf'], result: ok(corosyncConf(2, true)) },
      { node: 'pve1', argv: ['pvecm', 'qdevice', 'remove'], result: ok('\nRemoved Qdevice.\n') },
      votes2(1),
      votes2(2),
    ]);
    const r = await pvx(['--json', 'cluster', 'qdevice', 'remove'], t);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result).toMatchObject({ action: 'remove', host: HOST, outcome: 'removed' });
    expect(doc.result.votes).toEqual([
      { node: 'pve1', expectedVotes: 2, totalVotes: 2, qdevice: false },
      { node: 'pve2', expectedVotes: 2, totalVotes: 2, qdevice: false },
    ]);
    t.verify();
  });

  it('refuses while a node is offline (pvecm: All nodes must be online!), running nothing', async () => {
    const t = new QdeviceFake([
      ...membershipReads(1, 2, { qdevice: true, offline: [2] }),
      { node: 'pve2', argv: nodeReadArgv(), unreachable: true },
      { node: 'pve1', argv: ['cat', '/etc/pve/corosync.conf'], result: ok(corosyncConf(2, true)) },
    ]);
    const r = await pvx(['cluster', 'qdevice', 'remove'], t);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('pve2 is unreachable');
    expect(r.stderr).toContain('All nodes must be online (pvecm refuses otherwise): pve2 is offline');
    expect(ran(t, ['pvecm', 'qdevice', 'remove'])).toEqual([]);
    t.verify();
  });

  it('refuses when no QDevice is configured; --dry-run prints pvecm qdevice remove', async () => {
    const none = new QdeviceFake([...reads(), { node: 'pve1', argv: ['cat', '/etc/pve/corosync.conf'], result: ok(corosyncConf(2, false)) }]);
    const r = await pvx(['cluster', 'qdevice', 'remove'], none);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('No QDevice configured in /etc/pve/corosync.conf: nothing to remove');
    none.verify();
    const dry = new QdeviceFake([...reads(), { node: 'pve1', argv: ['cat', '/etc/pve/corosync.conf'], result: ok(corosyncConf(2, true)) }]);
    const d = await pvx(['--dry-run', 'cluster', 'qdevice', 'remove'], dry);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('pvecm qdevice remove\n');
    dry.verify();
  });
});
