/**
 * Ctrl-C or the end of the input at any question pvx asks: exit 130, "cancelled", and not one
 * command beyond the reads before the question ran on any node.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PassThrough } from 'node:stream';
import { ExitPromptError } from '@inquirer/core';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import type { Transport } from '../../src/transport/types.js';
import type { Prompter } from '../../src/ui/prompter.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { TeardownFake } from '../helpers/fake-teardown.js';
import { FakeTransport } from '../helpers/fake-transport.js';
import { writeInventory } from '../helpers/run-cli.js';
import { nodeReadScript } from '../helpers/node-read.js';
import { nodeReadArgv } from '../../src/facts/node-read.js';
import { replayOf, type ExpectedCommand } from '../helpers/strict-replay.js';
import { testIO, type TestIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';
import { corosyncConf } from '../unit/checks/scenario.js';
import { guestContentsArgv } from '../../src/workflows/cluster/restore-guests.js';

const FIX = path.resolve(new URL('../fixtures/pve', import.meta.url).pathname);
const fixture = (f: string): string => readFileSync(path.join(FIX, f), 'utf8');

/** A prompter that rejects every question exactly as inquirer does when the user presses Ctrl-C. */
function ctrlC(): Prompter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    confirmTyped: async (message) => {
      asked.push(message);
      throw new ExitPromptError('User force closed the prompt with SIGINT');
    },
    secret: async (message) => {
      asked.push(message);
      throw new ExitPromptError('User force closed the prompt with SIGINT');
    },
  };
}

/** One in-process run at a terminal; without a prompter the real inquirer prompts read `io.stdin`. */
async function atTerminal(args: string[], t: Transport, opts: { prompter?: Prompter; io?: TestIO; state?: string } = {}) {
  const io = opts.io ?? testIO({ tty: true });
  const state = opts.state ?? tmpDir('pvx-state-');
  const code = await run(args, {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') },
    cwd: state,
    transportFactory: () => t,
    ...(opts.prompter ? { prompter: opts.prompter } : {}),
  });
  return { code, stdout: io.stdoutText(), stderr: io.stderrText(), state };
}

/** The read of one node's membership, answered by the reference samples of a PVE 9 cluster of 3 (its quorumtool part, corosync.conf, .members). */
function membershipReads(node: string): ConstructorParameters<typeof FakeTransport>[0] {
  return [
    nodeReadScript(node, {
      conf: { stdout: fixture('corosync-conf/labcluster-3node-constructed.conf') },
      quorum: { stdout: fixture('corosync-quorumtool/pve9-3node-cluster-validation-siH.txt') },
      members: { stdout: fixture('pmxcfs/members-3node-constructed.json') },
      version: { stdout: 'installed 9.0.6\n' },
    }),
  ];
}

function expectCancelled(r: { code: number; stderr: string }, message: string): void {
  expect(r.code).toBe(130);
  expect(r.stderr).toContain(`error: ${message}\n`);
  expect(r.stderr).not.toContain('internal error');
  expect(r.stderr).not.toContain('please report it');
}

describe('pvx cluster expected: Ctrl-C or EOF at the typed confirmation', () => {
  const inv = () => writeInventory(['proxmox', 'pve2', 'pve3']);
  const args = (i: string) => ['-i', i, 'cluster', 'expected', '2', '--node', 'proxmox'];

  it('Ctrl-C: exit 130, cancelled, only the reads ran', async () => {
    const t = new FakeTransport(membershipReads('proxmox'));
    const p = ctrlC();
    const r = await atTerminal(args(inv()), t, { prompter: p });
    expectCancelled(r, 'cancelled: expected votes were not changed');
    expect(p.asked).toEqual(['Type proxmox to set the expected votes on it to 2:']);
    expect(r.stderr).toContain('split brain');
    t.verify();
  });

  it('the real prompt: Ctrl-C typed at the terminal, and the input ending, both exit 130 with only the reads run', async () => {
    const typed = new FakeTransport(membershipReads('proxmox'));
    const io = testIO({ tty: true });
    (io.stdin as PassThrough).write('prox\x03');
    const r = await atTerminal(args(inv()), typed, { io });
    expectCancelled(r, 'cancelled: expected votes were not changed');
    expect(r.stderr).toContain('Type proxmox to set the expected votes on it to 2:');
    typed.verify();

    const ended = new FakeTransport(membershipReads('proxmox'));
    const io2 = testIO({ tty: true });
    (io2.stdin as PassThrough).end();
    const e = await atTerminal(args(inv()), ended, { io: io2 });
    expectCancelled(e, 'cancelled: expected votes were not changed');
    ended.verify();
  });
});

