import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import type { Prompter } from '../../src/ui/prompter.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { UnreachableError } from '../../src/errors.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const NAMES = ['pve1', 'pve2', 'pve3', 'pve4'];

async function pvx(args: string[], fc: FakeCluster, opts: { tty?: boolean; prompter?: Prompter } = {}) {
  const io = testIO({ tty: Boolean(opts.tty) });
  const state = tmpDir('pvx-state-');
  const code = await run(args, {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') },
    cwd: state,
    transportFactory: () => fc,
    ...(opts.prompter ? { prompter: opts.prompter } : {}),
  });
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

function setup() {
  const fc = new FakeCluster(NAMES).form('lab', ['pve1', 'pve2', 'pve3']);
  const pw = path.join(tmpDir('pvx-pw-'), 'pw');
  writeFileSync(pw, `${fc.password}\n`);
  return { fc, inv: writeInventory(NAMES), pw };
}

/** All four nodes in cluster 'lab': pve4's pvecm add has run, whatever it left undone. */
function setupJoined() {
  const fc = new FakeCluster(NAMES).form('lab', NAMES);
  const pw = path.join(tmpDir('pvx-pw-'), 'pw');
  writeFileSync(pw, `${fc.password}\n`);
  return { fc, inv: writeInventory(NAMES), pw };
}

describe('pvx cluster join', () => {
  it('joins a fourth node through a member and verifies from both', async () => {
    const { fc, inv, pw } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', pw], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(fc.mutationsChecksByNode()).toEqual([
      `pve4: pvecm add 10.99.0.1 --fingerprint ${fc.fingerprint('pve1')} --link0 10.99.0.4`,
      'pve1: touch /etc/pve/nodes/pve1/.pvx-write-check',
      'pve1: rm -f /etc/pve/nodes/pve1/.pvx-write-check',
      'pve4: touch /etc/pve/nodes/pve4/.pvx-write-check',
      'pve4: rm -f /etc/pve/nodes/pve4/.pvx-write-check',
    ]);
    expect(r.stdout).toContain("✔ Joined pve4 to cluster 'lab': pve1 and pve4 see the same 4 member(s), quorate, /etc/pve writable.");
    fc.verify();
  });

  it('--dry-run shows the real fingerprint (the cluster exists) and changes nothing', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, '--dry-run', 'cluster', 'join', 'pve4', '--via', 'pve2', '--use-ssh'], fc);
    expect(r.code).toBe(0);
    expect(fc.mutations()).toEqual([]);
    expect(r.stdout).toContain('pvecm add 10.99.0.2 --link0 10.99.0.4 --use_ssh 1\n');
    const j = await pvx(['-i', inv, '--json', '--dry-run', 'cluster', 'join', 'pve4', '--via', 'pve2'], fc);
    expect(JSON.parse(j.stdout).result.plan[1].command).toEqual(['pvecm', 'add', '10.99.0.2', '--fingerprint', fc.fingerprint('pve2'), '--link0', '10.99.0.4']);
    fc.verify();
  });

  it('is a no-op for a member; a link the cluster lacks is bad input (exit 2)', async () => {
    const { fc, inv, pw } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve3', '--via', 'pve1', '--password-file', pw], fc);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("pve3 is already a member of cluster 'lab': nothing to do");
    // a member is not joined again: its cluster's join information is read once, to see that it lists the node
    expect(fc.calls.filter((c) => c.argv.includes('/cluster/config/join')).map((c) => c.node)).toEqual(['pve1']);
    const r2 = await pvx(['-i', inv, '--json', 'cluster', 'join', 'pve4', '--via', 'pve1', '--link1', '10.1.0.4', '--password-file', pw], fc);
    expect(r2.code).toBe(2);
    expect(JSON.parse(r2.stdout).error.message).toContain("has no corosync link 1");
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('finishes a join cut off after pvecm add without the preflight of a new join: the node, still coming up, is waited for', async () => {
    const { fc, inv, pw } = setupJoined();
    // pve4 booted with the cluster's configuration, its corosync not yet through to the others
    fc.udpBlocked.add('pve4');
    setTimeout(() => fc.udpBlocked.delete('pve4'), 300);
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', pw], fc);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('preflight');
    expect(fc.mutationsChecksByNode()).toEqual([
      'pve4: pvecm updatecerts',
      'pve1: touch /etc/pve/nodes/pve1/.pvx-write-check',
      'pve1: rm -f /etc/pve/nodes/pve1/.pvx-write-check',
      'pve4: touch /etc/pve/nodes/pve4/.pvx-write-check',
      'pve4: rm -f /etc/pve/nodes/pve4/.pvx-write-check',
    ]);
    expect(fc.calls.some((c) => c.node === 'pve1' && c.argv.includes('/cluster/config/join'))).toBe(true);
    expect(r.stdout).toContain("Joined pve4 to cluster 'lab'");
    fc.verify();
  });

  it('a quorate member whose pvecm add was cut off before its files were made is finished, not called done: pvecm updatecerts, then the checks', async () => {
    const { fc, inv, pw } = setupJoined();
    // pve4 is in corosync.conf and quorate; pvecm add died before it made /etc/pve/nodes/pve4
    fc.clusters.get('lab')!.files.delete('/etc/pve/nodes/pve4');
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', pw], fc);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('nothing to do');
    expect(fc.mutationsChecksByNode()).toEqual([
      'pve4: pvecm updatecerts',
      'pve1: touch /etc/pve/nodes/pve1/.pvx-write-check',
      'pve1: rm -f /etc/pve/nodes/pve1/.pvx-write-check',
      'pve4: touch /etc/pve/nodes/pve4/.pvx-write-check',
      'pve4: rm -f /etc/pve/nodes/pve4/.pvx-write-check',
    ]);
    expect(r.stdout).toContain("Joined pve4 to cluster 'lab'");
    // now it is done: the join information lists pve4, and a second run changes nothing
    const again = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', pw], fc);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("pve4 is already a member of cluster 'lab': nothing to do");
    expect(fc.mutations()).toHaveLength(5);
    fc.verify();
  });

  it('finishing a cut-off join stopped at pvecm updatecerts exits 4 with a printed command that finishes it', async () => {
    const { fc, inv, pw } = setupJoined();
    fc.clusters.get('lab')!.files.delete('/etc/pve/nodes/pve4');
    // the connection to pve4 drops while pvecm updatecerts runs: whether it ran is unknown
    const exec = fc.exec.bind(fc);
    let cut = true;
    fc.exec = async (node, argv, opts) => {
      if (cut && node === 'pve4' && argv.join(' ') === 'pvecm updatecerts') {
        cut = false;
        throw new UnreachableError('pve4', 'connection to pve4 lost: Broken pipe');
      }
      return exec(node, argv, opts);
    };
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', pw], fc);
    expect(r.code, r.stderr).toBe(4);
    const printed = /continue with: pvx (.*)$/m.exec(r.stderr)?.[1];
    expect(printed, r.stderr).toBe(`-i ${inv} cluster join pve4 --via pve1 --password-file ${pw}`);
    const finish = await pvx(printed!.split(' '), fc);
    expect(finish.code, finish.stderr).toBe(0);
    expect(finish.stdout).toContain("Joined pve4 to cluster 'lab'");
    expect(fc.clusters.get('lab')!.files.has('/etc/pve/nodes/pve4')).toBe(true);
    fc.verify();
  });

  it('bad input exits 2 with no command: --via itself, bad address, missing --via', async () => {
    const { fc, inv, pw } = setup();
    for (const args of [['pve4', '--via', 'pve4'], ['pve4', '--via', 'pve1', '--link0', 'nope'], ['pve4'], ['pve_4', '--via', 'pve1']]) {
      const r = await pvx(['-i', inv, 'cluster', 'join', ...args, '--password-file', pw], fc);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(fc.calls).toEqual([]);
    fc.verify();
  });

  it('a wrong password changes nothing: exit 1 with the command to run again', async () => {
    const { fc, inv } = setup();
    const wrong = path.join(tmpDir('pvx-pw-'), 'pw');
    writeFileSync(wrong, 'wrong-pw\n');
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', wrong], fc);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing changed: login to pve1 failed, wrong root password?');
    expect(r.stderr).toContain(`run again: pvx -i ${inv} cluster join pve4 --via pve1 --password-file ${wrong}`);
    expect(r.stdout + r.stderr).not.toContain('wrong-pw');
    fc.verify();
  });
});

