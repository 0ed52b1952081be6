/**
 * The cluster lifecycle on a lab of its own (e2ec, 10.77.15.0/24, 4 nodes; real sshd, real corosync,
 * simulated pvecm/pvesh/qm): refusals that change nothing, a 3-node create checked with pvx and with
 * corosync-quorumtool, an idempotent re-run, a wrong password, a 4th node joining, a crashed corosync,
 * a node taken down and removed; then, on a fresh lab, a two-node create whose first join fails on a
 * wrong password (exit 4) and whose recovery command finishes it. Runs the built bin/pvx.js; needs root.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, type CliResult } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2ec';
const SUBNET = '10.77.15.0/24';
const NODES = ['pve1', 'pve2', 'pve3', 'pve4'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let dir: string;
let env: Record<string, string>;
let password: string;

function cli(args: string[]): CliResult {
  return pvx(['-i', info.inventory, ...args], env);
}

function json(r: CliResult): { ok: boolean; result: any; error?: any; warnings: string[] } {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

/**
 * What decides a node's cluster membership (cluster files, a running corosync, the /etc/pve tree):
 * what pvx could change on a node. PVE writes a file in /etc/pve as <file>.tmp.<pid> and renames it
 * (the HA LRM every round), so such half-written names come and go on their own and are left out;
 * so do the cfs locks under /etc/pve/priv/lock that the HA CRM and LRM take and release (ha_manager_lock,
 * domain-ha, ha_agent_<node>_lock).
 */
async function nodeState(node: string): Promise<string> {
  const r = await labExec(LAB, node, [
    'sh',
    '-c',
    'for f in /etc/pve/corosync.conf /etc/corosync/authkey /etc/corosync/corosync.conf; do if [ -e "$f" ]; then md5sum "$f"; fi; done; ' +
      'if pidof corosync >/dev/null; then echo corosync running; fi; find /etc/pve 2>/dev/null | grep -v -e "\\.tmp\\.[0-9]*$" -e "^/etc/pve/priv/lock/" | sort',
  ]);
  return r.stdout;
}