describe('pvx cluster remove-node: Ctrl-C at the typed confirmation', () => {
  it('exit 130, cancelled, and nothing but the reads of the member ran', async () => {
    const t = new FakeTransport([
      ...membershipReads('proxmox'),
      // reference §0.4: an empty list is printed as [] in json mode
      { node: 'proxmox', argv: ['pvesh', 'get', '/cluster/resources', '--type', 'vm', '--output-format', 'json'], result: { stdout: '[]\n' } },
      { node: 'proxmox', argv: ['test', '-d', '/etc/pve/nodes/pve3'] },
      // read for a QDevice, which would have to go first (this cluster has none)
      { node: 'proxmox', argv: ['cat', '/etc/pve/corosync.conf'], result: { stdout: corosyncConf('labcluster', [{ name: 'proxmox', nodeid: 1, address: '192.168.1.47' }, { name: 'pve2', nodeid: 2, address: '192.168.1.48' }, { name: 'pve3', nodeid: 3, address: '192.168.1.49' }]) } },
    ]);
    const p = ctrlC();
    const r = await atTerminal(['-i', writeInventory(['proxmox', 'pve2']), 'cluster', 'remove-node', 'pve3', '--via', 'proxmox', '--offline-confirmed'], t, { prompter: p });
    expectCancelled(r, 'cancelled: pve3 was not removed');
    expect(p.asked).toEqual(["Remove pve3 from cluster 'labcluster' (pvecm delnode on proxmox; it cannot rejoin without a reinstall). Type pve3 to confirm:"]);
    t.verify();
  });
});

const THREE = ['pve1', 'pve2', 'pve3'];
const nodeReads = (n: string): ExpectedCommand[] => [[n, nodeReadArgv()]];

describe('pvx cluster teardown: Ctrl-C at the typed confirmation', () => {
  it('exit 130, cancelled, no backup written, and nothing but the reads ran', async () => {
    const sim = new TeardownFake(THREE).form('prod', THREE);
    const t = await replayOf(sim, [
      ...THREE.flatMap(nodeReads),
      ...THREE.flatMap((n): ExpectedCommand[] => [
        [n, ['cat', '/etc/corosync/corosync.conf']],
        [n, ['find', '/etc/pve/nodes', '-mindepth', '3', '-maxdepth', '3', '-name', '*.conf']],
      ]),
      ['pve1', ['pvesh', 'get', '/cluster/resources', '--output-format', 'json']],
      ['pve1', ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json']],
    ]);
    const p = ctrlC();
    const r = await atTerminal(['-i', writeInventory(THREE), 'cluster', 'teardown'], t, { prompter: p });
    expectCancelled(r, "cancelled: cluster 'prod' was not touched");
    expect(p.asked).toEqual(['Type the cluster name (prod) to tear it down:']);
    expect(readdirSync(r.state)).not.toContain('backups');
    t.verify();
    sim.verify();
  });
});

describe('pvx cluster restore: Ctrl-C at the typed confirmation', () => {
  it('exit 130, cancelled, and nothing but the reads ran', async () => {
    // a teardown that lost pve2 after separating pve3 leaves a backup to restore pve3 from
    const sim = new TeardownFake(THREE).form('prod', THREE);
    const inv = writeInventory(THREE);
    sim.onCommand = (node, argv) => {
      if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') sim.node('pve2').reachable = false;
    };
    const failed = await atTerminal(['-i', inv, '--yes', 'cluster', 'teardown'], sim);
    expect(failed.code).toBe(4);
    sim.onCommand = undefined;
    sim.node('pve2').reachable = true;
    const dir = path.join(failed.state, 'backups', readdirSync(path.join(failed.state, 'backups'))[0]!);

    const t = await replayOf(sim, [
      ...THREE.flatMap(nodeReads),
      ['pve1', ['cat', '/etc/corosync/corosync.conf']],
      ['pve1', ['cat', '/etc/pve/corosync.conf']],
      // what pve3 holds, and what the running cluster holds for it
      ['pve3', guestContentsArgv()],
      ['pve1', guestContentsArgv()],
    ]);
    const p = ctrlC();
    const r = await atTerminal(['-i', inv, 'cluster', 'restore', dir, '--node', 'pve3'], t, { prompter: p });
    expectCancelled(r, 'cancelled: nothing was restored');
    expect(p.asked).toEqual(['Type the cluster name (prod) to restore:']);
    t.verify();
    sim.verify();
  });
});

describe('the root password prompt of a join: Ctrl-C', () => {
  it('exit 130, cancelled, and pvecm add never ran', async () => {
    const fc = new FakeCluster(['pve1', 'pve2', 'pve3', 'pve4']).form('lab', THREE);
    const p = ctrlC();
    const r = await atTerminal(['-i', writeInventory(['pve1', 'pve2', 'pve3', 'pve4']), 'cluster', 'join', 'pve4', '--via', 'pve1'], fc, { prompter: p });
    expectCancelled(r, 'cancelled at the password prompt: nothing was changed');
    expect(p.asked).toEqual(['Root password of pve1 (used by pvecm add, never stored):']);
    expect(fc.mutations()).toEqual([]);
    // every command that ran: the reads, the join information and the preflight session
    const shape = (argv: readonly string[]) => (argv[0] === 'sh' || argv[0] === 'perl' ? `${argv[0]} …` : argv.join(' '));
    expect(fc.calls.map((c) => `${c.node}: ${shape(c.argv)}`).sort()).toEqual([
      'pve1: cat /etc/pve/.members',
      'pve1: cat /etc/pve/corosync.conf',
      'pve1: corosync-quorumtool -siH',
      'pve1: date +%s.%N',
      'pve1: dpkg-query -W -f ${db:Status-Status} ${Version}\\n pve-manager',
      'pve1: perl …',
      'pve1: pvesh get /cluster/config/join --output-format json',
      'pve1: sh …',
      'pve4: cat /etc/pve/.members',
      'pve4: date +%s.%N',
      'pve4: dpkg-query -W -f ${db:Status-Status} ${Version}\\n pve-manager',
      'pve4: perl …',
      'pve4: sh …',
    ]);
    fc.verify();
  });
});
