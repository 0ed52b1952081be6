import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import type { Prompter } from '../../src/ui/prompter.js';
import { guestContentsArgv } from '../../src/workflows/cluster/restore-guests.js';
import { TeardownFake } from '../helpers/fake-teardown.js';
import { UnreachableError } from '../../src/errors.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const NAMES = ['pve1', 'pve2', 'pve3'];

async function pvx(args: string[], fc: TeardownFake | undefined, opts: { tty?: boolean; prompter?: Prompter; state?: string } = {}) {
  const io = testIO({ tty: Boolean(opts.tty) });
  const state = opts.state ?? tmpDir('pvx-state-');
  const code = await run(args, {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') },
    cwd: state,
    transportFactory: () => {
      if (!fc) throw new Error('no transport expected in this test');
      return fc;
    },
    ...(opts.prompter ? { prompter: opts.prompter } : {}),
  });
  return { code, stdout: io.stdoutText(), stderr: io.stderrText(), state };
}

function setup() {
  const fc = new TeardownFake(NAMES).form('prod', NAMES);
  fc.node('pve1').guests.push({ vmid: 100, type: 'qemu', name: 'web' }, { vmid: 103, type: 'lxc', name: 'dns' });
  fc.node('pve2').guests.push({ vmid: 101, type: 'lxc', name: 'db' });
  fc.node('pve3').guests.push({ vmid: 102, type: 'qemu', name: 'mail' });
  return { fc, inv: writeInventory(NAMES) };
}

const SEPARATE = (n: string) => [
  `${n}: systemctl stop pve-cluster`,
  `${n}: systemctl stop corosync`,
  `${n}: stop-leftover-pmxcfs`,
  `${n}: pmxcfs -l`,
  `${n}: rm -f /etc/pve/corosync.conf`,
  `${n}: find /etc/corosync -mindepth 1 -delete`,
  `${n}: stop-pmxcfs`,
  `${n}: systemctl start pve-cluster`,
  `${n}: find /var/lib/corosync -mindepth 1 -delete`,
];

/** The removal of the other nodes' folders after a node is separated. */
const STALE = (n: string, ...others: string[]) => `${n}: rm -rf -- ${others.map((o) => `/etc/pve/nodes/${o}`).join(' ')}`;

function clusterMutations(fc: TeardownFake): string[] {
  return fc
    .mutations()
    .filter((m) => !m.includes('sqlite3'))
    .map((m) => (m.includes('no local pmxcfs left running') ? `${m.split(':')[0]}: stop-leftover-pmxcfs` : m.includes('/proc/$pid/cmdline') ? `${m.split(':')[0]}: stop-pmxcfs` : m));
}

function sayName(answer: string): Prompter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    confirmTyped: async (message) => (asked.push(message), answer === 'prod'),
    secret: async () => '',
  };
}

