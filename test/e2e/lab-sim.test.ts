/**
 * The simulated PVE tools on a lab of their own (e2eb, 10.77.12.0/24, 3 nodes; real sshd, real
 * corosync): create and join with the sim's pvecm over ssh, quorum and membership from corosync,
 * a crashed corosync, a partition that makes /etc/pve read-only, join refusals, a live migration,
 * delnode. Needs root and a built dist/ (the nodes run dist/lab/sim/main.js).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labFault, labUp, type LabInfo } from '../../src/lab/index.js';
import {
  classifyPvecmAdd,
  classifyPvecmCreate,
  classifyPvecmDelnode,
  parseJoinInfo,
  parseMigrationLog,
  parsePvecmNodes,
  parsePvecmStatus,
  parseQmList,
} from '../../src/pve/parse/index.js';
import { runProcess, type ProcessResult } from '../../src/lab/process.js';

const LAB = 'e2eb';
const SUBNET = '10.77.12.0/24';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const timings: Record<string, number> = {};

let info: LabInfo;
let key: string;
let knownHosts: string;
let password: string;
const addr: Record<string, string> = {};

/** Run a shell command on a node over ssh, as pvx would (the lab's client key and known_hosts). */
async function sh(node: string, cmd: string, input?: string): Promise<ProcessResult> {
  const host = addr[node] ?? node;
  return runProcess('ssh', ['-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', `root@${host}`, cmd], {
    timeoutMs: 150_000,
    ...(input !== undefined ? { input } : {}),
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function status(node: string): Promise<{ code: number; parsed?: ReturnType<typeof parsePvecmStatus> }> {
  const r = await sh(node, 'pvecm status');
  try {
    return { code: r.exitCode, parsed: parsePvecmStatus(r.stdout) };
  } catch {
    return { code: r.exitCode };
  }
}

async function fingerprintOf(node: string): Promise<string> {
  const r = await sh(node, 'pvesh get /cluster/config/join --output-format json');
  expect(r.exitCode).toBe(0);
  const join = parseJoinInfo(r.stdout);
  const fp = join.nodes.find((n) => n.name === node)?.fingerprint;
  if (!fp) throw new Error(`no fingerprint for ${node}`);
  return fp;
}

describe.skipIf(!isRoot)('simulated PVE tools on a real lab', () => {
  beforeAll(async () => {
    const t = Date.now();
    info = await labUp({ name: LAB, nodes: 3, subnet: SUBNET }, (l) => void labLog.push(l));
    timings['lab up (3 nodes)'] = Date.now() - t;
    for (const n of info.nodes) addr[n.name] = n.address;
    const inv = readFileSync(info.inventory, 'utf8');
    key = /identityFile:\s*(\S+)/.exec(inv)?.[1] ?? '';
    knownHosts = /knownHostsFile:\s*(\S+)/.exec(inv)?.[1] ?? '';
    password = readFileSync(info.rootPasswordFile, 'utf8').replace(/\n$/, '');
  });

  afterAll(async () => {
    await labDown(LAB, (l) => void labLog.push(l));
    // timings of this run, for the closing note
    process.stdout.write(`lab-sim timings (ms): ${JSON.stringify(timings)}\n`);
  });

  it('starts as standalone PVE nodes', async () => {
    const v = await sh('pve1', 'pveversion');
    expect(v.stdout).toMatch(/^pve-manager\/8\.4\.11\/[0-9a-f]{16} \(running kernel: \S+\)\n$/);
    const s = await sh('pve1', 'pvecm status');
    expect(s.exitCode).not.toBe(0);
    expect(s.stderr).toBe("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n");
    const cs = await sh('pve1', 'pvesh get /cluster/status --output-format json');
    expect(JSON.parse(cs.stdout)).toEqual([expect.objectContaining({ type: 'node', name: 'pve1', nodeid: 0, local: 1, online: 1 })]);
  });

  it('creates a cluster on pve1 with the real corosync behind it', async () => {
    const t = Date.now();
    const r = await sh('pve1', 'pvecm create e2eb');
    timings['pvecm create'] = Date.now() - t;
    expect(r.exitCode).toBe(0);
    expect(classifyPvecmCreate({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode })).toEqual({ kind: 'created', authkeyGenerated: true });
    expect(r.stdout).toContain('Writing corosync config to /etc/pve/corosync.conf\nRestart corosync and cluster filesystem\n');
    const s = await until('pve1 quorate', async () => {
      const x = await status('pve1');
      return x.code === 0 && x.parsed?.quorum.quorate ? x.parsed : undefined;
    });
    expect(s.cluster).toEqual({ name: 'e2eb', configVersion: 1, transport: 'knet', secureAuth: true });
    expect(s.members).toEqual([expect.objectContaining({ nodeid: 1, address: addr['pve1'], local: true })]);
    const again = await sh('pve1', 'pvecm create e2eb');
    expect(again.stderr).toBe("cluster config '/etc/pve/corosync.conf' already exists\n");
  });

  it('refuses a join from a node with guests, changing nothing and still exiting 0', async () => {
    expect((await sh('pve3', 'qm create 300 --name guest300 --memory 256 --scsi0 local-lvm:1')).exitCode).toBe(0);
    const fp = await fingerprintOf('pve1');
    const r = await sh('pve3', `pvecm add ${addr['pve1']} --fingerprint ${fp}`, `${password}\n`);
    expect(r.exitCode).toBe(0);
    expect(classifyPvecmAdd({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode })).toEqual({ kind: 'refused', reasons: ['this host already contains virtual guests'] });
    expect(r.stderr).toBe('Check if node may join a cluster failed!\n');
    expect((await sh('pve3', 'test -e /etc/corosync/authkey || echo absent')).stdout).toBe('absent\n');
    expect((await sh('pve3', 'qm destroy 300')).exitCode).toBe(0);
  });

  it('fails a join with a wrong password after the task started, with exit code 0', async () => {
    const fp = await fingerprintOf('pve1');
    const r = await sh('pve2', `pvecm add pve1 --fingerprint ${fp}`, 'not-the-password\n');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("Establishing API connection with host 'pve1'\n");
    expect(r.stderr).toBe('401 authentication failure\n');
    expect(classifyPvecmAdd({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode }).kind).toBe('auth-failed');
    const wrongFp = await sh('pve2', `pvecm add pve1 --fingerprint ${'AB:'.repeat(31)}AB`, `${password}\n`);
    expect(wrongFp.stderr).toBe(`fingerprint '${fp}' not verified, abort!\n`);
    const noPw = await sh('pve2', 'pvecm add pve1 </dev/null');
    expect({ code: noPw.exitCode, err: noPw.stderr }).toEqual({ code: 0, err: 'EOF while reading password\n' });
  });

  it('joins pve2 and pve3 with the password on stdin and the pinned fingerprint', async () => {
    const fp = await fingerprintOf('pve1');
    for (const node of ['pve2', 'pve3']) {
      const t = Date.now();
      const r = await sh(node, `pvecm add ${addr['pve1']} --fingerprint ${fp}`, `${password}\n`);
      timings[`pvecm add ${node}`] = Date.now() - t;
      expect(r.exitCode).toBe(0);
      expect(classifyPvecmAdd({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode })).toEqual({ kind: 'joined', node, forced: false, warnings: [] });
      const lines = r.stdout.split('\n');
      expect(lines.slice(0, 6)).toEqual([
        `Establishing API connection with host '${addr['pve1']}'`,
        'Login succeeded.',
        'check cluster join API version',
        `No cluster network links passed explicitly, fallback to local node IP '${addr[node]}'`,
        'Request addition of this node',
        'Join request OK, finishing setup locally',
      ]);
      expect(r.stdout).toMatch(/\nwaiting for quorum\.\.\.OK\n|\n\(re\)generate node files\n/);
      expect(r.stdout.endsWith(`generated new node certificate, restart pveproxy and pvedaemon services\nsuccessfully added node '${node}' to cluster.\n`)).toBe(true);
    }
  });

  it('shows 3 of 3 quorate on every node, from corosync', async () => {
    for (const node of ['pve1', 'pve2', 'pve3']) {
      const s = await until(`${node} sees 3 members`, async () => {
        const x = await status(node);
        return x.code === 0 && x.parsed?.quorum.nodes === 3 ? x.parsed : undefined;
      });
      expect(s.cluster).toMatchObject({ name: 'e2eb', configVersion: 3 });
      expect(s.quorum).toMatchObject({ quorate: true, expectedVotes: 3, totalVotes: 3, quorum: 2 });
      expect(s.members.find((m) => m.local)?.address).toBe(addr[node]);
    }
    const nodes = parsePvecmNodes((await sh('pve2', 'pvecm nodes')).stdout);
    expect(nodes.members.map((m) => m.name)).toEqual(['pve1', 'pve2', 'pve3']);
    const cs = JSON.parse((await sh('pve3', 'pvesh get /cluster/status --output-format json')).stdout) as Array<Record<string, unknown>>;
    expect(cs.find((e) => e['type'] === 'cluster')).toEqual({ type: 'cluster', id: 'cluster', name: 'e2eb', nodes: 3, quorate: 1, version: 3 });
    expect(cs.filter((e) => e['type'] === 'node' && e['online'] === 1)).toHaveLength(3);
  });

  it('stays quorate with 2 of 3 when one corosync crashes', async () => {
    await labFault(LAB, 'pve3', 'kill-corosync', undefined, (l) => void labLog.push(l));
    const s = await until('pve1 sees 2 members', async () => {
      const x = await status('pve1');
      return x.parsed?.quorum.nodes === 2 ? x : undefined;
    });
    expect(s.code).toBe(0);
    expect(s.parsed?.quorum).toMatchObject({ quorate: true, totalVotes: 2, expectedVotes: 3 });
    await labFault(LAB, 'pve3', 'heal', undefined, (l) => void labLog.push(l));
    await until('3 members again', async () => ((await status('pve1')).parsed?.quorum.nodes === 3 ? true : undefined));
  });

  it('partitions a node whose corosync traffic is blocked: its /etc/pve turns read-only', async () => {
    await labFault(LAB, 'pve3', 'block-udp', '5405', (l) => void labLog.push(l));
    const s3 = await until('pve3 not quorate', async () => {
      const x = await status('pve3');
      return x.code === 2 ? x : undefined;
    });
    expect(s3.parsed?.quorum).toMatchObject({ quorate: false, nodes: 1, activityBlocked: true });
    // a new file each try: pmxcfs learns of the lost quorum a moment after pvecm status shows it, and a
    // file created in that moment would answer the next touch with "setting times of"
    let tries = 0;
    const ro = await until('pve3 /etc/pve read-only', async () => {
      tries++;
      const r = await sh('pve3', `touch /etc/pve/probe-${tries} 2>&1; echo "rc=$?"`);
      return r.stdout.includes('rc=1') ? r : undefined;
    });
    // pmxcfs refuses writes without quorum with EACCES (dcdb.c dcdb_send_fuse_message), not EROFS
    expect(ro.stdout).toContain(`touch: cannot touch '/etc/pve/probe-${tries}': Permission denied`);
    expect((await sh('pve3', 'qm create 310 --memory 128')).stderr).toBe('cluster not ready - no quorum?\n');
    // the other side forms its own membership of two, quorate (each side's corosync notices on its own token timeout)
    const pick = (x: Awaited<ReturnType<typeof status>>) => ({ code: x.code, nodes: x.parsed?.quorum.nodes, quorate: x.parsed?.quorum.quorate });
    let last = pick(await status('pve1'));
    await until('pve1 quorate with 2 nodes', async () => {
      last = pick(await status('pve1'));
      return last.code === 0 && last.nodes === 2 && last.quorate === true ? true : undefined;
    }).catch(() => undefined);
    expect(last).toEqual({ code: 0, nodes: 2, quorate: true });
    await labFault(LAB, 'pve3', 'heal', undefined, (l) => void labLog.push(l));
    await until('pve3 quorate and writable', async () => {
      const x = await status('pve3');
      if (x.code !== 0 || x.parsed?.quorum.nodes !== 3) return undefined;
      const w = await sh('pve3', 'touch /etc/pve/probe && rm /etc/pve/probe && echo ok');
      return w.stdout === 'ok\n' ? true : undefined;
    });
    await sh('pve3', 'rm -f /etc/pve/probe-*');
  });

  it('live-migrates a VM on shared storage and moves its config and running state', async () => {
    expect((await sh('pve1', 'qm create 100 --name vm100 --memory 1024 --scsi0 labshare:4 && qm start 100')).exitCode).toBe(0);
    const r = await sh('pve1', 'PVX_SIM_TIME_SCALE=0.05 qm migrate 100 pve2 --online');
    expect(r.exitCode).toBe(0);
    const log = parseMigrationLog(r.stdout, r.stderr);
    expect(log).toMatchObject({ outcome: 'success', guestType: 'vm', vmid: 100, target: 'pve2', targetIp: addr['pve2'] });
    expect((await sh('pve1', 'qm list')).stdout).toBe('');
    expect(parseQmList((await sh('pve2', 'qm list')).stdout)).toEqual({ vms: [expect.objectContaining({ vmid: 100, status: 'running' })], unrecognized: [] });
    const running = await sh('pve2', 'qm migrate 100 pve3');
    expect(running.stderr).toBe("can't migrate running VM without --online\n");
  });

  it('removes a stopped node with delnode (CS_ERR_NOT_EXIST is harmless)', async () => {
    await labFault(LAB, 'pve3', 'stop-corosync', undefined, (l) => void labLog.push(l));
    await until('pve1 sees 2 members', async () => ((await status('pve1')).parsed?.quorum.nodes === 2 ? true : undefined));
    expect((await sh('pve1', 'pvecm delnode pve1')).stderr).toBe('Cannot delete myself from cluster!\n');
    const r = await sh('pve1', 'pvecm delnode pve3');
    expect(classifyPvecmDelnode({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode })).toMatchObject({ kind: 'removed' });
    const s = await until('expected votes 2', async () => {
      const x = await status('pve2');
      return x.parsed?.quorum.expectedVotes === 2 ? x.parsed : undefined;
    });
    expect(s.cluster?.configVersion).toBe(4);
    expect(s.quorum.quorate).toBe(true);
  });
});
