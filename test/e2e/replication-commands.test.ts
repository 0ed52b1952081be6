/**
 * `pvx replication` on a lab of its own (rpl, 10.88.32.0/24, 3 nodes formed with the nodes' own
 * pvecm, real sshd and the lab's pvesr and pvescheduler): a VM on local-zfs is refused by `pvx ha
 * add` until it is replicated; `replication add` creates job 100-0, `run` waits for pvescheduler's
 * sync, `status` shows it OK, `ha add` then accepts the VM, and `remove` takes the job away. Runs
 * the built bin/pvx.js; needs root.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labRemnants, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, type CliResult } from '../helpers/cli.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'rpl';
const NODES = ['pve1', 'pve2', 'pve3'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function sh(node: string, argv: string[]): Promise<string> {
  const r = await labExec(LAB, node, argv, { timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

describe.skipIf(!isRoot)('pvx replication in the lab (rpl)', () => {
  const log: string[] = [];
  let info: LabInfo;
  let env: Record<string, string> = {};
  const cli = (args: string[]): CliResult => pvx(['-i', info.inventory, ...args], env);
  const json = (args: string[]): { code: number; doc: any; stderr: string } => {
    const r = cli(['--json', ...args]);
    try {
      return { code: r.code, doc: JSON.parse(r.stdout), stderr: r.stderr };
    } catch {
      throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
  };

  beforeAll(async () => {
    const dir = tmpDir('pvx-rpl-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    await labDown(LAB, (l) => void log.push(l));
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: '10.88.32.0/24' }, (l) => void log.push(l));
    await formClusterWithPvecm(LAB, info, NODES);
    await sh('pve1', ['qm', 'create', '100', '--name', 'zfsvm', '--memory', '512', '--scsi0', 'local-zfs:1']);
  }, 300_000);

  afterAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
    expect(await labRemnants(LAB)).toEqual({ netns: [], links: [], mounts: [], pids: [] });
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(/pvx-rpl-/);
  }, 120_000);

  it('ha add refuses the unreplicated local-ZFS VM and names the replication command', () => {
    const r = cli(['ha', 'add', '100', '--nodes', 'pve1,pve2', '--strict']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('scsi0 is on local storage local-zfs (zfspool): HA could not restart the guest on pve2; replicate it to pve2 (pvx replication add 100 --to pve2) or move it to shared storage');
  }, 180_000);

  it('refuses bad input and unmet prerequisites without a change', async () => {
    expect(cli(['replication', 'add', '100', '--to', 'pve2', '--schedule', 'often']).code).toBe(2);
    const self = cli(['replication', 'add', '100', '--to', 'pve1']);
    expect(self.code).toBe(3);
    expect(self.stderr).toContain('pve1 is the node the guest runs on');
    expect(await sh('pve1', ['pvesr', 'list'])).toBe('JobID                Target                 Schedule  Rate  Enabled\n');
  }, 120_000);

  it('adds job 100-0 to pve2 (dry run first), and pvesr lists it', async () => {
    const dry = json(['--dry-run', 'replication', 'add', '100', '--to', 'pve2', '--schedule', '*/30']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.doc.result.plan[0].command).toEqual(['pvesr', 'create-local-job', '100-0', 'pve2', '--schedule', '*/30']);
    expect(dry.doc.result.volumes).toEqual(['local-zfs:vm-100-disk-0']);
    const r = cli(['replication', 'add', '100', '--to', 'pve2', '--schedule', '*/30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('job 100-0 replicates VM 100 from pve1 to pve2 on schedule */30');
    expect((await sh('pve1', ['pvesr', 'list'])).split('\n')[1]).toBe('100-0                local/pve2                 */30     -      yes');
    const list = json(['replication', 'list']);
    expect(list.doc.result.jobs).toEqual([{ jobId: '100-0', vmid: 100, target: 'pve2', schedule: '*/30', enabled: true }]);
  }, 120_000);

  it('runs the job now and waits for the sync; status shows it OK', async () => {
    const r = json(['replication', 'run', '100-0', '--timeout', '110']);
    expect(r.code, JSON.stringify(r.doc.error)).toBe(0);
    expect(r.doc.result.runs).toEqual([expect.objectContaining({ id: '100-0', ok: true, failCount: 0, state: 'OK' })]);
    expect(await sh('pve2', ['zfs', 'list', '-t', 'snapshot', '-H', '-o', 'name'])).toMatch(/^rpool\/data\/vm-100-disk-0@__replicate_100-0_\d+__\n$/);
    const st = json(['replication', 'status']);
    expect(st.code).toBe(0);
    expect(st.doc.result.unread).toEqual([]);
    expect(st.doc.result.jobs).toEqual([expect.objectContaining({ jobId: '100-0', source: 'pve1', target: 'pve2', failCount: 0, state: 'OK', lastSync: r.doc.result.runs[0].lastSync })]);
    expect(st.doc.result.jobs[0].lastSync).toMatch(/^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d$/);
  }, 150_000);

  it('ha add now accepts the VM (replicated to the one node HA may restart it on)', () => {
    const r = cli(['ha', 'add', '100', '--nodes', 'pve1,pve2', '--strict']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('scsi0 is on local ZFS storage local-zfs, replicated to pve2: a recovery loses what changed since the last sync');
    expect(cli(['ha', 'remove', '100']).code).toBe(0);
  }, 240_000);

  it('removes the job; pvescheduler takes it and its replica away', async () => {
    const r = cli(['replication', 'remove', '100-0', '--timeout', '110']);
    expect(r.code, r.stderr).toBe(0);
    expect(await sh('pve1', ['pvesr', 'list'])).toBe('JobID                Target                 Schedule  Rate  Enabled\n');
    expect(await sh('pve2', ['zfs', 'list', '-H', '-o', 'name'])).toBe('');
  }, 150_000);
});