describe('pvx cluster teardown', () => {
  it('backs up every node, separates pve3 then pve2, removes them on pve1, separates pve1 last, and checks every node (--yes)', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'teardown', '--yes'], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(clusterMutations(fc)).toEqual([
      ...SEPARATE('pve3'),
      STALE('pve3', 'pve1', 'pve2'),
      'pve1: pvecm delnode pve3',
      // delnode leaves /etc/pve/nodes/pve3 behind on the members
      ...SEPARATE('pve2'),
      STALE('pve2', 'pve1', 'pve3'),
      'pve1: pvecm expected 1',
      'pve1: pvecm delnode pve2',
      ...SEPARATE('pve1'),
      STALE('pve1', 'pve2', 'pve3'),
    ]);
    // three backups made before the first change
    const firstChange = fc.calls.findIndex((c) => c.argv.join(' ') === 'systemctl stop pve-cluster');
    expect(fc.calls.slice(0, firstChange).filter((c) => c.argv[2]?.includes('sqlite3')).map((c) => c.node)).toEqual(NAMES);
    expect(fc.calls.slice(firstChange).some((c) => c.argv[2]?.includes('sqlite3'))).toBe(false);
    for (const n of NAMES) expect(fc.node(n).cluster).toBeUndefined();

    expect(r.stdout).toContain("✔ Cluster 'prod' is torn down: pve1, pve2, pve3 are standalone.");
    expect(r.stdout).toContain('guest configurations (before → after): pve1 2 → 2, pve2 1 → 1, pve3 1 → 1');
    expect(r.stdout).toMatch(/to undo: pvx -i \S+ cluster restore \S+backups\/prod-\d{8}T\d{6}Z/);
    expect(r.stdout).toMatch(
      /note: pve3: removed the other nodes' folders \/etc\/pve\/nodes\/pve1, \/etc\/pve\/nodes\/pve2 \(copies in \S+backups\/prod-\d{8}T\d{6}Z\/pve3\.tar\.gz and on pve3 in \/var\/lib\/pvx\/backups\/prod-\d{8}T\d{6}Z\/pve3\.tar\.gz, under etc\/pve\/nodes\/\)/,
    );
    // once alone, a node holds no guest configuration of another node, so pvecm add would take it
    for (const n of NAMES) expect(fc.state(n).staleGuests).toEqual([]);
    // the overview goes to stderr even without a terminal, so a log shows what was done
    expect(r.stderr).toContain("Cluster 'prod': quorate, 3 node(s) configured");
    expect(r.stderr).toContain('separated last');
    expect(r.stderr).toContain('[pve3] stop pve-cluster on pve3');
    expect(r.stderr).toContain('shared storage stays configured on every node: nfs1 (nfs)');

    const sets = readdirSync(path.join(r.state, 'backups'));
    expect(sets).toHaveLength(1);
    const dir = path.join(r.state, 'backups', sets[0]!);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', ...NAMES.flatMap((n) => [`${n}.tar.gz`, `${n}.tar.gz.sha256`])]);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ schemaVersion: 1, cluster: 'prod', nodes: NAMES.map((node) => ({ node, missing: [] })) });
    const journal = readFileSync(path.join(r.state, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(journal.filter((j) => j.mutates).length).toBeGreaterThanOrEqual(clusterMutations(fc).length);
    fc.verify();
  });

  it('prints one JSON document with the nodes, their guests before and after, and the backups', async () => {
    const { fc, inv } = setup();
    // nodes without the database file (and no sqlite3): the backup says what it could not hold
    fc.withoutDatabase = true;
    const r = await pvx(['-i', inv, '--json', '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, command: 'cluster teardown', ok: true });
    expect(doc.result.outcome).toBe('torn-down');
    expect(doc.result.nodes).toEqual([
      expect.objectContaining({ name: 'pve1', role: 'last', guestsBefore: ['VM 100', 'CT 103'], guestsAfter: ['VM 100', 'CT 103'], after: 'standalone (not in a cluster)' }),
      expect.objectContaining({ name: 'pve2', role: 'separate', guestsBefore: ['CT 101'], guestsAfter: ['CT 101'] }),
      expect.objectContaining({ name: 'pve3', role: 'separate', guestsBefore: ['VM 102'], guestsAfter: ['VM 102'] }),
    ]);
    // corosync's files, then every node folder's lrm_status and the four guest configurations
    expect(doc.result.backups.nodes.map((b: { node: string; files: string[] }) => [b.node, b.files.length])).toEqual(NAMES.map((n) => [n, 10]));
    for (const b of doc.result.backups.nodes) {
      expect(b.files).toEqual(expect.arrayContaining(['etc/pve/nodes/pve1/qemu-server/100.conf', 'etc/pve/nodes/pve1/lxc/103.conf', 'etc/pve/nodes/pve2/lxc/101.conf', 'etc/pve/nodes/pve3/qemu-server/102.conf']));
      // the workstation copy holds them, as the system's tar reads it
      const listing = execFileSync('tar', ['-tzf', b.file], { encoding: 'utf8' }).split('\n');
      expect(listing).toEqual(expect.arrayContaining(['etc/pve/nodes/pve2/lxc/101.conf', 'etc/pve/nodes/pve3/qemu-server/102.conf']));
    }
    expect(doc.result.nodes.map((n: { name: string; foldersRemoved?: string[] }) => [n.name, n.foldersRemoved])).toEqual([
      ['pve1', ['/etc/pve/nodes/pve2', '/etc/pve/nodes/pve3']],
      ['pve2', ['/etc/pve/nodes/pve1', '/etc/pve/nodes/pve3']],
      ['pve3', ['/etc/pve/nodes/pve1', '/etc/pve/nodes/pve2']],
    ]);
    expect(doc.result.backups.nodeDir).toMatch(/^\/var\/lib\/pvx\/backups\/prod-\d{8}T\d{6}Z$/);
    expect(doc.warnings).toContainEqual(expect.stringContaining('not on the node, so not in its backup'));
    fc.verify();
  });

  it('--dry-run prints the full plan per node with exact commands and changes nothing', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, '--dry-run', '--json', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(0);
    expect(fc.mutations()).toEqual([]);
    const doc = JSON.parse(r.stdout);
    const plan: Array<{ node: string; command: string[]; mutates: boolean }> = doc.result.plan;
    expect(plan.slice(0, 9).map((s) => `${s.node}: ${s.command[0]}`)).toEqual(NAMES.flatMap((n) => [`${n}: sh`, `${n}: base64`, `${n}: sh`]));
    expect(plan.filter((s) => s.command[0] === 'pvecm').map((s) => `${s.node}: ${s.command.join(' ')}`)).toEqual(['pve1: pvecm delnode pve3', 'pve1: pvecm expected 1', 'pve1: pvecm delnode pve2']);
    expect(plan.filter((s) => s.command.join(' ') === 'pmxcfs -l').map((s) => s.node)).toEqual(['pve3', 'pve2', 'pve1']);
    // each separation is 10 steps and the removal of the other nodes' folders
    expect(plan.filter((s) => s.command[0] === 'rm' && s.command[1] === '-rf').map((s) => `${s.node}: ${s.command.join(' ')}`)).toEqual([
      STALE('pve3', 'pve1', 'pve2'),
      STALE('pve2', 'pve1', 'pve3'),
      STALE('pve1', 'pve2', 'pve3'),
    ]);
    expect(plan).toHaveLength(9 + 3 * 11 + 3);

    const human = await pvx(['-i', inv, '--dry-run', 'cluster', 'teardown'], fc);
    expect(human.stdout).toContain("Plan: tear down cluster 'prod' (--dry-run: nothing was changed)");
    expect(human.stdout).toContain('        pmxcfs -l');
    expect(human.stdout).toContain('        find /etc/corosync -mindepth 1 -delete');
    expect(human.stdout).toMatch(/Backups would go to \S+\/backups\/prod-/);
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('needs --yes without a terminal, and says so before touching any node', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'teardown'], fc);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes to confirm');
    expect(fc.calls).toEqual([]);
    const j = await pvx(['-i', inv, '--json', 'cluster', 'teardown'], fc);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'USAGE', exitCode: 2 });
    fc.verify();
  });

  it('at a terminal asks for the cluster name: a wrong one changes nothing (exit 130), the right one tears down', async () => {
    const { fc, inv } = setup();
    const wrong = sayName('prd');
    const r = await pvx(['-i', inv, 'cluster', 'teardown'], fc, { tty: true, prompter: wrong });
    expect(r.code).toBe(130);
    expect(wrong.asked).toEqual(['Type the cluster name (prod) to tear it down:']);
    expect(r.stderr).toContain("the name did not match 'prod': nothing was changed");
    expect(r.stderr.indexOf('What happens, step by step:')).toBeGreaterThan(-1);
    expect(fc.mutations()).toEqual([]);
    expect(existsSync(path.join(r.state, 'backups'))).toBe(false);

    const right = sayName('prod');
    const ok = await pvx(['-i', inv, 'cluster', 'teardown'], fc, { tty: true, prompter: right });
    expect(ok.code).toBe(0);
    expect(right.asked).toHaveLength(1);
    fc.verify();
  });

  it('takes Ctrl-C at the question as a cancel (exit 130), and rejects a malformed hold before touching a node', async () => {
    const { fc, inv } = setup();
    const interrupted: Prompter = {
      confirmTyped: async () => {
        throw Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
      },
      secret: async () => '',
    };
    const r = await pvx(['-i', inv, 'cluster', 'teardown'], fc, { tty: true, prompter: interrupted });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("cluster 'prod' was not touched");
    expect(fc.mutations()).toEqual([]);

    const io = testIO();
    const state = tmpDir('pvx-state-');
    const code = await run(['-i', inv, '--yes', 'cluster', 'teardown'], { io, env: { PVX_STATE_DIR: state, PVX_TEARDOWN_HOLD: 'pve2' }, cwd: state, transportFactory: () => fc });
    expect(code).toBe(2);
    expect(io.stderrText()).toContain('PVX_TEARDOWN_HOLD must be <node>:<absolute file>');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('refuses while HA resources are configured (exit 3), naming them and the commands that remove them', async () => {
    const { fc, inv } = setup();
    fc.ha = ['vm:100'];
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('1 HA resource(s) are configured (vm:100)');
    expect(r.stderr).toContain('ha-manager remove vm:100');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('refuses while an LRM is still active with no HA resource left (exit 3): its watchdog is armed', async () => {
    const { fc, inv } = setup();
    fc.activeLrms = ['pve2'];
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the HA local resource manager is still active on pve2 (its watchdog is armed)');
    expect(r.stderr).toContain("wait until 'ha-manager status' shows every lrm idle");
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('aborts with nothing changed when a backup does not verify (exit 1), removing the backups made so far', async () => {
    const { fc, inv } = setup();
    fc.failures.push({ node: 'pve2', argv: 'sh -c set -eu; cd', result: { exitCode: 1, stderr: 'pve2.tar.gz: FAILED\nsha256sum: WARNING: 1 computed checksum did NOT match\n' } });
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did NOT match');
    expect(r.stderr).toContain('nothing changed');
    expect(clusterMutations(fc).filter((m) => !m.includes('rm -rf'))).toEqual([]);
    expect(fc.mutations().filter((m) => /^\w+: rm -rf /.test(m)).map((m) => m.split(':')[0])).toEqual(['pve2', 'pve1']);
    expect(readdirSync(path.join(r.state, 'backups'))).toEqual([]);
    for (const n of NAMES) expect(fc.node(n).cluster).toBe('prod');
    fc.verify();
  });

  it('stops when a node drops mid-way (exit 4): every node state, the backups, the journal and the exact restore command', async () => {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') fc.node('pve2').reachable = false;
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    expect(clusterMutations(fc)).toEqual([...SEPARATE('pve3'), STALE('pve3', 'pve1', 'pve2'), 'pve1: pvecm delnode pve3', 'pve2: systemctl stop pve-cluster']);
    expect(r.stderr).toMatch(/teardown of 'prod' stopped after changes at teardown step 13 on pve2 \(stop pve-cluster on pve2\): cannot reach pve2/);
    expect(r.stderr).toContain('  pve1: member of');
    expect(r.stderr).toContain('  pve2: unreachable');
    expect(r.stderr).toContain('  pve3: standalone (not in a cluster) [separation started]');
    expect(r.stderr).toMatch(/backups: \S+\/backups\/prod-\d{8}T\d{6}Z \(on each node: \/var\/lib\/pvx\/backups\/prod-/);
    expect(r.stderr).toContain(`journal: ${path.join(r.state, 'journal.jsonl')}`);
    expect(r.stderr).toMatch(/to put the separated node\(s\) back: pvx -i \S+ cluster restore \S+ --node pve3\n/);
    expect(r.stderr).toMatch(/to finish the teardown instead, once the cause is fixed: pvx -i \S+ cluster teardown/);

    const j = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'teardown'], setupFailing());
    const doc = JSON.parse(j.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.error).toMatchObject({ code: 'CHANGED_THEN_FAILED', exitCode: 4 });
    expect(doc.error.details.restore).toMatch(/cluster restore .* --node pve3$/);
    expect(doc.error.details.nodes.map((n: { name: string; separationStarted: boolean }) => [n.name, n.separationStarted])).toEqual([['pve1', false], ['pve2', false], ['pve3', true]]);
    expect(doc.result).toMatchObject({ outcome: 'failed', cluster: 'prod' });
    fc.verify();
  });

  it('exits 6 with nothing changed when the first node to separate drops before its first step', async () => {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve3' && argv.join(' ') === 'systemctl stop pve-cluster') fc.node('pve3').reachable = false;
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/teardown of 'prod' stopped before any change at teardown step 1 on pve3 .*the verified backups stay in \S+backups\/prod-/);
    expect(clusterMutations(fc)).toEqual(['pve3: systemctl stop pve-cluster']);
    fc.verify();
  });

  it('a connection cut under the first step may have stopped pve-cluster: exit 4, and the restore command names the node', async () => {
    const { fc, inv } = setup();
    const exec = fc.exec.bind(fc);
    fc.exec = async (node, argv, opts) => {
      if (node === 'pve3' && argv.join(' ') === 'systemctl stop pve-cluster') {
        await exec(node, argv, opts);
        fc.node('pve3').reachable = false;
        throw new UnreachableError('pve3', 'connection to pve3 lost: Broken pipe');
      }
      return exec(node, argv, opts);
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/teardown of 'prod' stopped after changes at teardown step 1 on pve3/);
    expect(r.stderr).toMatch(/to put the separated node\(s\) back: pvx -i \S+ cluster restore \S+ --node pve3\n/);
    fc.verify();
  });

  it('stops between steps on Ctrl-C and says where each node stands (exit 4)', async () => {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve3' && argv.join(' ') === 'pmxcfs -l') process.emit('SIGINT');
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    expect(clusterMutations(fc)).toEqual(SEPARATE('pve3').slice(0, 4));
    expect(r.stderr).toContain('Ctrl-C: stopping after the current step');
    expect(r.stderr).toContain('cancelled with Ctrl-C');
    expect(r.stderr).toMatch(/cluster restore \S+ --node pve3/);
    expect(process.listenerCount('SIGINT')).toBe(0);
    fc.verify();
  });

  it('Ctrl-C while pve-cluster stops on pve3 (exit 4): the printed restore brings pve3 back though its pmxcfs does not run', async () => {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve3' && argv.join(' ') === 'systemctl stop pve-cluster') process.emit('SIGINT');
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    expect(clusterMutations(fc)).toEqual(SEPARATE('pve3').slice(0, 1));
    expect(fc.state('pve3').pmxcfs).toBe('stopped');
    const restore = /to put the separated node\(s\) back: (pvx -i \S+ cluster restore \S+ --node pve3)\n/.exec(r.stderr)?.[1];
    expect(restore, r.stderr).toBeDefined();

    fc.onCommand = undefined;
    const again = await pvx(restore!.split(' ').slice(1).concat('--yes'), fc, { state: r.state });
    expect(again.stderr).not.toContain('error:');
    expect(again.code, again.stdout).toBe(0);
    expect(again.stderr).toContain('pmxcfs is not running on pve3 (a teardown or restore stopped part-way), so its guest configurations cannot be compared: its own database is kept in /var/lib/pve-cluster/config.db.before-restore-prod-');
    for (const n of NAMES) expect(await fc.exec(n, ['pvecm', 'status']).then((s) => /Quorate:\s+Yes/.test(s.stdout) && /Nodes:\s+3/.test(s.stdout)), n).toBe(true);
    expect(fc.state('pve3').pmxcfs).toBe('cluster');
    fc.verify();
  });

  it('Ctrl-C while the last node\'s /etc/pve/corosync.conf goes (exit 4): the printed teardown finishes that node, which pmxcfs already calls standalone', async () => {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve1' && argv.join(' ') === 'rm -f /etc/pve/corosync.conf') process.emit('SIGINT');
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    expect(clusterMutations(fc).slice(-2)).toEqual(SEPARATE('pve1').slice(3, 5));
    expect(r.stderr).toContain('  pve1: standalone (not in a cluster) [separation started]');
    const cont = /to finish the teardown instead, once the cause is fixed: (pvx -i \S+ cluster teardown --yes)\n/.exec(r.stderr)?.[1];
    expect(cont, r.stderr).toBeDefined();

    fc.onCommand = undefined;
    const from = clusterMutations(fc).length;
    const again = await pvx(cont!.split(' ').slice(1), fc, { state: r.state });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Cluster 'prod' is torn down: pve1 is standalone.");
    // pve1 is backed up again, then separated from the start
    expect(clusterMutations(fc).slice(from).filter((m) => !m.includes('/var/lib/pvx/backups'))).toEqual(SEPARATE('pve1'));
    for (const n of NAMES) expect(fc.state(n)).toMatchObject({ pmxcfs: 'standalone', pveConf: false, corosyncFiles: false });
    fc.verify();
  });

  it('Ctrl-C while pve-cluster stops on the last node (exit 4): the printed teardown finishes it, checking the guests its database holds', async () => {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve1' && argv.join(' ') === 'systemctl stop pve-cluster') process.emit('SIGINT');
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    expect(clusterMutations(fc).slice(-1)).toEqual(['pve1: systemctl stop pve-cluster']);
    expect(fc.state('pve1').pmxcfs).toBe('stopped');
    const cont = /to finish the teardown instead, once the cause is fixed: (pvx -i \S+ cluster teardown --yes)\n/.exec(r.stderr)?.[1];
    expect(cont, r.stderr).toBeDefined();

    fc.onCommand = undefined;
    const from = clusterMutations(fc).length;
    const again = await pvx(cont!.split(' ').slice(1), fc, { state: r.state });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('✔ [pve1] start pmxcfs in local mode on pve1 (its /etc/pve writable without the cluster), and list the guest configurations its database holds');
    expect(again.stderr).toContain('✔ [pve1] check that pve1 is standalone and kept the guest configurations its database holds (standalone; guests kept: VM 100, CT 103)');
    expect(again.stdout).toContain("Cluster 'prod' is torn down: pve1 is standalone.");
    expect(clusterMutations(fc).slice(from).filter((m) => !m.includes('/var/lib/pvx/backups'))).toEqual(SEPARATE('pve1'));
    for (const n of NAMES) expect(fc.state(n)).toMatchObject({ pmxcfs: 'standalone', pveConf: false, corosyncFiles: false });
    fc.verify();
  });

  it('removes a node that is down from the membership only, and says what to do with it when it is back', async () => {
    const { fc, inv } = setup();
    fc.node('pve3').reachable = false;
    fc.node('pve3').corosync = false;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(0);
    expect(clusterMutations(fc)).toEqual([
      'pve1: pvecm delnode pve3',
      ...SEPARATE('pve2'),
      STALE('pve2', 'pve1', 'pve3'),
      'pve1: pvecm expected 1',
      'pve1: pvecm delnode pve2',
      ...SEPARATE('pve1'),
      STALE('pve1', 'pve2', 'pve3'),
    ]);
    expect(r.stderr).toContain('down (unreachable)');
    expect(r.stderr).toMatch(/pve3 was not reachable: it was removed from the membership.*once it is back, run pvx -i \S+ cluster teardown again/);
    expect(r.stdout).toContain("Cluster 'prod' is torn down: pve1, pve2 are standalone; pve3 removed from the membership.");
    fc.verify();
  });

  it('has nothing to do when every node is standalone', async () => {
    const fc = new TeardownFake(NAMES);
    const r = await pvx(['-i', writeInventory(NAMES), '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to tear down');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });
});

describe('pvx cluster teardown, then a cluster on the same nodes again', () => {
  function passwordFile(pw: string): string {
    const f = path.join(tmpDir('pvx-pw-'), 'root-password');
    writeFileSync(f, `${pw}\n`, { mode: 0o600 });
    return f;
  }

  /** A cluster whose only guest is on the node that creates the next one (a node with guests cannot join). */
  function guestOnFirst() {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    fc.node('pve1').guests.push({ vmid: 100, type: 'qemu', name: 'web' });
    return { fc, inv: writeInventory(NAMES), pw: passwordFile(fc.password) };
  }

  it('creates it again: no node holds another node\'s guest configuration, so every pvecm add is taken', async () => {
    const { fc, inv, pw } = guestOnFirst();
    expect((await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc)).code).toBe(0);
    // what pvecm add would count on the nodes that join: their guest list, every folder's
    expect(fc.state('pve2').staleGuests).toEqual([]);
    expect(fc.state('pve3').staleGuests).toEqual([]);
    const before = fc.mutations().length;
    const r = await pvx(['-i', inv, 'cluster', 'create', 'prod2', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const fpr = fc.fingerprint('pve1');
    expect(fc.mutations().slice(before).filter((m) => m.includes('pvecm'))).toEqual([
      'pve1: pvecm create prod2 --link0 10.99.0.1',
      `pve2: pvecm add 10.99.0.1 --fingerprint ${fpr} --link0 10.99.0.2`,
      `pve3: pvecm add 10.99.0.1 --fingerprint ${fpr} --link0 10.99.0.3`,
    ]);
    for (const n of NAMES) expect(fc.node(n).cluster).toBe('prod2');
    fc.verify();
  });

  it('keeps a folder holding a file its backup lacks, says so, and the next create stops at preflight naming each stale config and the fix (exit 3)', async () => {
    const { fc, inv, pw } = guestOnFirst();
    // written into pve1's folder after the backups were taken: no copy of it exists
    fc.extraFolderFiles = ['/etc/pve/nodes/pve1/notes.txt'];
    const t = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'teardown'], fc);
    expect(t.code).toBe(0);
    const doc = JSON.parse(t.stdout);
    const pve2 = doc.result.nodes.find((n: { name: string }) => n.name === 'pve2');
    expect(pve2.foldersRemoved).toEqual(['/etc/pve/nodes/pve3']);
    expect(pve2.foldersKept).toEqual([{ folder: '/etc/pve/nodes/pve1', why: 'not in the backup of pve2: /etc/pve/nodes/pve1/notes.txt' }]);
    expect(doc.result.notes).toContainEqual(expect.stringContaining('pve2: kept /etc/pve/nodes/pve1, not in the backup of pve2: /etc/pve/nodes/pve1/notes.txt; remove it once checked'));

    const before = fc.mutations().length;
    const r = await pvx(['-i', inv, '--json', 'cluster', 'create', 'prod2', '--nodes', 'pve1,pve2,pve3', '--password-file', pw], fc);
    expect(r.code).toBe(3);
    const fails = JSON.parse(r.stdout).error.details.checks.filter((c: { status: string }) => c.status === 'fail');
    expect(fails).toEqual([
      {
        id: 'no-guests',
        node: 'pve2',
        status: 'fail',
        message:
          "holds 1 guest configuration(s) in the folders of other nodes, left from an earlier cluster: /etc/pve/nodes/pve1/qemu-server/100.conf (VM 100); pvecm add counts every guest configuration under /etc/pve/nodes/ and refuses ('this host already contains virtual guests')",
        hint: 'those guests belong to pve1, not to pve2: on pve2, keep a copy and remove the folders: tar czf /root/stale-nodes.tar.gz /etc/pve/nodes/pve1 && rm -r /etc/pve/nodes/pve1',
      },
      expect.objectContaining({ id: 'no-guests', node: 'pve3', status: 'fail' }),
    ]);
    expect(fc.mutations().slice(before).filter((m) => m.includes('pvecm'))).toEqual([]);
    fc.verify();
  });
});

describe('pvx cluster teardown with a QDevice', () => {
  function withQdevice() {
    const fc = new TeardownFake(['pve1', 'pve2']).form('duo', ['pve1', 'pve2']);
    fc.clusters.get('duo')!.qdevice = { host: '10.99.0.50' };
    return { fc, inv: writeInventory(['pve1', 'pve2']) };
  }

  it('removes the QDevice before any node leaves, shown in --dry-run, then separates the nodes', async () => {
    const { fc, inv } = withQdevice();
    const dry = await pvx(['-i', inv, '--dry-run', '--json', 'cluster', 'teardown'], fc);
    expect(dry.code).toBe(0);
    const plan: Array<{ node: string; title: string; command: string[] }> = JSON.parse(dry.stdout).result.plan;
    const firstChange = plan.findIndex((s) => s.command[0] !== 'sh' && s.command[0] !== 'base64');
    expect(plan[firstChange]).toMatchObject({ node: 'pve1', command: ['pvecm', 'qdevice', 'remove'], title: "remove the QDevice (QNetd host 10.99.0.50) from cluster 'duo' first (on pve1)" });
    expect(fc.mutations()).toEqual([]);

    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    // 2 nodes and the device: 3 expected votes; without the device pve1 alone has 1 of 2 and needs pvecm expected
    expect(clusterMutations(fc)).toEqual([
      'pve1: pvecm qdevice remove',
      ...SEPARATE('pve2'),
      STALE('pve2', 'pve1'),
      'pve1: pvecm expected 1',
      'pve1: pvecm delnode pve2',
      ...SEPARATE('pve1'),
      STALE('pve1', 'pve2'),
    ]);
    expect(r.stdout).toContain('note: the QDevice (QNetd host 10.99.0.50) was removed before any node left (pvecm qdevice remove on pve1)');
    fc.verify();
  });

  it('refuses (exit 3) while a node is offline: pvecm qdevice remove needs every node online', async () => {
    const { fc, inv } = withQdevice();
    fc.node('pve2').reachable = false;
    fc.node('pve2').corosync = false;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("cluster 'duo' has a QDevice (QNetd host 10.99.0.50), which has to go before nodes leave");
    expect(r.stderr).toContain('pve2 is offline');
    expect(r.stderr).toContain('bring pve2 online and run the teardown again');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });
});

function setupFailing(): TeardownFake {
  const { fc } = setup();
  fc.onCommand = (node, argv) => {
    if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') fc.node('pve2').reachable = false;
  };
  return fc;
}

describe('pvx cluster restore', () => {
  async function failedTeardown() {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') fc.node('pve2').reachable = false;
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    const set = readdirSync(path.join(r.state, 'backups'))[0]!;
    fc.onCommand = undefined;
    return { fc, inv, state: r.state, dir: path.join(r.state, 'backups', set) };
  }

  it('refuses a corrupted backup before touching any node (exit 2)', async () => {
    const { inv, dir } = await failedTeardown();
    const file = path.join(dir, 'pve3.tar.gz');
    const bytes = readFileSync(file);
    bytes[10] = (bytes[10] ?? 0) ^ 0x55;
    writeFileSync(file, bytes);
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--node', 'pve3'], undefined);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the backup of pve3 \(\S+pve3.tar.gz\) is refused: checksum mismatch/);
    const j = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'restore', dir], undefined);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'BACKUP_CORRUPT', exitCode: 2 });
  });

  it('says what is wrong with a path that is no backup, or a node it does not hold', async () => {
    const { inv, dir } = await failedTeardown();
    expect((await pvx(['-i', inv, '--yes', 'cluster', 'restore', tmpDir('pvx-nob-')], undefined)).stderr).toContain('is not a pvx backup');
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--node', 'pve9'], undefined);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds no backup of pve9');
  });

  it('needs --yes without a terminal', async () => {
    const { inv, dir } = await failedTeardown();
    const r = await pvx(['-i', inv, 'cluster', 'restore', dir, '--node', 'pve3'], undefined);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes');
  });

  it('--dry-run: adds the separated node back to the running configuration, then restores it', async () => {
    const { fc, inv, dir } = await failedTeardown();
    fc.node('pve2').reachable = true;
    const before = fc.mutations().length;
    const r = await pvx(['-i', inv, '--dry-run', '--json', 'cluster', 'restore', dir, '--node', 'pve3'], fc);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fc.mutations().length).toBe(before);
    const plan: Array<{ node: string; title: string; command: string[] }> = JSON.parse(r.stdout).result.plan;
    expect(plan.map((s) => `${s.node}: ${s.command[0] === 'sh' ? s.title.split(' (')[0] : s.command.join(' ')}`)).toEqual([
      // the titles say which file: corosync's own copy first on the members, the cluster-wide one at the end
      'pve1: write corosync.conf version 4',
      'pve1: corosync-cfgtool -R',
      'pve2: write corosync.conf version 4',
      'pve2: corosync-cfgtool -R',
      expect.stringMatching(/^pve3: upload the verified backup to \/var\/lib\/pvx\/backups\/prod-\S+\/pve3.tar.gz on pve3$/),
      'pve3: systemctl stop pve-cluster',
      'pve3: systemctl stop corosync',
      'pve3: stop a local pmxcfs an interrupted run left on pve3, if one runs',
      // pve1 and pve2 still run: pve3 must take their database, so its own is kept aside and removed
      // (pmxcfs gives every member the database with the most writes, reference §2.4)
      expect.stringMatching(/^pve3: keep pve3's own pmxcfs database in \/var\/lib\/pve-cluster\/config\.db\.before-restore-prod-\d{8}T\d{6}Z$/),
      expect.stringMatching(/^pve3: tar -xzf \/var\/lib\/pvx\/backups\/prod-\S+\/pve3.tar.gz -C \/ etc\/corosync$/),
      'pve3: write corosync.conf version 4',
      'pve3: systemctl start pve-cluster',
      'pve3: systemctl start corosync',
      'pve1: once quorate, write corosync.conf version 4',
      'pve3: pvecm status',
      'pve3: check that pve3 holds its 1 guest configuration(s)',
    ]);
    expect(plan[0]?.title).toContain('to /etc/corosync/corosync.conf on pve1');
    expect(plan[13]?.title).toContain('to /etc/pve/corosync.conf on pve1 (the cluster-wide copy)');
    expect(plan[8]?.command.slice(3)).toEqual(['sh', 'cluster', expect.stringMatching(/^\/var\/lib\/pvx\/backups\/prod-\S+\/pve3.tar.gz$/), expect.stringMatching(/^\/var\/lib\/pve-cluster\/config\.db\.before-restore-prod-/)]);
    expect(plan[8]?.title).toContain("(once) and remove it, so pve3 takes the running cluster's on pve3");
    expect(plan.some((s) => s.command.join(' ') === 'pmxcfs -l')).toBe(false);
    fc.verify();
  });
});

