/**
 * `pvx preflight` end to end: the built CLI over real ssh against a lab of its own (e2ep,
 * 10.77.13.0/24), one fault at a time, each healed before the next. Needs root and a built dist/.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labPaths, labUp, type LabInfo } from '../../src/lab/index.js';
import { runProcess } from '../../src/lab/process.js';

const NAME = 'e2ep';
const SUBNET = '10.77.13.0/24';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const BIN = path.resolve('bin/pvx.js');
const logLines: string[] = [];
const log = (line: string): void => void logLines.push(line);

interface Check {
  id: string;
  node: string;
  peer?: string;
  port?: number;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  message: string;
  hint?: string;
}

let info: LabInfo;
let scratch: string;

/** Run the built CLI, cold (a fresh control-socket directory), and parse its JSON document. */
async function preflight(...args: string[]): Promise<{ code: number; checks: Check[]; doc: Record<string, unknown>; stderr: string }> {
  const runtime = await mkdtemp(path.join(scratch, 'rt-'));
  const r = await runProcess(process.execPath, [BIN, '-i', info.inventory, '--json', 'preflight', ...args], {
    env: { PVX_RUNTIME_DIR: runtime, PVX_STATE_DIR: path.join(scratch, 'state'), NO_COLOR: '1' },
    timeoutMs: 90_000,
  });
  await closeMasters(runtime);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${r.exitCode}): ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
  }
  const result = doc['result'] as { checks?: Check[] } | undefined;
  return { code: r.exitCode, checks: result?.checks ?? [], doc, stderr: r.stderr };
}

/** Close the ssh masters a cold run left behind (they would otherwise linger for ControlPersist). */
async function closeMasters(runtime: string): Promise<void> {
  const paths = labPaths(NAME);
  await Promise.all(
    info.nodes.map((n) =>
      runProcess('ssh', ['-F', '/dev/null', '-o', `ControlPath=${path.join(runtime, 'cm-%C')}`, '-o', `UserKnownHostsFile=${paths.knownHosts}`, '-l', 'root', '-O', 'exit', n.address], {
        timeoutMs: 10_000,
      }),
    ),
  );
}

const notOk = (cs: readonly Check[]) => cs.filter((c) => c.status !== 'ok');
const where = (c: Check) => `${c.id} ${c.node}${c.peer ? `>${c.peer}` : ''}${c.port !== undefined ? `:${c.port}` : ''} ${c.status}`;

