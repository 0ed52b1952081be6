/**
 * Storage replication in the lab (lab h5a, 10.88.8.0/24, PVE 8, 3 nodes formed with the sim's
 * pvecm): a VM with a disk on local-zfs, a `pvesr` job to pve2 run at once with `pvesr run --id`
 * over the nodes' real ssh, then by pvescheduler on its own; a job to a node whose sshd is stopped
 * fails and counts; refusals exit non-zero with PVE's messages. Needs root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labUp, type LabInfo } from '../../src/lab/index.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';

const LAB = 'h5a';
const NODES = ['pve1', 'pve2', 'pve3'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function run(node: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await labExec(LAB, node, argv, { timeoutMs: 120_000 });
  return { code: r.exitCode ?? -1, out: r.stdout, err: r.stderr };
}

async function sh(node: string, argv: string[]): Promise<string> {
  const r = await run(node, argv);
  if (r.code !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.code}): ${r.err || r.out}`);
  return r.out;
}

/** `pvesr run --id`, again when the scheduler ran the same job in the same second (PVE's own refusal then). */
async function runJob(id: string): Promise<{ code: number; out: string; err: string }> {
  for (let i = 0; ; i++) {
    const r = await run('pve1', ['pvesr', 'run', '--id', id, '--verbose']);
    if (i < 3 && /^start time before last sync/m.test(r.err)) continue;
    return r;
  }
}

function statusRow(text: string, id: string): string[] {
  const line = text.split('\n').find((l) => l.startsWith(`${id} `));
  if (!line) throw new Error(`no status row for ${id} in:\n${text}`);
  // JobID Enabled Target LastSync NextSync Duration FailCount, then State (which may hold spaces)
  const f = line.trim().split(/\s+/);
  return [...f.slice(0, 7), f.slice(7).join(' ')];
}

