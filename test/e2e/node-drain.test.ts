/**
 * `pvx node drain` and `pvx node maintenance` on a lab of their own (mnt, 10.88.33.0/24, 3 nodes
 * formed with the nodes' own pvecm; the simulated qm/pct/ha-manager and HA daemons move guests for
 * real within the lab's /etc/pve): a node drained across two targets by free memory, then HA
 * maintenance mode with an HA guest (moved by the lab's LRM) and a non-HA guest (moved by pvx),
 * disable --return bringing both back, then a drain whose one target is full of running guests.
 * Runs the built bin/pvx.js; needs root.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labRemnants, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, type CliResult } from '../helpers/cli.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'mnt';
const SUBNET = '10.88.33.0/24';
const NODES = ['pve1', 'pve2', 'pve3'];
const TEMPLATE = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let env: Record<string, string>;

function cli(args: string[]): CliResult {
  return pvx(['-i', info.inventory, ...args], env);
}

function json(r: CliResult): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

async function sh(node: string, argv: string[]): Promise<string> {
  const r = await labExec(LAB, node, argv, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Where each guest is and whether it runs, as the nodes' own qm list / pct list say. */
async function where(): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const node of NODES) {
    for (const tool of ['qm', 'pct']) {
      for (const line of (await sh(node, [tool, 'list'])).split('\n').slice(1)) {
        const id = line.trim().split(/\s+/)[0];
        if (id && /^\d+$/.test(id)) out.set(Number(id), node);
      }
    }
  }
  return out;
}

