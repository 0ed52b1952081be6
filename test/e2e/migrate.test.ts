/**
 * `pvx migrate` on a lab of its own (e2em, 10.77.16.0/24, 3 nodes; real sshd and corosync, the
 * simulated qm/pct/ha-manager moving guests for real within the lab's /etc/pve): a live VM, a
 * container with a restart, 20 guests four at a time, a guest that fails while the others go on,
 * an HA-managed guest followed until the lab's CRM has moved it (and a time-out while the HA
 * daemons are stopped), bad selectors, the JSON contract, and the README's drain script run
 * as-is. Runs the built bin/pvx.js; needs root.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labUp, type LabInfo } from '../../src/lab/index.js';
import { runProcess } from '../../src/lab/process.js';
import { ROOT, pvx, type CliResult } from '../helpers/cli.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2em';
const SUBNET = '10.77.16.0/24';
const NODES = ['pve1', 'pve2', 'pve3'];
const TEMPLATE = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';
/** the sim's migrations take (memory / bandwidth) seconds times this */
const TIME_SCALE = '0.05';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let dir: string;
let formedBy = 'pvx cluster create';
let env: Record<string, string>;

function cli(args: string[]): CliResult {
  return pvx(['-i', info.inventory, ...args], env);
}

interface Doc {
  schemaVersion: number;
  command: string;
  ok: boolean;
  result: any;
  error?: any;
  warnings: string[];
}

