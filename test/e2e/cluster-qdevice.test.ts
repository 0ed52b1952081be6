/**
 * `pvx cluster qdevice add|remove` on a lab of its own (qdv, 10.88.31.0/24, 2 nodes and a QNetd host
 * at 10.88.31.5): the cluster formed with the nodes' own pvecm, then the built CLI adds the QDevice
 * (every prerequisite proven on the real nodes, pvecm qdevice setup, the votes verified) and removes
 * it; the nodes' own corosync-quorumtool says 3 expected votes, then 2. HA is refused on the two
 * nodes alone and accepted with the QDevice's vote. Needs root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labRemnants, labUp, type LabInfo } from '../../src/lab/index.js';
import { ROOT } from '../helpers/cli.js';
import { validEnvelope } from '../helpers/json-schema.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'qdv';
const SUBNET = '10.88.31.0/24';
const QNETD = '10.88.31.5';
const NODES = ['pve1', 'pve2'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// the certificate exchange is a few dozen ssh round trips: minutes on a loaded machine
describe.skipIf(!isRoot)('pvx cluster qdevice in the lab (qdv)', () => {
  const log: string[] = [];
  let info: LabInfo;
  const dir = tmpDir('pvx-qdv-');
  const env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };

  /** The built CLI with --json; a generous timeout, as pvecm qdevice setup takes minutes. */
  function pvxJson(args: string[]): { code: number; doc: any; stderr: string } {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pvx.js'), '-i', info.inventory, '--json', ...args], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 900_000,
    });
    validEnvelope(r.stdout ?? '');
    return { code: r.status ?? -1, doc: JSON.parse(r.stdout), stderr: r.stderr ?? '' };
  }

  async function quorumtool(node: string): Promise<string> {
    const r = await labExec(LAB, node, ['corosync-quorumtool', '-s'], { timeoutMs: 20_000 });
    return r.stdout;
  }

  beforeAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET, qdevice: true }, (l) => void log.push(l));
    await formClusterWithPvecm(LAB, info, NODES, 120_000);
  }, 600_000);

  afterAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
    const left = await labRemnants(LAB);
    expect(left).toEqual({ netns: [], links: [], mounts: [], pids: [] });
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(/pvx-qdv-/);
  }, 300_000);

  it('bad input and a dry run change nothing; the plan names pvecm qdevice setup', { timeout: 120_000 }, () => {
    expect(pvxJson(['cluster', 'qdevice', 'add', 'qnetd.invalid']).code).toBe(2);
    const dry = pvxJson(['--dry-run', 'cluster', 'qdevice', 'add', QNETD]);
    expect(dry.stderr).not.toContain('error');
    expect(dry.code).toBe(0);
    expect(dry.doc.result.plan[0]).toMatchObject({ node: 'pve1', command: ['pvecm', 'qdevice', 'setup', QNETD], mutates: true });
    expect(dry.doc.result.checks.every((c: { status: string }) => c.status === 'ok')).toBe(true);
  });

  it('refuses HA on the two nodes alone, naming the command that adds a QDevice', { timeout: 300_000 }, async () => {
    const made = await labExec(LAB, 'pve1', ['qm', 'create', '100', '--name', 'vm100', '--memory', '512', '--scsi0', 'labshare:1']);
    expect(made.exitCode, made.stderr).toBe(0);
    const r = pvxJson(['ha', 'add', '100']);
    expect(r.code).toBe(3);
    expect(JSON.stringify(r.doc.error)).toContain('pvx cluster qdevice add');
    expect((await labExec(LAB, 'pve1', ['ha-manager', 'config'])).stdout.trim()).toBe('');
  });

  it('adds the QDevice: 3 expected votes and the Qdevice flag on both nodes', { timeout: 900_000 }, async () => {
    const r = pvxJson(['cluster', 'qdevice', 'add', QNETD]);
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    expect(r.doc.result).toMatchObject({ action: 'add', host: QNETD, outcome: 'added' });
    expect(r.doc.result.votes.map((v: { node: string; expectedVotes: number; qdevice: boolean }) => [v.node, v.expectedVotes, v.qdevice])).toEqual([
      ['pve1', 3, true],
      ['pve2', 3, true],
    ]);
    for (const node of NODES) {
      const q = await quorumtool(node);
      expect(q).toMatch(/^Expected votes: +3$/m);
      expect(q).toMatch(/^Flags: +Quorate Qdevice *$/m);
    }
    // a second add is refused before any change
    const again = pvxJson(['cluster', 'qdevice', 'add', QNETD]);
    expect(again.code).toBe(3);
    expect(again.doc.error.message).toContain('a QDevice is configured already');
  });

  it('then takes the guest as an HA resource: the QDevice is the third vote', { timeout: 300_000 }, async () => {
    const r = pvxJson(['ha', 'add', '100']);
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    expect((await labExec(LAB, 'pve1', ['ha-manager', 'config'])).stdout).toContain('vm:100');
    const removed = pvxJson(['ha', 'remove', '100']);
    expect(removed.code).toBe(0);
  });

  it('removes the QDevice: 2 expected votes and no Qdevice flag on both nodes', { timeout: 600_000 }, async () => {
    const r = pvxJson(['cluster', 'qdevice', 'remove']);
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    expect(r.doc.result.votes.map((v: { node: string; expectedVotes: number; qdevice: boolean }) => [v.node, v.expectedVotes, v.qdevice])).toEqual([
      ['pve1', 2, false],
      ['pve2', 2, false],
    ]);
    for (const node of NODES) {
      const q = await quorumtool(node);
      expect(q).toMatch(/^Expected votes: +2$/m);
      expect(q).not.toContain('Qdevice');
    }
  });
});