describe('pvx cluster restore, run against the nodes', () => {
  /** sha256 of a local archive, to name the upload the product must send. */
  const shaOf = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  /** Mutations, with each `sh -c <script> sh …` shown as `sh … <its arguments>`. */
  function changes(fc: TeardownFake, from = 0): string[] {
    return fc.calls
      .slice(from)
      .filter((c) => c.opts.mutates)
      .map((c) => `${c.node}: ${c.argv[0] === 'sh' && c.argv[1] === '-c' ? ['sh …', ...c.argv.slice(4)].join(' ') : c.argv.join(' ')}`);
  }

  /** What a node's `pvecm status` says now, asked of the fake itself. */
  async function status(fc: TeardownFake, node: string) {
    const r = await fc.exec(node, ['pvecm', 'status']);
    return { code: r.exitCode, version: /Config Version:\s+(\d+)/.exec(r.stdout)?.[1], name: /Name:\s+(\S+)/.exec(r.stdout)?.[1], quorate: /Quorate:\s+Yes/.test(r.stdout) };
  }

  /**
   * One node's restore, as the reference's command shapes put it (§2.4, §12): with the whole cluster
   * restored the backup's database goes back (`backup`); with members running the node's own is
   * removed so it takes theirs (`cluster`), and it needs no local pmxcfs.
   */
  const RESTORE = (n: string, set: string, sha: string, db: 'backup' | 'cluster', confWrite = false) => [
    `${n}: sh … /var/lib/pvx/backups/${set}/${n}.tar.gz ${sha}`,
    `${n}: systemctl stop pve-cluster`,
    `${n}: systemctl stop corosync`,
    `${n}: sh … /var/run/pve-cluster.pid`,
    `${n}: sh … ${db} /var/lib/pvx/backups/${set}/${n}.tar.gz /var/lib/pve-cluster/config.db.before-restore-${set}`,
    ...(db === 'backup' ? [`${n}: pmxcfs -l`, `${n}: sh … /etc/pve/corosync.conf`] : []),
    `${n}: tar -xzf /var/lib/pvx/backups/${set}/${n}.tar.gz -C / etc/corosync`,
    ...(confWrite ? [`${n}: sh … /etc/corosync/corosync.conf`] : []),
    ...(db === 'backup' ? [`${n}: sh … /var/run/pve-cluster.pid`] : []),
    `${n}: systemctl start pve-cluster`,
    `${n}: systemctl start corosync`,
  ];

  async function fullTeardown() {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(0);
    const set = readdirSync(path.join(r.state, 'backups'))[0]!;
    expect(set).toMatch(/^prod-\d{8}T\d{6}Z$/);
    return { fc, inv, set, dir: path.join(r.state, 'backups', set) };
  }

  it('puts every node of a torn-down cluster back: each is a quorate member of prod with config version 3', async () => {
    const { fc, inv, set, dir } = await fullTeardown();
    for (const n of NAMES) expect((await status(fc, n)).code).toBe(2);
    const from = fc.calls.length;
    const r = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'restore', dir], fc);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout.slice(0, 3000)).toBe(0);
    const sha = (n: string) => shaOf(path.join(dir, `${n}.tar.gz`));
    expect(changes(fc, from)).toEqual([
      ...RESTORE('pve1', set, sha('pve1'), 'backup'),
      ...RESTORE('pve2', set, sha('pve2'), 'backup'),
      ...RESTORE('pve3', set, sha('pve3'), 'backup'),
    ]);
    const doc = JSON.parse(r.stdout);
    expect(doc.result).toMatchObject({ outcome: 'restored', restored: NAMES, conf: { configVersion: 3, nodes: NAMES, source: 'backup' } });
    expect(doc.result.membership).toMatchObject({ cluster: 'prod', quorate: true, configured: NAMES, online: NAMES });
    for (const n of NAMES) {
      expect(fc.node(n).cluster).toBe('prod');
      expect(await status(fc, n)).toEqual({ code: 0, version: '3', name: 'prod', quorate: true });
      // each node runs the backup's database again; its own is kept aside
      expect(fc.state(n).database).toBe('backup');
      expect(fc.state(n).keptDatabases).toEqual([`/var/lib/pve-cluster/config.db.before-restore-${set}`]);
    }
    fc.verify();
  });

  /** A teardown stopped when pve2 dropped after pve3 was separated (exit 4); pve2 back; the running members reloaded corosync. */
  async function teardownStoppedAtPve2() {
    const { fc, inv } = setup();
    fc.onCommand = (node, argv) => {
      if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') fc.node('pve2').reachable = false;
    };
    const t = await pvx(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(t.code).toBe(4);
    fc.onCommand = undefined;
    fc.node('pve2').reachable = true;
    const set = readdirSync(path.join(t.state, 'backups'))[0]!;
    const dir = path.join(t.state, 'backups', set);
    // the running members reload corosync's configuration before pve3 starts
    fc.expectUsed('pve1', /^corosync-cfgtool -R$/).expectUsed('pve2', /^corosync-cfgtool -R$/);
    return { fc, inv, set, dir };
  }

  it('--node pve3 while pve1 and pve2 run: they take version 4 first, pve3 joins them, the cluster-wide copy follows', async () => {
    const { fc, inv, set, dir } = await teardownStoppedAtPve2();
    const from = fc.calls.length;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--node', 'pve3'], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(changes(fc, from)).toEqual([
      'pve1: sh … /etc/corosync/corosync.conf',
      'pve1: corosync-cfgtool -R',
      'pve2: sh … /etc/corosync/corosync.conf',
      'pve2: corosync-cfgtool -R',
      ...RESTORE('pve3', set, shaOf(path.join(dir, 'pve3.tar.gz')), 'cluster', true),
      'pve1: sh … /etc/pve/corosync.conf',
    ]);
    for (const n of NAMES) expect(await status(fc, n)).toEqual({ code: 0, version: '4', name: 'prod', quorate: true });
    expect(fc.clusters.get('prod')!.members.map((m) => m.name)).toEqual(NAMES);
    fc.verify();
  });

  it('--node pve3: a cluster-wide write refused while pmxcfs has not yet heard of quorum (Permission denied) is tried again', async () => {
    const { fc, inv, set, dir } = await teardownStoppedAtPve2();
    const from = fc.calls.length;
    fc.pmxcfsQuorumLagWrites = 2;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--node', 'pve3'], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(changes(fc, from)).toEqual([
      'pve1: sh … /etc/corosync/corosync.conf',
      'pve1: corosync-cfgtool -R',
      'pve2: sh … /etc/corosync/corosync.conf',
      'pve2: corosync-cfgtool -R',
      ...RESTORE('pve3', set, shaOf(path.join(dir, 'pve3.tar.gz')), 'cluster', true),
      'pve1: sh … /etc/pve/corosync.conf',
      'pve1: sh … /etc/pve/corosync.conf',
      'pve1: sh … /etc/pve/corosync.conf',
    ]);
    expect(fc.pmxcfsQuorumLagWrites).toBe(0);
    for (const n of NAMES) expect(await status(fc, n)).toEqual({ code: 0, version: '4', name: 'prod', quorate: true });
    expect(fc.clusters.get('prod')!.members.map((m) => m.name)).toEqual(NAMES);
    fc.verify();
  });

  it('refuses with nothing changed when a node to restore is unreachable (exit 6), then restores the others and that one later', async () => {
    const { fc, inv, dir } = await fullTeardown();
    fc.node('pve2').reachable = false;
    const from = fc.calls.length;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir], fc);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('cannot restore pve2');
    expect(r.stderr).toContain('nothing was changed; restore the nodes pvx can reach with --node');
    expect(changes(fc, from)).toEqual([]);

    expect((await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--node', 'pve1,pve3'], fc)).code).toBe(0);
    expect(await status(fc, 'pve1')).toEqual({ code: 0, version: '3', name: 'prod', quorate: true });
    fc.node('pve2').reachable = true;
    const again = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--node', 'pve2'], fc);
    expect(again.stderr).not.toContain('error');
    expect(again.code).toBe(0);
    for (const n of NAMES) expect(await status(fc, n)).toEqual({ code: 0, version: '3', name: 'prod', quorate: true });
    fc.verify();
  });

  it('stops after changes when a node drops mid-way (exit 4), and the printed command finishes the restore', async () => {
    const { fc, inv, set, dir } = await fullTeardown();
    fc.onCommand = (node, argv) => {
      if (node === 'pve3' && argv[0] === 'sh' && argv[4] === `/var/lib/pvx/backups/${set}/pve3.tar.gz`) fc.node('pve3').reachable = false;
    };
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir], fc);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('cannot reach pve3');
    const recovery = /continue with: (pvx -i \S+ cluster restore \S+ --node pve1,pve2,pve3 --yes)\n/.exec(r.stderr)?.[1];
    expect(recovery).toBeDefined();
    expect(fc.node('pve1').cluster).toBe('prod');
    expect(fc.node('pve3').cluster).toBeUndefined();

    fc.onCommand = undefined;
    fc.node('pve3').reachable = true;
    const from = fc.calls.length;
    const again = await pvx(recovery!.split(' ').slice(1), fc);
    expect(again.stderr).not.toContain('error');
    expect(again.code).toBe(0);
    // pve1 and pve2 are members again already: only pve3 is restored
    expect(changes(fc, from)).toEqual(RESTORE('pve3', set, shaOf(path.join(dir, 'pve3.tar.gz')), 'cluster'));
    for (const n of NAMES) expect(await status(fc, n)).toEqual({ code: 0, version: '3', name: 'prod', quorate: true });
    fc.verify();
  });

  /** After a full teardown, pve2 made CT 101 different and created VM 105 while standalone. */
  async function changedSinceBackup() {
    const t = await fullTeardown();
    t.fc.texts.set('pve2/101', 'name: guest101\nmemory: 2048\n');
    t.fc.state('pve2').ownOnly = [{ vmid: 105, type: 'qemu', text: 'name: new105\n' }];
    return t;
  }

  it('refuses (exit 3) with nothing changed when a guest was created or changed since the backup, naming each and both ways on', async () => {
    const { fc, inv, dir } = await changedSinceBackup();
    const from = fc.calls.length;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("guest configurations differ from the backup's, and the restore would replace them: pve2: CT 101 (changed since the backup), VM 105 (created since the backup)");
    expect(r.stderr).toContain('--keep-changes');
    expect(r.stderr).toContain('--discard-changes');
    expect(changes(fc, from)).toEqual([]);
    const j = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'restore', dir], fc);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout).error.details.guestChanges).toEqual([
      { node: 'pve2', type: 'lxc', vmid: 101, change: 'changed' },
      { node: 'pve2', type: 'qemu', vmid: 105, change: 'created' },
    ]);
    expect(changes(fc, from)).toEqual([]);
    fc.verify();
  });

  it('--discard-changes: the backup\'s configurations come back, pve2\'s own database is kept aside', async () => {
    const { fc, inv, set, dir } = await changedSinceBackup();
    const r = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'restore', dir, '--discard-changes'], fc);
    expect(r.code, r.stdout).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result).toMatchObject({ outcome: 'restored', changesTreatment: 'discard', guestChanges: [{ node: 'pve2', vmid: 101, change: 'changed' }, { node: 'pve2', vmid: 105, change: 'created' }] });
    expect(doc.result.databases).toEqual(NAMES.map((node) => ({ node, database: 'backup' })));
    expect(fc.textOf('pve2', 101)).toBe('name: guest101\nmemory: 512\n');
    expect(fc.node('pve2').guests.map((g) => g.vmid)).toEqual([101]);
    expect(fc.state('pve2').keptDatabases).toEqual([`/var/lib/pve-cluster/config.db.before-restore-${set}`]);
    // the end check read every node's guest configurations
    for (const n of NAMES) fc.expectUsed(n, /^sh -c set -eu; d=\/etc\/pve\/nodes;/);
    fc.verify();
  });

  it('--keep-changes: once the cluster is quorate, pve2\'s new and changed configurations are written back through it', async () => {
    const { fc, inv, dir } = await changedSinceBackup();
    const from = fc.calls.length;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--keep-changes'], fc);
    expect(r.code, r.stderr).toBe(0);
    const after = changes(fc, from);
    // written after every node is back, through the quorate cluster
    expect(after.slice(-2)).toEqual(['pve2: sh … /etc/pve/nodes/pve2/lxc/101.conf', 'pve2: sh … /etc/pve/nodes/pve2/qemu-server/105.conf']);
    expect(fc.textOf('pve2', 101)).toBe('name: guest101\nmemory: 2048\n');
    expect(fc.textOf('pve2', 105)).toBe('name: new105\n');
    expect(r.stdout).toContain('guest configurations changed since the backup, kept (written back): pve2 CT 101 (changed), pve2 VM 105 (created)');
    expect(r.stdout).toContain("pve1: pmxcfs database: the backup's");
    expect(fc.node('pve2').guests.map((g) => g.vmid).sort()).toEqual([101, 105]);
    fc.verify();
  });

  it('--keep-changes refuses (exit 3) a created guest whose VMID another node holds in the backup', async () => {
    const { fc, inv, dir } = await fullTeardown();
    fc.state('pve2').ownOnly = [{ vmid: 100, type: 'qemu', text: 'name: clash\n' }];
    const from = fc.calls.length;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--keep-changes'], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('pve2: VM 100 exists on pve1 in the restored cluster too');
    expect(changes(fc, from)).toEqual([]);
    fc.verify();
  });

  it('refuses (exit 3) when a node\'s guest configurations cannot be read, and both flags at once (exit 2)', async () => {
    const { fc, inv, dir } = await fullTeardown();
    expect((await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir, '--keep-changes', '--discard-changes'], fc)).code).toBe(2);
    fc.failures.push({ node: 'pve3', argv: guestContentsArgv().join(' '), result: { exitCode: 127, stderr: 'sh: 1: base64: not found\n' } });
    const from = fc.calls.length;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot read the guest configurations on pve3 (sh: 1: base64: not found): a restore must know what it would replace');
    expect(changes(fc, from)).toEqual([]);
    fc.verify();
  });

  it('restores a node whose pmxcfs does not run (its /etc/pve unreadable), keeping its own database aside, and says so', async () => {
    const { fc, inv, set, dir } = await fullTeardown();
    fc.state('pve3').pmxcfs = 'stopped';
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir], fc);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`pmxcfs is not running on pve3 (a teardown or restore stopped part-way), so its guest configurations cannot be compared: its own database is kept in /var/lib/pve-cluster/config.db.before-restore-${set} (once) before it is replaced`);
    expect(fc.state('pve3').keptDatabases).toEqual([`/var/lib/pve-cluster/config.db.before-restore-${set}`]);
    for (const n of NAMES) expect(await status(fc, n)).toEqual({ code: 0, version: '3', name: 'prod', quorate: true });
    fc.verify();
  });

  it('a step failing while pve2 runs its local pmxcfs (exit 4): the printed command stops that pmxcfs first and finishes', async () => {
    const { fc, inv, set, dir } = await fullTeardown();
    fc.failures.push({ node: 'pve2', argv: `tar -xzf /var/lib/pvx/backups/${set}/pve2.tar.gz`, result: { exitCode: 2, stderr: 'tar: etc/corosync: Cannot open: No space left on device\n' } });
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'restore', dir], fc);
    expect(r.code).toBe(4);
    const recovery = /continue with: (pvx -i \S+ cluster restore \S+ --node \S+ --yes)\n/.exec(r.stderr)?.[1];
    expect(recovery, r.stderr).toBeDefined();
    // the local pmxcfs started for the restore is still running on pve2: systemctl does not know it
    expect(fc.state('pve2').pmxcfs).toBe('local');

    fc.failures.length = 0;
    const from = fc.calls.length;
    const again = await pvx(recovery!.split(' ').slice(1), fc);
    expect(again.stderr).not.toContain('error');
    expect(again.code).toBe(0);
    const pve2 = changes(fc, from).filter((c) => c.startsWith('pve2: '));
    expect(pve2.slice(0, 6)).toEqual([
      `pve2: sh … /var/lib/pvx/backups/${set}/pve2.tar.gz ${shaOf(path.join(dir, 'pve2.tar.gz'))}`,
      'pve2: systemctl stop pve-cluster',
      'pve2: systemctl stop corosync',
      // the leftover is stopped by its PID, so pmxcfs -l can take its lock
      'pve2: sh … /var/run/pve-cluster.pid',
      // pve1 runs the backup's database again already: pve2 takes it (its own, kept by the first run, stays kept)
      `pve2: sh … cluster /var/lib/pvx/backups/${set}/pve2.tar.gz /var/lib/pve-cluster/config.db.before-restore-${set}`,
      `pve2: tar -xzf /var/lib/pvx/backups/${set}/pve2.tar.gz -C / etc/corosync`,
    ]);
    for (const n of NAMES) expect(await status(fc, n)).toEqual({ code: 0, version: '3', name: 'prod', quorate: true });
    expect(fc.state('pve2').keptDatabases).toEqual([`/var/lib/pve-cluster/config.db.before-restore-${set}`]);
    fc.verify();
  });
});