describe('pvx cluster join on a cluster with a dedicated corosync network', () => {
  /** Management (SSH, API) on 10.99.0.x, corosync on 10.98.0.x, where 8006 and 22 are closed. */
  function split() {
    const fc = new FakeCluster(NAMES);
    NAMES.forEach((n, i) => (fc.node(n).link0 = `10.98.0.${i + 1}`));
    fc.form('lab', ['pve1', 'pve2', 'pve3']);
    const inv = path.join(tmpDir('pvx-inv-'), 'pvx.yaml');
    writeFileSync(inv, 'nodes:\n' + NAMES.map((n, i) => `  - name: ${n}\n    host: 10.99.0.${i + 1}\n    link0: 10.98.0.${i + 1}\n`).join(''));
    const pw = path.join(tmpDir('pvx-pw-'), 'pw');
    writeFileSync(pw, `${fc.password}\n`);
    return { fc, inv, pw };
  }

  it('pvecm add goes to the member`s management address (pve_addr), the new node keeps its corosync link0', async () => {
    const { fc, inv, pw } = split();
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve2', '--password-file', pw], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(fc.mutationsChecksByNode()).toEqual([
      `pve4: pvecm add 10.99.0.2 --fingerprint ${fc.fingerprint('pve2')} --link0 10.98.0.4`,
      'pve2: touch /etc/pve/nodes/pve2/.pvx-write-check',
      'pve2: rm -f /etc/pve/nodes/pve2/.pvx-write-check',
      'pve4: touch /etc/pve/nodes/pve4/.pvx-write-check',
      'pve4: rm -f /etc/pve/nodes/pve4/.pvx-write-check',
    ]);
    expect(fc.clusters.get('lab')!.members.find((m) => m.name === 'pve4')?.address).toBe('10.98.0.4');
  });

  it('--dry-run shows the management address too', async () => {
    const { fc, inv } = split();
    const r = await pvx(['-i', inv, '--json', '--dry-run', 'cluster', 'join', 'pve4', '--via', 'pve1'], fc);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).result.plan[1].command).toEqual(['pvecm', 'add', '10.99.0.1', '--fingerprint', fc.fingerprint('pve1'), '--link0', '10.98.0.4']);
    expect(fc.mutations()).toEqual([]);
  });
});

