import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import type { Prompter } from '../../src/ui/prompter.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const NAMES = ['pve1', 'pve2', 'pve3'];

/** One in-process run with its own state dir (the journal lands there) and an optional prompter. */
async function pvx(args: string[], fc: FakeCluster | undefined, opts: { tty?: boolean; env?: Record<string, string>; prompter?: Prompter } = {}) {
  const io = testIO({ tty: Boolean(opts.tty) });
  const state = tmpDir('pvx-state-');
  const code = await run(args, {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run'), ...opts.env },
    cwd: state,
    transportFactory: () => {
      if (!fc) throw new Error('no transport expected in this test');
      return fc;
    },
    ...(opts.prompter ? { prompter: opts.prompter } : {}),
  });
  const journalFile = path.join(state, 'journal.jsonl');
  return { code, stdout: io.stdoutText(), stderr: io.stderrText(), journal: existsSync(journalFile) ? readFileSync(journalFile, 'utf8') : '' };
}

function passwordFile(pw: string): string {
  const f = path.join(tmpDir('pvx-pw-'), 'root-password');
  writeFileSync(f, `${pw}\n`, { mode: 0o600 });
  return f;
}

function setup(names = NAMES) {
  const fc = new FakeCluster(names);
  return { fc, inv: writeInventory(names), pw: passwordFile(fc.password) };
}

const JOINED = (n: string) => [
  `${n}: touch /etc/pve/nodes/${n}/.pvx-write-check`,
  `${n}: rm -f /etc/pve/nodes/${n}/.pvx-write-check`,
];

describe('pvx cluster create with a dedicated corosync network', () => {
  it('creates on the corosync addresses and joins through the first node`s management address', async () => {
    const fc = new FakeCluster(NAMES);
    NAMES.forEach((n, i) => (fc.node(n).link0 = `10.98.0.${i + 1}`));
    const inv = path.join(tmpDir('pvx-inv-'), 'pvx.yaml');
    writeFileSync(inv, 'nodes:\n' + NAMES.map((n, i) => `  - name: ${n}\n    host: 10.99.0.${i + 1}\n    link0: 10.98.0.${i + 1}\n`).join(''));
    const r = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', passwordFile(fc.password)], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const fpr = fc.fingerprint('pve1');
    expect(fc.mutationsChecksByNode()).toEqual([
      'pve1: pvecm create lab --link0 10.98.0.1',
      `pve2: pvecm add 10.99.0.1 --fingerprint ${fpr} --link0 10.98.0.2`,
      `pve3: pvecm add 10.99.0.1 --fingerprint ${fpr} --link0 10.98.0.3`,
      ...NAMES.flatMap(JOINED),
    ]);
    expect(fc.clusters.get('lab')!.members.map((m) => m.address)).toEqual(['10.98.0.1', '10.98.0.2', '10.98.0.3']);
    fc.verify();
  });
});