function json(r: CliResult): Doc {
  try {
    return JSON.parse(r.stdout) as Doc;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

interface Entry {
  time: string;
  node: string;
  argv: string[];
  mutates: boolean;
  durationMs: number | null;
}

/** The journal without the cluster lock's own commands (`sh -c … pvx-lock …`; cluster-lock.test.ts covers those). */
function journal(): Entry[] {
  try {
    return readFileSync(path.join(env['PVX_STATE_DIR']!, 'journal.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry).filter((e) => e.argv[3] !== 'pvx-lock');
  } catch {
    return [];
  }
}

async function sh(node: string, argv: string[], input?: string): Promise<string> {
  const r = await labExec(LAB, node, argv, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
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

interface Spec {
  vmid: number;
  node: string;
  kind: 'vm' | 'ct';
  memory?: number;
  storage?: 'labshare' | 'local-lvm';
  running: boolean;
}

/** Create guests with the nodes' own qm/pct, one node's guests after another, the nodes in parallel. */
async function createGuests(specs: Spec[]): Promise<void> {
  const byNode = new Map<string, Spec[]>();
  for (const s of specs) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s]);
  await Promise.all(
    [...byNode].map(async ([node, list]) => {
      for (const s of list) {
        const id = String(s.vmid);
        const storage = `${s.storage ?? 'labshare'}:1`;
        if (s.kind === 'vm') await sh(node, ['qm', 'create', id, '--name', `vm${id}`, '--memory', String(s.memory ?? 1024), '--scsi0', storage]);
        else await sh(node, ['pct', 'create', id, TEMPLATE, '--hostname', `ct${id}`, '--memory', String(s.memory ?? 512), '--rootfs', storage]);
        if (s.running) await sh(node, [s.kind === 'vm' ? 'qm' : 'pct', 'start', id]);
      }
    }),
  );
}

/** Where each guest is and whether it runs, as the nodes' own qm list / pct list say. */
async function placement(): Promise<Map<number, { node: string; status: string }>> {
  const out = new Map<number, { node: string; status: string }>();
  for (const node of NODES) {
    for (const tool of ['qm', 'pct']) {
      const text = await sh(node, [tool, 'list']);
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (!cols[0] || !/^\d+$/.test(cols[0])) continue;
        // qm list: VMID NAME STATUS ...; pct list: VMID Status [Lock] Name
        out.set(Number(cols[0]), { node, status: (tool === 'qm' ? cols[2] : cols[1]) ?? '' });
      }
    }
  }
  return out;
}

/** Form the cluster with pvx itself; the sim's pvecm by hand only if that fails. */
async function formCluster(): Promise<void> {
  const r = pvx(['-i', info.inventory, 'cluster', 'create', LAB, '--nodes', NODES.join(','), '--password-file', info.rootPasswordFile], env);
  if (r.code === 0) return;
  formedBy = `the sim's pvecm (pvx cluster create exited ${r.code})`;
  log(`pvx cluster create failed (${r.code}), forming the cluster with pvecm: ${r.stderr}`);
  try {
    await formClusterWithPvecm(LAB, info, NODES);
  } catch (e) {
    // a create that changed a node leaves nothing for pvecm to do: say why pvx failed
    throw new Error(`pvx cluster create exited ${r.code}: ${r.stderr}\nthen pvecm: ${e instanceof Error ? e.message : String(e)}`);
  }
}

describe.skipIf(!isRoot)('pvx migrate on the lab (e2em)', () => {
  beforeAll(async () => {
    dir = tmpDir('pvx-e2em-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
    // the sim reads its time scale from the session environment (pam_env), so set it before pvx
    // opens its first connection: sessions on an open master keep the old environment
    for (const n of NODES) await sh(n, ['sh', '-c', `echo PVX_SIM_TIME_SCALE=${TIME_SCALE} >> /etc/environment`]);
    await formCluster();
    await createGuests([
      { vmid: 100, node: 'pve1', kind: 'vm', running: true },
      { vmid: 101, node: 'pve1', kind: 'ct', running: true },
      ...Array.from({ length: 20 }, (_, i): Spec => ({ vmid: 200 + i, node: 'pve1', kind: 'vm', running: i % 2 === 0 })),
      { vmid: 300, node: 'pve2', kind: 'vm', memory: 4096, running: true },
      { vmid: 301, node: 'pve2', kind: 'vm', running: false },
      { vmid: 302, node: 'pve2', kind: 'ct', running: false },
      { vmid: 400, node: 'pve1', kind: 'vm', memory: 512, running: true },
      { vmid: 500, node: 'pve3', kind: 'vm', running: true },
      { vmid: 501, node: 'pve3', kind: 'vm', running: false },
      { vmid: 502, node: 'pve3', kind: 'ct', running: true },
      { vmid: 503, node: 'pve3', kind: 'ct', running: false },
    ]);
  }, 300_000);

  afterAll(async () => {
    await labDown(LAB, log);
    process.stdout.write(`migrate e2e: cluster formed with ${formedBy}\n`);
  });

  it('moves a running VM live and finds it running on the target', async () => {
    const before = journal().length;
    const r = cli(['migrate', '100', '--to', 'pve2', '--online']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^100 +VM +pve1 +pve2 +migrated +\d+\.\d s$/m);
    expect(r.stderr).toMatch(/✔ VM 100 pve1 → pve2: migrated in \d+\.\d s\n/);
    expect((await placement()).get(100)).toEqual({ node: 'pve2', status: 'running' });
    expect(journal().slice(before).filter((e) => e.mutates).map((e) => `${e.node}: ${e.argv.join(' ')}`)).toEqual(['pve1: qm migrate 100 pve2 --online 1']);
  });

  it('moves a running container with a restart (and refuses --online for it)', async () => {
    const online = cli(['--json', 'migrate', '101', '--to', 'pve2', '--online']);
    expect(online.code).toBe(1);
    expect(json(online).result.guests[0]).toMatchObject({ vmid: 101, type: 'lxc', status: 'skipped', error: expect.stringContaining('--restart') });
    const r = cli(['--json', 'migrate', '101', '--to', 'pve2', '--restart']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).result.guests).toEqual([{ vmid: 101, type: 'lxc', from: 'pve1', to: 'pve2', status: 'migrated', durationMs: expect.any(Number) }]);
    expect((await placement()).get(101)).toEqual({ node: 'pve2', status: 'running' });
  });

  it('moves 20 guests four at a time, in the JSON contract of CLI.md', async () => {
    const before = journal().length;
    const t0 = Date.now();
    const r = cli(['--json', 'migrate', '200-219', '--to', 'pve2', '--online', '--parallel', '4']);
    const ms = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = json(r);
    expect(Object.keys(doc).sort()).toEqual(['command', 'ok', 'result', 'schemaVersion', 'warnings']);
    expect(doc).toMatchObject({ schemaVersion: 1, command: 'migrate', ok: true, warnings: [] });
    expect(doc.result.guests).toHaveLength(20);
    for (const [i, g] of (doc.result.guests as any[]).entries()) {
      expect(Object.keys(g).sort()).toEqual(['durationMs', 'from', 'status', 'to', 'type', 'vmid']);
      expect(g).toMatchObject({ vmid: 200 + i, type: 'qemu', from: 'pve1', to: 'pve2', status: 'migrated' });
      expect(Number.isInteger(g.durationMs)).toBe(true);
    }
    const where = await placement();
    for (let i = 0; i < 20; i++) expect(where.get(200 + i)).toEqual({ node: 'pve2', status: i % 2 === 0 ? 'running' : 'stopped' });
    // how many migrations ran at once, from the journal's end times and durations; the journal's
    // clock readings are a few ms apart from the process's own, so touching intervals are trimmed
    const SLACK_MS = 100;
    const runs = journal().slice(before).filter((e) => e.mutates).map((e) => ({ end: Date.parse(e.time) - SLACK_MS, start: Date.parse(e.time) - (e.durationMs ?? 0) + SLACK_MS }));
    expect(runs).toHaveLength(20);
    const overlap = Math.max(...runs.map((a) => runs.filter((b) => b.start < a.end && b.end > a.start && b.start <= a.start).length));
    // never more than --parallel at once, and more than one: how close to 4 it gets is a speed, measured in test/bench/migrate.run.ts
    expect(overlap).toBeLessThanOrEqual(4);
    expect(overlap).toBeGreaterThanOrEqual(2);
    log(`20 guests, --parallel 4: ${ms} ms`);
  });

  it('a guest that fails does not stop the others', async () => {
    // 300 takes a few seconds (4 GiB at 64 MiB/s, scaled); 301 gets locked while 300 moves
    const args = [path.join(ROOT, 'bin', 'pvx.js'), '-i', info.inventory, '--json', 'migrate', '300-302', '--to', 'pve1', '--online', '--bwlimit', '64'];
    const run = runProcess(process.execPath, args, { env: { ...env, NO_COLOR: '1' }, timeoutMs: 120_000 });
    await until('VM 300 migrating', async () => ((await sh('pve2', ['qm', 'config', '300'])).includes('lock: migrate') ? true : undefined), 30_000);
    await sh('pve2', ['qm', 'set', '301', '--lock', 'backup']);
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.result.guests.map((g: any) => [g.vmid, g.status, g.error])).toEqual([
      [300, 'migrated', undefined],
      [301, 'failed', 'VM is locked (backup)'],
      [302, 'migrated', undefined],
    ]);
    expect(doc.error).toMatchObject({ code: 'MIGRATE_INCOMPLETE', exitCode: 1, message: '1 of 3 guest(s) did not move to pve1: 1 failed' });
    const where = await placement();
    expect([where.get(300)?.node, where.get(301)?.node, where.get(302)?.node]).toEqual(['pve1', 'pve2', 'pve1']);
    expect(journal().filter((e) => e.mutates && e.argv[2] === '301').map((e) => e.argv.join(' '))).toEqual(['qm migrate 301 pve1 --bwlimit 65536']);
    await sh('pve2', ['qm', 'unlock', '301']);
  });

  it('an HA-managed guest is requested through ha-manager and followed until the CRM has moved it', async () => {
    await sh('pve1', ['ha-manager', 'add', 'vm:400']);
    await until('vm:400 started by the CRM', async () => (/^service vm:400 \(pve1, started\)$/m.test(await sh('pve1', ['ha-manager', 'status'])) ? true : undefined), 30_000);
    const r = cli(['--json', 'migrate', '400', '--to', 'pve2']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).result.guests).toEqual([{ vmid: 400, type: 'qemu', from: 'pve1', to: 'pve2', status: 'migrated', durationMs: expect.any(Number) }]);
    expect(journal().filter((e) => e.mutates && e.argv[0] === 'ha-manager').map((e) => `${e.node}: ${e.argv.join(' ')}`)).toEqual(['pve1: ha-manager migrate vm:400 pve2']);
    expect((await placement()).get(400)).toEqual({ node: 'pve2', status: 'running' });
    // pve2 shows the CRM's state as the CRM master last wrote it: wait for that round, and say what it showed
    let shown = '';
    await until('pve2 to show vm:400 started on pve2', async () => {
      shown = await sh('pve2', ['ha-manager', 'status']);
      return /^service vm:400 \(pve2, started\)$/m.test(shown) ? true : undefined;
    }, 30_000).catch(() => undefined);
    expect(shown).toMatch(/^service vm:400 \(pve2, started\)$/m);
  });

  it('with the HA daemons stopped the request times out as failed, and stays queued for the CRM', async () => {
    for (const n of NODES) await sh(n, ['systemctl', 'stop', 'pve-ha-crm']);
    const r = cli(['--json', 'migrate', '400', '--to', 'pve1', '--timeout', '4']);
    expect(r.code).toBe(1);
    const g = json(r).result.guests[0];
    expect(g).toMatchObject({ vmid: 400, type: 'qemu', from: 'pve2', to: 'pve1', status: 'failed' });
    expect(g.error).toBe(
      "the HA stack did not move VM 400 within 4.0 s (--timeout): it is still on pve2 (HA state 'started'). The request stays queued and may still be carried out; check ha-manager status",
    );
    expect(await sh('pve1', ['cat', '/etc/pve/ha/crm_commands'])).toBe('migrate vm:400 pve1\n');
    expect((await placement()).get(400)).toEqual({ node: 'pve2', status: 'running' });
    // once the daemons run again, the CRM carries the queued request out
    for (const n of NODES) await sh(n, ['systemctl', 'start', 'pve-ha-crm']);
    await until('vm:400 back on pve1', async () => ((await placement()).get(400)?.node === 'pve1' ? true : undefined), 60_000);
    await sh('pve1', ['ha-manager', 'remove', 'vm:400']);
  });

  it('bad selectors and unknown VMIDs are exit 2, and nothing mutating runs', async () => {
    const before = journal().length;
    const syntax = cli(['--json', 'migrate', '100-', 'all@', '5', '--to', 'pve2']);
    expect(syntax.code).toBe(2);
    expect(json(syntax).error.message).toBe(
      "3 problems: '100-' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>; 'all@': no node name after all@; '5' is not a VMID (VMIDs are whole numbers from 100 to 999999999)",
    );
    expect(journal().length).toBe(before);
    const unknown = cli(['--json', 'migrate', '100', '999', '600-650', '--to', 'pve1', '--online']);
    expect(unknown.code).toBe(2);
    expect(json(unknown).error).toMatchObject({ code: 'USAGE', exitCode: 2, message: 'no such guest(s) in the cluster: 999, 600-650' });
    expect(journal().slice(before).filter((e) => e.mutates)).toEqual([]);
    expect((await placement()).get(100)?.node).toBe('pve2');
  });

  it('--dry-run prints the plan of CLI.md with the exact native commands', async () => {
    const before = journal().length;
    const r = cli(['--json', '--dry-run', 'migrate', '100,101', '--to', 'pve3', '--restart']);
    expect(r.code).toBe(1);
    const doc = json(r);
    expect(doc.result.plan).toEqual([{ node: 'pve2', title: 'migrate CT 101 (ct101) with a restart to pve3', command: ['pct', 'migrate', '101', 'pve3', '--restart', '1'], mutates: true }]);
    expect(doc.result.skipped).toEqual([
      { vmid: 100, type: 'qemu', from: 'pve2', to: 'pve3', status: 'skipped', durationMs: 0, error: 'running VM: qm has no restart migration; use --online (live migration)' },
    ]);
    expect(journal().slice(before).filter((e) => e.mutates)).toEqual([]);
    expect((await placement()).get(101)?.node).toBe('pve2');
  });

  it('drains a node with the README script, run as-is', async () => {
    const script = readFileSync(path.join(ROOT, 'examples', 'drain-node.sh'), 'utf8');
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(`\`\`\`sh\n${script}\`\`\``);
    const bin = path.join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'pvx'), `#!/bin/sh\nexec '${process.execPath}' '${path.join(ROOT, 'bin', 'pvx.js')}' "$@"\n`);
    chmodSync(path.join(bin, 'pvx'), 0o755);
    const r = await runProcess('sh', [path.join(ROOT, 'examples', 'drain-node.sh'), 'pve3', 'pve1', '2'], {
      cwd: dir,
      env: { ...env, NO_COLOR: '1', PATH: `${bin}:${process.env['PATH'] ?? ''}`, PVX_INVENTORY: info.inventory },
      timeoutMs: 120_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        '500\tqemu\tpve3\tpve1\tmigrated\t',
        '501\tqemu\tpve3\tpve1\tmigrated\t',
        '502\tlxc\tpve3\tpve1\tmigrated\t',
        '503\tlxc\tpve3\tpve1\tmigrated\t',
        'pve3 is drained: every guest runs on pve1',
      ].sort(),
    );
    const where = await placement();
    expect([...where].filter(([, w]) => w.node === 'pve3')).toEqual([]);
    expect([500, 501, 502, 503].map((id) => where.get(id))).toEqual([
      { node: 'pve1', status: 'running' },
      { node: 'pve1', status: 'stopped' },
      { node: 'pve1', status: 'running' },
      { node: 'pve1', status: 'stopped' },
    ]);
  });
});