describe('pvx cluster remove-node', () => {
  it('needs --yes without a terminal (exit 2, no command)', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'remove-node', 'pve3'], fc);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes');
    expect(fc.calls).toEqual([]);
    fc.verify();
  });

  it('removes a node that is down: delnode from a quorate member, stale directory removed, member list shrank; CS_ERR_NOT_EXIST explained', async () => {
    const { fc, inv } = setup();
    fc.node('pve3').reachable = false;
    const r = await pvx(['-i', inv, '--yes', 'cluster', 'remove-node', 'pve3'], fc);
    expect(r.code).toBe(0);
    expect(fc.mutations()).toEqual(['pve1: pvecm delnode pve3', 'pve1: rm -r /etc/pve/nodes/pve3']);
    expect(r.stdout).toContain("✔ Removed pve3 from cluster 'lab': pve1 now lists pve1, pve2 and is quorate.");
    expect(r.stderr).toContain("Could not kill node (error = CS_ERR_NOT_EXIST)': harmless");
    expect(fc.clusters.get('lab')!.members.map((m) => m.name)).toEqual(['pve1', 'pve2']);
    const again = await pvx(['-i', inv, '--yes', 'cluster', 'remove-node', 'pve3'], fc);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do');
    fc.verify();
  });

  it('refuses a live member unless --offline-confirmed, and a node with guests (exit 3)', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'remove-node', 'pve3'], fc);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ message: expect.stringContaining('still answers as a live member'), hint: expect.stringContaining('--offline-confirmed') });
    fc.node('pve3').corosync = false;
    fc.node('pve3').guests.push({ vmid: 101, type: 'lxc', name: 'db' });
    const g = await pvx(['-i', inv, '--yes', 'cluster', 'remove-node', 'pve3', '--offline-confirmed'], fc);
    expect(g.code).toBe(3);
    expect(g.stderr).toContain('pve3 still hosts 1 guest(s): CT 101 (db)');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('asks for the node name at a terminal; a wrong answer cancels (exit 130)', async () => {
    const { fc, inv } = setup();
    fc.node('pve3').reachable = false;
    const asked: string[] = [];
    const prompter: Prompter = { confirmTyped: async (m, expected) => (asked.push(`${m}|${expected}`), false), secret: async () => '' };
    const r = await pvx(['-i', inv, 'cluster', 'remove-node', 'pve3'], fc, { tty: true, prompter });
    expect(r.code).toBe(130);
    expect(asked).toEqual(["Remove pve3 from cluster 'lab' (pvecm delnode on pve1; it cannot rejoin without a reinstall). Type pve3 to confirm:|pve3"]);
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('--dry-run shows delnode and the cleanup without --yes', async () => {
    const { fc, inv } = setup();
    fc.node('pve3').reachable = false;
    const r = await pvx(['-i', inv, '--dry-run', 'cluster', 'remove-node', 'pve3'], fc);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pvecm delnode pve3\n');
    expect(r.stdout).toContain('rm -r /etc/pve/nodes/pve3\n');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });
});

describe('pvx cluster expected', () => {
  it('needs --yes without a terminal', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'expected', '1', '--node', 'pve1'], fc);
    expect(r.code).toBe(2);
    expect(fc.calls).toEqual([]);
    fc.verify();
  });

  it('sets the expected votes on a lone survivor, with the risk spelled out', async () => {
    const { fc, inv } = setup();
    fc.node('pve2').reachable = false;
    fc.node('pve3').reachable = false;
    const r = await pvx(['-i', inv, '--json', 'cluster', 'expected', '1', '--node', 'pve1', '--yes'], fc);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result).toMatchObject({ action: 'expected', outcome: 'set' });
    expect(doc.warnings[0]).toContain('split brain');
    expect(fc.mutations()).toEqual(['pve1: pvecm expected 1']);
    fc.verify();
  });

  it('rejects votes that are not a positive number (exit 2)', async () => {
    const { fc, inv } = setup();
    const r = await pvx(['-i', inv, 'cluster', 'expected', '0', '--node', 'pve1', '--yes'], fc);
    expect(r.code).toBe(2);
    expect(fc.calls).toEqual([]);
    fc.verify();
  });
});