/** Run a command inside a lab node (no ssh), failing loudly. */
async function inNode(node: string, argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await labExec(NAME, node, argv, { timeoutMs: 60_000 });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!isRoot)('pvx preflight on a lab (e2ep)', () => {
  beforeAll(async () => {
    if (!existsSync(path.resolve('dist/cli.js'))) throw new Error('build first: npm run build');
    scratch = await mkdtemp(path.join(tmpdir(), 'pvx-e2ep-'));
    await labDown(NAME, log);
    info = await labUp({ name: NAME, nodes: 3, subnet: SUBNET }, log);
  });

  afterAll(async () => {
    await labDown(NAME, log);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const n of info.nodes) await labFault(NAME, n.name, 'heal', undefined, log);
    // the one-way block of the UDP test is a table of this test's own, not a lab fault
    for (const n of info.nodes) await inNode(n.name, ['sh', '-c', 'nft delete table inet pvxe2ep 2>/dev/null; true']);
  });

  it('passes every check of create on a healthy lab', async () => {
    const r = await preflight('--for', 'create', '--cluster-name', 'e2ep');
    expect(notOk(r.checks).map(where)).toEqual([]);
    expect(r.code).toBe(0);
    expect(new Set(r.checks.map((c) => c.id))).toEqual(
      new Set(['ssh', 'node-names', 'pve-version', 'ntp-sync', 'clock-skew', 'hostname-resolution', 'udp-corosync', 'link-latency', 'not-clustered', 'no-guests', 'cluster-name', 'two-node']),
    );
    expect(r.checks.filter((c) => c.id === 'udp-corosync')).toHaveLength(6);
  });

  it('catches one UDP port inside the range blocked in one direction only', async () => {
    // drop pve1 → pve2 on 5407 at pve2's input; pve2 → pve1 on 5407 stays open
    const rule = 'add table inet pvxe2ep\nadd chain inet pvxe2ep in { type filter hook input priority 0; policy accept; }\nadd rule inet pvxe2ep in ip saddr 10.77.13.11 udp dport 5407 drop\n';
    const nft = await inNode('pve2', ['sh', '-c', `printf '${rule}' | nft -f -`]);
    expect(nft.stderr).toBe('');
    const r = await preflight();
    expect(r.code).toBe(3);
    expect(notOk(r.checks).map(where)).toEqual(['udp-corosync pve1>pve2:5407 fail']);
    const [f] = notOk(r.checks);
    expect(f?.message).toBe('pve1 → pve2 udp/5407 is blocked: nothing arrived within 1.5 s');
    expect(r.checks.find((c) => c.id === 'udp-corosync' && c.node === 'pve2' && c.peer === 'pve1')?.status).toBe('ok');
    expect((r.doc['error'] as { code: string }).code).toBe('PREFLIGHT_FAILED');
  });

  it("catches the lab's block-udp fault (one port, both directions of one node)", async () => {
    await labFault(NAME, 'pve3', 'block-udp', '5409', log);
    const r = await preflight();
    expect(r.code).toBe(3);
    expect(notOk(r.checks).map(where).sort()).toEqual([
      'udp-corosync pve1>pve3:5409 fail',
      'udp-corosync pve2>pve3:5409 fail',
      'udp-corosync pve3>pve1:5409 fail',
      'udp-corosync pve3>pve2:5409 fail',
    ]);
  });

  it('catches a skewed clock and names the node', async () => {
    await labFault(NAME, 'pve3', 'skew', '30', log);
    const r = await preflight();
    expect(r.code).toBe(3);
    const skew = r.checks.filter((c) => c.id === 'clock-skew');
    expect(skew.map((c) => `${c.node} ${c.status}`)).toEqual(['pve1 ok', 'pve2 ok', 'pve3 fail']);
    expect(skew[2]?.message).toMatch(/^clock is \+(29|30)\.\d s from the other nodes' median/);
    // chrony on the node reports the same offset
    expect(r.checks.find((c) => c.id === 'ntp-sync' && c.node === 'pve3')?.status).toBe('warn');
  });

  it('warns on a small skew and still passes (exit 0)', async () => {
    await labFault(NAME, 'pve2', 'skew', '1', log);
    const r = await preflight();
    expect(r.checks.find((c) => c.id === 'clock-skew' && c.node === 'pve2')?.status).toBe('warn');
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('catches a PVE version mismatch', async () => {
    await labFault(NAME, 'pve2', 'pve-version', '9.1.7', log);
    const r = await preflight();
    expect(r.code).toBe(3);
    expect(notOk(r.checks).map(where)).toEqual(['pve-version pve2>pve1 fail']);
    expect(notOk(r.checks)[0]?.message).toMatch(/^runs pve-manager 9\.1\.7, but pve1 runs 8\.4\.\d+: the PVE release \(9\.1 vs 8\.4\) must match$/);
  });

  it('catches a node name on 127.0.1.1', async () => {
    await labFault(NAME, 'pve1', 'hosts-loopback', undefined, log);
    const r = await preflight();
    expect(r.code).toBe(3);
    expect(notOk(r.checks).map(where)).toEqual(['hostname-resolution pve1 fail']);
    expect(notOk(r.checks)[0]?.message).toBe("'pve1' resolves only to 127.0.1.1 (loopback); PVE needs a non-loopback address");
  });

  it('catches guests on a joining node', async () => {
    const made = await inNode('pve3', ['qm', 'create', '100', '--name', 'web01', '--memory', '512']);
    if (made.exitCode === 127) {
      // no simulated qm in this build: the guest config pvecm add counts, written where pmxcfs keeps it
      const w = await inNode('pve3', ['sh', '-c', "printf 'memory: 512\\nname: web01\\n' > /etc/pve/nodes/pve3/qemu-server/100.conf"]);
      expect(w.exitCode).toBe(0);
    } else {
      expect(made.exitCode).toBe(0);
    }
    try {
      const r = await preflight('--for', 'create', '--cluster-name', 'e2ep');
      expect(r.code).toBe(3);
      expect(notOk(r.checks).map(where)).toEqual(['no-guests pve3 fail']);
      expect(notOk(r.checks)[0]?.message).toBe('has 1 guest(s): VM 100 (web01); a node with guests cannot join');
      // the node that creates may keep its guests
      const first = await preflight('--for', 'create', '--nodes', 'pve3,pve1');
      expect(notOk(first.checks).map(where)).toEqual(['two-node pve3>pve1 warn']);
      expect(first.code).toBe(0);
    } finally {
      const gone = await inNode('pve3', ['qm', 'destroy', '100']);
      if (gone.exitCode !== 0) await inNode('pve3', ['rm', '-f', '/etc/pve/nodes/pve3/qemu-server/100.conf']);
    }
  });

  it('catches a node that is down and reports its other checks as not run', async () => {
    await labFault(NAME, 'pve2', 'down', undefined, log);
    const r = await preflight();
    expect(r.code).toBe(3);
    const fails = r.checks.filter((c) => c.status === 'fail');
    expect(fails.map(where)).toEqual(['ssh pve2 fail']);
    expect(fails[0]?.message).toMatch(/pve2/);
    const about2 = r.checks.filter((c) => c.id !== 'ssh' && (c.node === 'pve2' || c.peer === 'pve2'));
    expect(about2.length).toBeGreaterThan(0);
    expect(about2.every((c) => c.status === 'skip')).toBe(true);
    expect(r.checks.filter((c) => c.id === 'udp-corosync' && c.status === 'ok').map(where)).toEqual(['udp-corosync pve1>pve3 ok', 'udp-corosync pve3>pve1 ok']);
  });

  // last: it leaves pve1 in a cluster, which nothing heals
  it('reads a real corosync member: quorum, link state, and probes only the ports corosync leaves free', async () => {
    const made = await inNode('pve1', ['pvecm', 'create', 'e2ep']);
    expect(made.exitCode).toBe(0);
    const join = await preflight('--for', 'join', '--nodes', 'pve2,pve3', '--via', 'pve1');
    expect(join.checks.filter((c) => c.status === 'fail' || c.status === 'warn').map(where)).toEqual([]);
    expect(join.code).toBe(0);
    expect(join.checks.find((c) => c.id === 'quorum')).toMatchObject({ node: 'pve1', status: 'ok', message: "cluster 'e2ep' is quorate: 1 of 1 votes, quorum 1" });
    expect(join.checks.filter((c) => c.id === 'udp-corosync' && c.peer === 'pve1').map((c) => `${c.node} ${c.status} ${c.message.split(':')[0]}`)).toEqual([
      'pve2 skip udp/5405 not probed',
      'pve2 ok udp/5406-5412 reach pve1 (10.77.13.12 → 10.77.13.11)',
      'pve3 skip udp/5405 not probed',
      'pve3 ok udp/5406-5412 reach pve1 (10.77.13.13 → 10.77.13.11)',
    ]);
    expect(join.checks.find((c) => c.id === 'two-node')).toMatchObject({ status: 'ok', message: 'the cluster would have 3 vote(s)' });
    // the probe left corosync alone
    const still = await inNode('pve1', ['corosync-quorumtool', '-s']);
    expect(still.exitCode).toBe(0);

    const pair = await preflight('--for', 'join', '--nodes', 'pve2', '--via', 'pve1');
    expect(notOk(pair.checks).map(where)).toEqual(['udp-corosync pve2>pve1 skip', 'two-node pve1>pve2 warn']);
    expect(pair.code).toBe(0);

    const other = await preflight('--for', 'create', '--cluster-name', 'other');
    expect(other.code).toBe(3);
    expect(other.checks.filter((c) => c.status === 'fail').map(where)).toEqual(['not-clustered pve1 fail']);

    await labFault(NAME, 'pve1', 'stop-corosync', undefined, log);
    const down = await preflight('--for', 'join', '--nodes', 'pve2', '--via', 'pve1');
    expect(down.code).toBe(3);
    expect(down.checks.find((c) => c.id === 'quorum')).toMatchObject({ status: 'fail', message: "corosync is not running on pve1 (cluster 'e2ep')" });
  });
});