describe('pvx cluster create (in-process, fake cluster)', () => {
  it('creates, joins one node at a time with the password on stdin only, verifies, and says so (human)', async () => {
    const { fc, inv, pw } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const fpr = fc.fingerprint('pve1');
    expect(fc.mutationsChecksByNode()).toEqual([
      'pve1: pvecm create lab --link0 10.99.0.1',
      `pve2: pvecm add 10.99.0.1 --fingerprint ${fpr} --link0 10.99.0.2`,
      `pve3: pvecm add 10.99.0.1 --fingerprint ${fpr} --link0 10.99.0.3`,
      ...NAMES.flatMap(JOINED),
    ]);
    expect(fc.calls.filter((c) => c.opts.input !== undefined).map((c) => [c.node, c.opts.input])).toEqual([
      ['pve2', `${fc.password}\n`],
      ['pve3', `${fc.password}\n`],
    ]);
    expect(r.stdout).toBe(
      "✔ Created cluster 'lab' with pve1, pve2, pve3: every node sees the same 3 member(s), quorate, /etc/pve writable.\n  members: pve1, pve2, pve3\n",
    );
    expect(r.stderr).toContain('✔ [pve1] create cluster \'lab\' on pve1\n');
    expect(r.stderr).toContain('✔ [pve3] wait until pve3 is quorate with 3 member(s)');
    expect(r.stderr).toMatch(/^✔ preflight: \d+ check\(s\) passed on 3 node\(s\)$/m);
    for (const text of [r.stdout, r.stderr, r.journal]) expect(text).not.toContain(fc.password);
    expect(r.journal).toContain('"stdin":true');
    expect([...fc.clusters.get('lab')!.members.map((m) => m.name)]).toEqual(NAMES);
    fc.verify();
  });

  it('--json prints one document with the steps, nothing on stderr, no password', async () => {
    const { fc, inv, pw } = setup();
    const r = await pvx(['-i', inv, '--json', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, command: 'cluster create', ok: true, result: { action: 'create', cluster: 'lab', outcome: 'created', members: NAMES }, warnings: [] });
    expect(doc.result.steps.every((s: { status: string }) => s.status === 'ok')).toBe(true);
    expect(r.stdout).not.toContain(fc.password);
    fc.verify();
  });

  it('--dry-run prints the exact commands per node, with stdin marked secret, and changes nothing', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, '--dry-run', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3'], fc);
    expect(r.code).toBe(0);
    expect(fc.mutations()).toEqual([]);
    expect(fc.calls.every((c) => !c.opts.mutates)).toBe(true);
    expect(r.stdout).toContain("Plan: create cluster 'lab' with pve1, pve2, pve3 (--dry-run: nothing was changed)\n\npve1\n   1. create cluster 'lab' on pve1\n        pvecm create lab --link0 10.99.0.1\n");
    expect(r.stdout).toContain("        pvecm add 10.99.0.1 --fingerprint '<fingerprint of pve1>' --link0 10.99.0.2  < root password on stdin (secret, never shown)\n");
    const j = await pvx(['-i', inv, '--json', '--dry-run', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3'], new FakeCluster(NAMES));
    const doc = JSON.parse(j.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.result.plan[0]).toEqual({ node: 'pve1', title: "create cluster 'lab' on pve1", command: ['pvecm', 'create', 'lab', '--link0', '10.99.0.1'], mutates: true });
    expect(doc.result.plan[2]).toMatchObject({ node: 'pve2', command: ['pvecm', 'add', '10.99.0.1', '--fingerprint', '<fingerprint of pve1>', '--link0', '10.99.0.2'], mutates: true, stdin: 'secret' });
    fc.verify();
  });

  it.each([
    [['bad_name', '--nodes', 'pve1,pve2'], "cluster name 'bad_name' is invalid"],
    [['a-very-long-cluster', '--nodes', 'pve1,pve2'], 'at most 15'],
    [['-bad', '--nodes', 'pve1'], ''],
    [['lab', '--nodes', 'pve1,pve9'], "node 'pve9' is not in the inventory"],
    [['lab', '--nodes', 'pve1,pve1'], '--nodes lists pve1 twice'],
    [['lab', '--nodes', 'pve1,,pve2'], 'empty entry'],
    [['lab', '--nodes', 'pve1,pve2', '--link0', 'pve1=10.0.0.300'], "'10.0.0.300' for pve1 is not an IP address"],
    [['lab', '--nodes', 'pve1,pve2', '--link0', 'pve3=10.0.0.3'], "node 'pve3' is not one of --nodes"],
    [['lab', '--nodes', 'pve1,pve2', '--link0', 'pve1'], "'pve1' is not <node>=<address>"],
    [['lab', '--nodes', 'pve1,pve2'], 'needs the root password'],
    [['lab', '--nodes', 'pve1,pve2', '--password-file', '/nonexistent/pw'], "cannot read '/nonexistent/pw' (ENOENT)"],
    [['lab', '--nodes', 'pve1,pve2', '--password-file', '/dev/null', '--use-ssh'], 'exclude each other'],
  ])('bad input %j exits 2 before any command runs', async (args, message) => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, '--json', 'cluster', 'create', ...args], fc);
    expect(r.code).toBe(2);
    expect(fc.calls).toEqual([]);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('USAGE');
    expect(doc.error.message + (doc.error.hint ?? '')).toContain(message);
  });

  it('without a password source and no terminal, the error names the flags', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2'], fc);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--password-file <file> (or PVX_PASSWORD_FILE), or --use-ssh');
    fc.verify();
  });

  it('asks for the password once at a terminal, hidden, and uses PVX_PASSWORD_FILE without asking', async () => {
    const { fc, inv, pw } = setup();
    const asked: string[] = [];
    const prompter: Prompter = { confirmTyped: async () => false, secret: async (m) => (asked.push(m), fc.password) };
    const r = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3'], fc, { tty: true, prompter });
    expect(r.code).toBe(0);
    expect(asked).toEqual(['Root password of pve1 (used by pvecm add, never stored):']);
    expect(r.stdout + r.stderr).not.toContain(fc.password);

    const fc2 = new FakeCluster(NAMES);
    const none: Prompter = { confirmTyped: async () => false, secret: async () => { throw new Error('must not ask'); } };
    const r2 = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2'], fc2, { tty: true, prompter: none, env: { PVX_PASSWORD_FILE: pw } });
    expect(r2.code).toBe(0);
    fc2.verify();
    fc.verify();
  });

  it('is a no-op (exit 0, says so, nothing changed) when the nodes already form the cluster', async () => {
    const { fc, inv, pw } = setup();
    fc.form('lab', NAMES);
    const r = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("• Cluster 'lab' already has pve1, pve2, pve3 as members: nothing to do.\n  members: pve1, pve2, pve3\n");
    expect(fc.mutations()).toEqual([]);
    const j = await pvx(['-i', inv, '--json', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2', '--password-file', pw], fc);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, result: { outcome: 'unchanged', members: NAMES }, warnings: [expect.stringContaining('also has pve3')] });
    fc.verify();
  });

  it('joins only the nodes missing from an existing cluster of that name', async () => {
    const { fc, inv, pw } = setup();
    fc.form('lab', ['pve1', 'pve2']);
    const r = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.code).toBe(0);
    expect(fc.mutationsChecksByNode()).toEqual([`pve3: pvecm add 10.99.0.1 --fingerprint ${fc.fingerprint('pve1')} --link0 10.99.0.3`, ...NAMES.flatMap(JOINED)]);
    expect(r.stdout).toContain("Joined pve3 to cluster 'lab'");
    fc.verify();
  });

  it('a node in another cluster is a preflight failure (exit 3), nothing changed', async () => {
    const { fc, inv, pw } = setup();
    fc.form('other', ['pve3']);
    const r = await pvx(['-i', inv, '--json', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.code).toBe(3);
    expect(fc.mutations()).toEqual([]);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'PREFLIGHT_FAILED', message: expect.stringContaining("pve3 is already in another cluster, 'other'") });
    fc.verify();
  });

  it('blocked corosync UDP and guests on a joining node stop the run before the first change (exit 3)', async () => {
    const { fc, inv, pw } = setup();
    fc.udpBlocked.add('pve3');
    fc.node('pve2').guests.push({ vmid: 100, type: 'qemu', name: 'web' });
    const r = await pvx(['-i', inv, '--json', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.code).toBe(3);
    expect(fc.mutations()).toEqual([]);
    const doc = JSON.parse(r.stdout);
    const failed = doc.error.details.checks.filter((c: { status: string }) => c.status === 'fail').map((c: { id: string; node: string }) => `${c.id}:${c.node}`);
    expect(failed).toEqual(expect.arrayContaining(['no-guests:pve2', expect.stringMatching(/^udp-corosync:/)]));
    expect(doc.error.message).toContain('preflight failed, nothing was changed');
    fc.verify();
  });

  it('a two-node create warns about quorum', async () => {
    const { fc, inv, pw } = setup();
    const r = await pvx(['-i', inv, '--json', 'cluster', 'create', 'duo', '--nodes', 'pve1,pve2', '--password-file', pw], fc);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings.join('\n')).toMatch(/2 votes.*loses quorum/);
    fc.verify();
  });

  it('a wrong password after the create: exit 4 with the node states, the journal and the recovery command; the password is nowhere', async () => {
    const { fc, inv } = setup();
    const wrong = passwordFile('not the password');
    const r = await pvx(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', wrong], fc);
    expect(r.code).toBe(4);
    expect(fc.mutations()).toEqual(['pve1: pvecm create lab --link0 10.99.0.1', `pve2: pvecm add 10.99.0.1 --fingerprint ${fc.fingerprint('pve1')} --link0 10.99.0.2`]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("error: cluster create 'lab' failed after changes at step 3 on pve2 (join cluster 'lab' through pve1): login to pve1 failed, wrong root password? (401 401 authentication failure)");
    expect(r.stderr).toContain("  pve1: member of 'lab', quorate");
    expect(r.stderr).toContain('  pve2: standalone (not in a cluster)');
    expect(r.stderr).toMatch(/ {2}journal: .*journal\.jsonl/);
    expect(r.stderr).toContain(`hint: fix the cause above, then continue with: pvx -i ${inv} cluster create lab --nodes pve1,pve2,pve3 --password-file ${wrong}`);
    for (const text of [r.stdout, r.stderr, r.journal]) expect(text).not.toContain('not the password');
    const j = await pvx(['-i', inv, '--json', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', wrong], new FakeCluster(NAMES));
    const doc = JSON.parse(j.stdout);
    expect(doc.error).toMatchObject({ code: 'CHANGED_THEN_FAILED', exitCode: 4 });
    expect(doc.error.details.recovery).toContain('cluster create lab');
    expect(doc.result.nodes.map((n: { name: string; state: string }) => `${n.name}:${n.state}`)).toEqual(['pve1:member', 'pve2:standalone', 'pve3:standalone']);
    expect(j.stdout).not.toContain('not the password');
    fc.verify();
  });

  it('pvecm add exiting 0 on a failed join is caught (exit 4), and the cluster it left behind is reported', async () => {
    const { fc, inv, pw } = setup();
    fc.addFaults.set('pve2', 'exit0-no-success');
    const r = await pvx(['-i', inv, '--json', 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.code).toBe(4);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.message).toContain('pvecm add failed (though it exited 0): unable to start pve-cluster: timeout');
    expect(doc.result.nodes[0]).toMatchObject({ name: 'pve1', state: 'member', quorate: false, members: ['pve1', 'pve2'] });
    expect(doc.error.hint).toContain('cluster create lab --nodes pve1,pve2,pve3 --password-file');
    expect(fc.calls.some((c) => c.node === 'pve3' && c.opts.mutates)).toBe(false);
    fc.verify();
  });
});