/** The status row of a job once no run of it is going on (State is not SYNCING). */
async function settled(id: string): Promise<string[]> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const row = statusRow(await sh('pve1', ['pvesr', 'status']), id);
    if (row[7] !== 'SYNCING') return row;
    if (Date.now() > deadline) throw new Error(`job ${id} still syncing after 90 s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe.skipIf(!isRoot)('storage replication in the lab (h5a)', () => {
  const log: string[] = [];
  let info: LabInfo;

  beforeAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: '10.88.8.0/24', pveVersions: ['8.4.11'] }, (l) => void log.push(l));
    await formClusterWithPvecm(LAB, info, NODES);
    await sh('pve1', ['qm', 'create', '100', '--name', 'zfsvm', '--memory', '512', '--scsi0', 'local-zfs:4']);
  }, 300_000);

  afterAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
  }, 120_000);

  it('has local-zfs on every node, and the VM disk as a dataset of pve1', async () => {
    for (const n of NODES) expect((await sh(n, ['pvesm', 'status'])).split('\n').map((l) => l.split(/\s+/).slice(0, 3).join(' '))).toContain('local-zfs zfspool active');
    expect(await sh('pve1', ['qm', 'config', '100'])).toMatch(/^scsi0: local-zfs:vm-100-disk-0,size=4G$/m);
    expect(await sh('pve1', ['pvesm', 'list', 'local-zfs'])).toMatch(/^local-zfs:vm-100-disk-0 raw +images +4294967296 100$/m);
    expect(await sh('pve1', ['zfs', 'list', '-H', '-o', 'name'])).toBe('rpool/data/vm-100-disk-0\n');
    expect(await sh('pve1', ['systemctl', 'is-active', 'pvescheduler'])).toBe('active\n');
  });

  it('refuses jobs PVE refuses, exiting non-zero with its messages', async () => {
    await sh('pve1', ['qm', 'create', '101', '--name', 'dirvm', '--memory', '512', '--scsi0', 'local:1']);
    const self = await run('pve1', ['pvesr', 'create-local-job', '100-0', 'pve1']);
    expect(self).toEqual({ code: 255, out: '', err: 'Source and target must not be identical\n' });
    const dir = await run('pve1', ['pvesr', 'create-local-job', '101-0', 'pve2']);
    expect(dir).toEqual({ code: 255, out: '', err: "missing replicate feature on volume 'local:101/vm-101-disk-0.raw'\n" });
    const cal = await run('pve1', ['pvesr', 'create-local-job', '100-0', 'pve2', '--schedule', 'often']);
    expect(cal.code).toBe(255);
    expect(cal.err).toMatch(/^400 Parameter verification failed\.\nschedule: invalid format - invalid calendar event 'often' - unable to parse calendar event\n/);
    expect(await sh('pve1', ['pvesr', 'list'])).toBe('JobID                Target                 Schedule  Rate  Enabled\n');
  });

  it('replicates the disk to pve2 at once with pvesr run --id', async () => {
    expect(await run('pve1', ['pvesr', 'create-local-job', '100-0', 'pve2', '--schedule', '*/1'])).toEqual({ code: 0, out: '', err: '' });
    const r = await runJob('100-0');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^full sync 'local-zfs:vm-100-disk-0' \(__replicate_100-0_\d+__\)$/m);
    expect(r.out).toMatch(/^successfully imported 'local-zfs:vm-100-disk-0'$/m);
    expect(r.out.trimEnd().split('\n').pop()).toBe('end replication job');
    // pvescheduler may be running the same (due every minute) job right now: wait for it to end
    const row = await settled('100-0');
    const snaps = await sh('pve2', ['zfs', 'list', '-t', 'snapshot', '-H', '-o', 'name']);
    expect(snaps).toMatch(/^rpool\/data\/vm-100-disk-0@__replicate_100-0_\d+__\n$/);
    expect(await sh('pve2', ['pvesm', 'list', 'local-zfs'])).toMatch(/^local-zfs:vm-100-disk-0 raw +images +4294967296 100$/m);
    expect(row[1]).toBe('Yes');
    expect(row[2]).toBe('local/pve2');
    expect(row[3]).toMatch(/^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d$/);
    expect(row[6]).toBe('0');
    expect(row[7]).toBe('OK');
    // the replication snapshot on pve2 is the one of the recorded last sync
    const synced = /__replicate_100-0_(\d+)__/.exec(snaps)?.[1];
    const d = new Date(Number(synced) * 1000);
    const p = (n: number): string => String(n).padStart(2, '0');
    expect(row[3]).toBe(`${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`);
  }, 120_000);

  it('runs the due job again from pvescheduler, sending only the delta', async () => {
    const before = (await settled('100-0'))[3];
    const deadline = Date.now() + 150_000;
    let after = before;
    while (after === before) {
      if (Date.now() > deadline) throw new Error('pvescheduler did not run job 100-0 within 150 s');
      await new Promise((r) => setTimeout(r, 2000));
      after = (await settled('100-0'))[3];
    }
    // the job log of the scheduler's run
    const jobLog = await sh('pve1', ['cat', '/var/log/pve/replicate/100-0']);
    expect(jobLog).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 100-0: incremental sync 'local-zfs:vm-100-disk-0' \(__replicate_100-0_\d+__ => __replicate_100-0_\d+__\)$/m);
    expect(jobLog.trimEnd().split('\n').pop()).toMatch(/ 100-0: end replication job$/);
    expect((await sh('pve2', ['zfs', 'list', '-t', 'snapshot', '-H', '-o', 'name'])).trim().split('\n')).toHaveLength(1);
  }, 180_000);

  it('fails a job to a node whose sshd is down and counts the failure', async () => {
    // without the scheduler, only this test's run can count: the failure count is exact
    await sh('pve1', ['systemctl', 'stop', 'pvescheduler']);
    await sh('pve1', ['pvesr', 'create-local-job', '100-1', 'pve3', '--schedule', '*/1']);
    await sh('pve3', ['systemctl', 'stop', 'ssh']);
    try {
      const r = await runJob('100-1');
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/^command '\/usr\/bin\/ssh -e none -o BatchMode=yes -o HostKeyAlias=pve3 .*root@10\.88\.8\.\d+ -- pvesr prepare-local-job 100-1 local-zfs:vm-100-disk-0 --last_sync 0' failed: exit code 255$/m);
      const row = await settled('100-1');
      expect(row[2]).toBe('local/pve3');
      expect(row[3]).toBe('-');
      expect(row[6]).toBe('1');
      expect(row[7]).toMatch(/^command '\/usr\/bin\/ssh .* failed: exit code 255$/);
      // the job to pve2 is unaffected
      expect((await settled('100-0'))[7]).toBe('OK');
    } finally {
      await sh('pve3', ['systemctl', 'start', 'ssh']);
      await sh('pve1', ['systemctl', 'start', 'pvescheduler']);
    }
  }, 120_000);

  it('migrates the VM to its replication target with one more run, and turns the job around', async () => {
    // the replication run under test is the migration's own, not one of the scheduler
    await sh('pve1', ['systemctl', 'stop', 'pvescheduler']);
    const r = await run('pve1', ['qm', 'migrate', '100', 'pve2']);
    await sh('pve1', ['systemctl', 'start', 'pvescheduler']);
    expect(r.code, `${r.out}${r.err}`).toBe(0);
    const lines = r.out.split('\n').map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, ''));
    expect(lines).toContain("found local, replicated disk 'local-zfs:vm-100-disk-0' (attached)");
    expect(lines).toContain('replicating disk images');
    expect(lines.some((l) => /^incremental sync 'local-zfs:vm-100-disk-0' \(__replicate_100-0_\d+__ => __replicate_100-0_\d+__\)$/.test(l))).toBe(true);
    expect(lines).not.toContain('copying local disk images');
    expect(lines.filter(Boolean).pop()).toMatch(/^migration finished successfully \(duration \d\d:\d\d:\d\d\)$/);
    // the job now replicates from pve2 back to pve1, with the state it had on pve1
    expect((await sh('pve2', ['pvesr', 'list'])).split('\n')[1]).toBe('100-0                local/pve1                  */1     -      yes');
    const row = statusRow(await sh('pve2', ['pvesr', 'status']), '100-0');
    expect(row[2]).toBe('local/pve1');
    expect(row[3]).toMatch(/^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d$/);
    expect(row[6]).toBe('0');
    expect(await sh('pve1', ['pvesr', 'status'])).not.toMatch(/^100-0 /m);
    // both nodes keep the dataset: pve2 runs the VM from it, pve1 holds the replica
    for (const n of ['pve1', 'pve2']) expect(await sh(n, ['zfs', 'list', '-H', '-o', 'name'])).toBe('rpool/data/vm-100-disk-0\n');
  }, 180_000);
});