async function snapshot(nodes = NODES): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(nodes.map(async (n) => [n, await nodeState(n)] as const)));
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function journal(): Array<{ node: string; argv: string[]; mutates: boolean; exitCode: number | null; stdin: boolean }> {
  try {
    return readFileSync(path.join(env['PVX_STATE_DIR']!, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function freshLab(): Promise<void> {
  await labDown(LAB, log);
  info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
  password = readFileSync(info.rootPasswordFile, 'utf8').replace(/\r?\n$/, '');
}

describe.skipIf(!isRoot)('cluster lifecycle on the lab (e2ec)', () => {
  beforeAll(async () => {
    dir = tmpDir('pvx-e2ec-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    await freshLab();
  });

  afterAll(async () => {
    await labDown(LAB, log);
  });

  describe('refusals stop before the first change', () => {
    it('a bad cluster name exits 2 and runs nothing', async () => {
      const before = await snapshot();
      const r = cli(['cluster', 'create', 'bad_name', '--nodes', 'pve1,pve2,pve3', '--password-file', info.rootPasswordFile]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("cluster name 'bad_name' is invalid");
      expect(journal()).toEqual([]);
      expect(await snapshot()).toEqual(before);
    });

    it('guests on a joining node fail preflight (exit 3), nothing changed on any node', async () => {
      const made = await labExec(LAB, 'pve3', ['qm', 'create', '100', '--name', 'web', '--memory', '512']);
      expect(made.exitCode, made.stderr).toBe(0);
      try {
        const before = await snapshot();
        const r = cli(['--json', 'cluster', 'create', 'e2ec', '--nodes', 'pve1,pve2,pve3', '--password-file', info.rootPasswordFile]);
        expect(r.code).toBe(3);
        const failed = json(r).error.details.checks.filter((c: { status: string }) => c.status === 'fail');
        expect(failed).toContainEqual(expect.objectContaining({ id: 'no-guests', node: 'pve3' }));
        expect(await snapshot()).toEqual(before);
        expect(journal().filter((e) => e.mutates)).toEqual([]);
      } finally {
        await labExec(LAB, 'pve3', ['qm', 'destroy', '100']);
      }
    });

    it('corosync UDP blocked on one node fails preflight (exit 3), nothing changed on any node', async () => {
      await labFault(LAB, 'pve3', 'block-udp', '5405-5412', log);
      try {
        const before = await snapshot();
        const r = cli(['--json', 'cluster', 'create', 'e2ec', '--nodes', 'pve1,pve2,pve3', '--password-file', info.rootPasswordFile]);
        expect(r.code).toBe(3);
        const failed = json(r).error.details.checks.filter((c: { status: string }) => c.status === 'fail');
        expect(failed.some((c: { id: string }) => c.id === 'udp-corosync')).toBe(true);
        expect(await snapshot()).toEqual(before);
        expect(journal().filter((e) => e.mutates)).toEqual([]);
      } finally {
        await labFault(LAB, 'pve3', 'heal', undefined, log);
      }
    });
  });

  describe('create, re-run, join, crash, remove', () => {
    it('creates a 3-node cluster: 3/3 quorate by pvx and by corosync-quorumtool on the node', async () => {
      const r = cli(['cluster', 'create', 'e2ec', '--nodes', 'pve1,pve2,pve3', '--password-file', info.rootPasswordFile]);
      expect(r.stderr, r.stderr).not.toMatch(/^error:/m);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Created cluster 'e2ec' with pve1, pve2, pve3");
      for (const text of [r.stdout, r.stderr, readFileSync(path.join(env['PVX_STATE_DIR']!, 'journal.jsonl'), 'utf8')]) expect(text).not.toContain(password);
      expect(journal().filter((e) => e.argv[1] === 'add').map((e) => e.stdin)).toEqual([true, true]);

      const s = json(cli(['--json', 'cluster', 'status']));
      expect(s.result.cluster.name).toBe('e2ec');
      expect(s.result.quorum).toMatchObject({ quorate: true, expectedVotes: 3, totalVotes: 3 });
      expect(s.result.nodes.map((n: { name: string; online: boolean }) => `${n.name}:${n.online}`)).toEqual(['pve1:true', 'pve2:true', 'pve3:true']);
      expect(s.result.standalone.map((n: { name: string }) => n.name)).toEqual(['pve4']);

      for (const node of ['pve1', 'pve2', 'pve3']) {
        const q = await labExec(LAB, node, ['corosync-quorumtool', '-s']);
        expect(q.exitCode).toBe(0);
        expect(q.stdout).toMatch(/^Nodes: +3$/m);
        expect(q.stdout).toMatch(/^Quorate: +Yes$/m);
      }
    });

    it('re-running the same create is a no-op (exit 0, says so, nothing changed)', async () => {
      const before = await snapshot();
      const seen = journal().length;
      const r = cli(['cluster', 'create', 'e2ec', '--nodes', 'pve1,pve2,pve3', '--password-file', info.rootPasswordFile]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Cluster 'e2ec' already has pve1, pve2, pve3 as members: nothing to do");
      expect(journal().slice(seen).filter((e) => e.mutates)).toEqual([]);
      expect(await snapshot()).toEqual(before);
    });

    it('a wrong password is detected though pvecm add exits 0; nothing changed (exit 1)', async () => {
      const wrong = path.join(dir, 'wrong-password');
      writeFileSync(wrong, 'not-the-root-password\n', { mode: 0o600 });
      const before = await snapshot();
      const seen = journal().length;
      const r = cli(['cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', wrong]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('wrong root password?');
      expect(r.stderr).toContain('cluster join pve4 --via pve1 --password-file');
      const add = journal().slice(seen).find((e) => e.argv[1] === 'add');
      expect(add?.exitCode).toBe(0);
      expect(await snapshot()).toEqual(before);
      expect(r.stdout + r.stderr).not.toContain('not-the-root-password');
    });

    it('a 4th node joins with cluster join: 4/4 quorate', async () => {
      const r = cli(['cluster', 'join', 'pve4', '--via', 'pve1', '--password-file', info.rootPasswordFile]);
      expect(r.stderr, r.stderr).not.toMatch(/^error:/m);
      expect(r.code).toBe(0);
      const s = json(cli(['--json', 'cluster', 'status']));
      expect(s.result.quorum).toMatchObject({ quorate: true, expectedVotes: 4, totalVotes: 4 });
      expect(s.result.nodes).toHaveLength(4);
    });

    it('with one corosync killed the cluster stays quorate and shows that node offline', async () => {
      await labFault(LAB, 'pve4', 'kill-corosync', undefined, log);
      const s = await until(
        'pve4 offline',
        () => {
          const doc = json(cli(['--json', 'cluster', 'status']));
          return doc.result.nodes?.find((n: { name: string; online: boolean }) => n.name === 'pve4' && !n.online) ? doc : undefined;
        },
        60_000,
      );
      expect(s.ok).toBe(true);
      expect(s.result.quorum).toMatchObject({ quorate: true, expectedVotes: 4, totalVotes: 3 });
      const human = cli(['cluster', 'status']);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^pve4 +4 +- +offline/m);
    });

    it('a node taken down is removed: delnode from a quorate member, the member list shrinks', async () => {
      await labFault(LAB, 'pve4', 'down', undefined, log);
      const r = cli(['--yes', 'cluster', 'remove-node', 'pve4']);
      expect(r.stderr, r.stderr).not.toMatch(/^error:/m);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Removed pve4 from cluster 'e2ec'");
      // corosync on the members reloads the shrunk corosync.conf moments after delnode wrote it
      const doc = await until(
        'expected votes 3',
        () => {
          const d = json(pvx(['-i', info.inventory, '--json', 'cluster', 'status'], env));
          return d.result.quorum?.expectedVotes === 3 ? d : undefined;
        },
        20_000,
      );
      expect(doc.result.nodes.map((n: { name: string }) => n.name)).toEqual(['pve1', 'pve2', 'pve3']);
      expect(doc.result.quorum).toMatchObject({ quorate: true, expectedVotes: 3, totalVotes: 3 });
      const dirGone = await labExec(LAB, 'pve1', ['test', '-d', '/etc/pve/nodes/pve4']);
      expect(dirGone.exitCode).toBe(1);
    });
  });

  describe('a two-node create on fresh nodes', () => {
    beforeAll(async () => {
      await freshLab();
    });

    it('a wrong password after the create exits 4 with the recovery command, which then finishes the cluster (and warns about quorum)', async () => {
      const pwFile = path.join(dir, 'pw-two-node');
      writeFileSync(pwFile, 'typo-password\n', { mode: 0o600 });
      const r = cli(['--json', 'cluster', 'create', 'duo', '--nodes', 'pve1,pve2', '--password-file', pwFile]);
      expect(r.code).toBe(4);
      const doc = json(r);
      expect(doc.error.code).toBe('CHANGED_THEN_FAILED');
      expect(doc.error.message).toContain('wrong root password?');
      expect(doc.error.message).toMatch(/journal: .*journal\.jsonl/);
      expect(doc.result.nodes.map((n: { name: string; state: string }) => `${n.name}:${n.state}`)).toEqual(['pve1:member', 'pve2:standalone']);
      const recovery: string = doc.error.details.recovery;
      expect(recovery).toBe(`pvx -i ${info.inventory} cluster create duo --nodes pve1,pve2 --password-file ${pwFile}`);
      expect(doc.warnings.join('\n')).toMatch(/2 votes/);

      writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
      const again = pvx(recovery.split(' ').slice(1).concat('--json'), env);
      expect(again.code).toBe(0);
      const done = json(again);
      expect(done.result).toMatchObject({ outcome: 'joined', members: ['pve1', 'pve2'] });
      expect(done.warnings.join('\n')).toMatch(/2 votes.*loses quorum/);
    });
  });
});