describe.skipIf(!isRoot)('pvx node drain and maintenance on the lab (mnt)', () => {
  beforeAll(async () => {
    const dir = tmpDir('pvx-mnt-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
    for (const n of NODES) await sh(n, ['sh', '-c', 'echo PVX_SIM_TIME_SCALE=0.05 >> /etc/environment']);
    await formClusterWithPvecm(LAB, info, NODES);
    await sh('pve1', ['qm', 'create', '100', '--name', 'vm100', '--memory', '1024', '--scsi0', 'labshare:1']);
    await sh('pve1', ['qm', 'start', '100']);
    await sh('pve1', ['pct', 'create', '101', TEMPLATE, '--hostname', 'ct101', '--memory', '512', '--rootfs', 'labshare:1']);
    await sh('pve1', ['pct', 'start', '101']);
    await sh('pve1', ['qm', 'create', '102', '--name', 'vm102', '--memory', '512', '--scsi0', 'labshare:1']);
  }, 300_000);

  afterAll(async () => {
    await labDown(LAB, log);
    expect(await labRemnants(LAB)).toEqual({ netns: [], links: [], mounts: [], pids: [] });
  }, 120_000);

  it('drains pve1 across pve2 and pve3 by free memory, each guest ending where the plan put it', async () => {
    const dry = cli(['--json', 'node', 'drain', 'pve1', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    // equal nodes: the running VM takes pve2 (the first of a tie), the running CT then pve3 (more left),
    // and the stopped VM, which needs no memory, the one with more left (pve3)
    expect(json(dry).result.plan.map((s: any) => `${s.node}: ${s.command.join(' ')}`)).toEqual([
      'pve1: qm migrate 100 pve2 --online 1',
      'pve1: pct migrate 101 pve3 --restart 1',
      'pve1: qm migrate 102 pve3',
    ]);
    const r = cli(['--json', 'node', 'drain', 'pve1', '--parallel', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).result.guests.map((g: any) => [g.vmid, g.target, g.status])).toEqual([
      [100, 'pve2', 'migrated'],
      [101, 'pve3', 'migrated'],
      [102, 'pve3', 'migrated'],
    ]);
    const at = await where();
    expect([at.get(100), at.get(101), at.get(102)]).toEqual(['pve2', 'pve3', 'pve3']);
  }, 240_000);

  it('maintenance enable moves the HA guest by the HA stack and the other by pvx; disable --return brings both back', async () => {
    await sh('pve1', ['qm', 'create', '110', '--name', 'vm110', '--memory', '512', '--scsi0', 'labshare:1']);
    await sh('pve1', ['ha-manager', 'add', 'vm:110']);
    await until('vm:110 started', async () => (/^service vm:110 \(pve1, started\)$/m.test(await sh('pve2', ['ha-manager', 'status'])) ? true : undefined));
    await sh('pve1', ['qm', 'create', '111', '--name', 'vm111', '--memory', '512', '--scsi0', 'labshare:1']);
    await sh('pve1', ['qm', 'start', '111']);

    const on = cli(['--json', 'node', 'maintenance', 'enable', 'pve1', '--timeout', '180']);
    expect(on.code, on.stderr).toBe(0);
    const doc = json(on);
    expect(doc.result).toMatchObject({ node: 'pve1', action: 'enable', haMaintenance: true });
    expect(doc.result.ha).toHaveLength(1);
    expect(doc.result.ha[0].sid).toBe('vm:110');
    expect(['pve2', 'pve3']).toContain(doc.result.ha[0].node);
    expect(doc.result.guests.map((g: any) => [g.vmid, g.status])).toEqual([[111, 'migrated']]);
    expect(await sh('pve2', ['ha-manager', 'status'])).toMatch(/^lrm pve1 \(maintenance mode, /m);
    const at = await where();
    expect(at.get(110)).not.toBe('pve1');
    expect(at.get(111)).not.toBe('pve1');
    const file = path.join(env['PVX_STATE_DIR']!, 'maintenance', 'pve1.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).guests.map((g: any) => [g.vmid, g.ha]).sort()).toEqual([
      [110, true],
      [111, false],
    ]);

    const off = cli(['--json', 'node', 'maintenance', 'disable', 'pve1', '--return', '--timeout', '180']);
    expect(off.code, off.stderr).toBe(0);
    expect(json(off).result).toMatchObject({ action: 'disable', ha: [{ sid: 'vm:110', node: 'pve1' }], stateFile: null });
    expect(json(off).result.guests.map((g: any) => [g.vmid, g.target, g.status])).toEqual([[111, 'pve1', 'migrated']]);
    expect(await sh('pve2', ['ha-manager', 'status'])).not.toMatch(/^lrm pve1 \(maintenance mode/m);
    const back = await where();
    expect([back.get(110), back.get(111)]).toEqual(['pve1', 'pve1']);
    expect(existsSync(file)).toBe(false);
  }, 300_000);

  it('drains pve3 --to pve2,pve1 while pve2 is full: everything that fits goes to pve1, the guest that fits nowhere stays, named (exit 1)', async () => {
    // pve2 fills the way a real node does: running guests. The lab counts a running guest's share of
    // its memory as used on its node (at most the node's total, as /proc/meminfo never shows more), so
    // three running VMs each as large as pve2's own memory leave it nothing free.
    const nodeMem = async (): Promise<Map<string, { maxmem: number; mem: number }>> =>
      new Map(JSON.parse(await sh('pve1', ['pvesh', 'get', '/cluster/resources', '--type', 'node', '--output-format', 'json'])).map((n: any) => [n.node, { maxmem: n.maxmem, mem: n.mem }]));
    const MiB = 1024 * 1024;
    const hogMiB = Math.floor((await nodeMem()).get('pve2')!.maxmem / MiB);
    for (const id of ['130', '131', '132']) {
      await sh('pve2', ['qm', 'create', id, '--name', `hog${id}`, '--memory', String(hogMiB)]);
      await sh('pve2', ['qm', 'start', id]);
    }
    const before = await nodeMem();
    expect(before.get('pve2')!.mem).toBe(before.get('pve2')!.maxmem);
    // larger than what pve1 has free: it fits on neither target
    const freeOnPve1 = before.get('pve1')!.maxmem - before.get('pve1')!.mem;
    const bigMiB = Math.ceil(freeOnPve1 / MiB) + 1024;
    await sh('pve3', ['qm', 'create', '120', '--name', 'vm120', '--memory', '1024', '--scsi0', 'labshare:1']);
    await sh('pve3', ['qm', 'start', '120']);
    await sh('pve3', ['qm', 'create', '121', '--name', 'vm121', '--memory', String(bigMiB), '--scsi0', 'labshare:1']);
    await sh('pve3', ['qm', 'start', '121']);

    // pve3 holds the CT 101 (running) and VM 102 (stopped) from the first drain, and now 120 and 121
    const r = cli(['--json', 'node', 'drain', 'pve3', '--to', 'pve2,pve1', '--parallel', '2']);
    expect(r.code, r.stderr).toBe(1);
    const doc = json(r);
    const rows = doc.result.guests.map((g: any) => [g.vmid, g.target, g.status]);
    expect(rows).toEqual([
      [101, 'pve1', 'migrated'],
      [102, 'pve1', 'migrated'],
      [120, 'pve1', 'migrated'],
      [121, null, 'skipped'],
    ]);
    const big = (bigMiB / 1024).toFixed(1);
    expect(doc.result.guests[3].reason).toMatch(
      new RegExp(`^fits on no target: pve2: needs ${big} GiB of memory, pve2 has 0\\.0 GiB free \\| pve1: needs ${big} GiB of memory, pve1 has \\d+\\.\\d GiB free$`),
    );
    expect(doc.error).toMatchObject({ code: 'DRAIN_INCOMPLETE', exitCode: 1, message: '1 of 4 guest(s) are still on pve3: 1 skipped' });
    expect(doc.error.hint).toContain('continue with: pvx node drain pve3 --to pve2,pve1 --parallel 2');
    const at = await where();
    expect([at.get(101), at.get(102), at.get(120), at.get(121)]).toEqual(['pve1', 'pve1', 'pve1', 'pve3']);
    expect([at.get(130), at.get(131), at.get(132)]).toEqual(['pve2', 'pve2', 'pve2']);
    // 121 was not forced: it still runs where it was
    expect(await sh('pve3', ['qm', 'status', '121'])).toBe('status: running\n');
  }, 240_000);
});