describe('pvx cluster remove-node and join with a QDevice (pvecm.adoc: remove it before adding or removing nodes)', () => {
  it('remove-node refuses (exit 3) naming the command to run first; once the QDevice is gone it removes the node and offers to set it up again', async () => {
    const { fc, inv } = setup();
    fc.clusters.get('lab')!.qdevice = { host: '10.99.0.50' };
    fc.node('pve3').reachable = false;
    const r = await pvx(['-i', inv, '--yes', '--json', 'cluster', 'remove-node', 'pve3'], fc);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'PREFLIGHT_FAILED',
      message: `cannot remove pve3: cluster 'lab' has a QDevice (QNetd host 10.99.0.50): Proxmox asks to remove it before a node is removed (pvecm.adoc, "Adding/Deleting Nodes After QDevice Setup")`,
      hint: "run 'pvx cluster qdevice remove' first (every node must be online), then this again; once the node count is even, add it again: pvx cluster qdevice add 10.99.0.50",
    });
    expect(fc.mutations()).toEqual([]);

    // the admin removes it (pvecm refuses while pve3 is off), then runs pvx again
    fc.node('pve3').reachable = true;
    expect((await fc.exec('pve1', ['pvecm', 'qdevice', 'remove'])).stdout).toContain('Removed Qdevice.');
    fc.node('pve3').reachable = false;
    const ok = await pvx(['-i', inv, '--yes', 'cluster', 'remove-node', 'pve3'], fc);
    expect(ok.code).toBe(0);
    expect(fc.mutations()).toEqual(['pve1: pvecm delnode pve3', 'pve1: rm -r /etc/pve/nodes/pve3']);
    expect(ok.stdout).toContain('  next: if you removed a QDevice for this, add it again: pvx cluster qdevice add <QNetd address> (2 nodes: an even count, as a QDevice wants)');
    fc.verify();
  });

  it('pvecm qdevice remove itself refuses while a node is offline (the stand-in follows pvecm.pm)', async () => {
    const { fc } = setup();
    fc.clusters.get('lab')!.qdevice = { host: '10.99.0.50' };
    fc.node('pve3').corosync = false;
    expect(await fc.exec('pve1', ['pvecm', 'qdevice', 'remove'])).toMatchObject({ exitCode: 255, stderr: 'All nodes must be online! Node pve3 is offline, aborting.\n' });
    fc.verify();
  });

  it('join refuses at preflight (exit 3) while the cluster has a QDevice, with the command to run first', async () => {
    const { fc, inv, pw } = setup();
    fc.clusters.get('lab')!.qdevice = { host: '10.99.0.50' };
    const r = await pvx(['-i', inv, 'cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', pw], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`pve1: quorum: cluster 'lab' has a QDevice (QNetd host 10.99.0.50): Proxmox asks to remove it before a node is added`);
    expect(r.stderr).toContain('pvx cluster qdevice remove (every node must be online), then join; afterwards, with an even node count, add it again: pvx cluster qdevice add 10.99.0.50');
    expect(fc.mutations()).toEqual([]);
    expect(fc.calls.some((c) => c.argv[1] === 'add')).toBe(false);
    fc.verify();
  });
});

describe('pvx cluster expected with a QDevice', () => {
  it('counts the QDevice vote among the votes present, as corosync does, and says which values corosync takes', async () => {
    const fc = new FakeCluster(['pve1', 'pve2']).form('duo', ['pve1', 'pve2']);
    fc.clusters.get('duo')!.qdevice = { host: '10.99.0.50' };
    fc.node('pve2').reachable = false;
    fc.node('pve2').corosync = false;
    const r = await pvx(['-i', writeInventory(['pve1', 'pve2']), '--json', '--yes', 'cluster', 'expected', '2', '--node', 'pve1'], fc);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    // pve1's vote and the device's (ffsplit gives it to the half with the lowest node id): 2 of 3
    expect(doc.warnings[0]).toContain("lets the partition of pve1 (2 vote(s) present: 1 of the nodes, 1 of the QDevice) act as the whole cluster 'duo'");
    expect(doc.warnings[0]).toContain('corosync accepts 2 to 3 here.');
    expect(fc.mutations()).toEqual(['pve1: pvecm expected 2']);
    fc.verify();
  });
});
