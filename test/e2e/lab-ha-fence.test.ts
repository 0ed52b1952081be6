/**
 * The lab's HA daemons as two units and their watchdog fencing, on lab h4a (PVE 9.1.7,
 * 10.88.6.0/24), 3 nodes formed with the sim's pvecm. pve-ha-crm and pve-ha-lrm run as their own
 * processes and keep running when pve-cluster stops; a node whose LRM is active (an HA guest runs
 * there) and that loses quorum is reset by its watchdog (the lab's `down`), and the CRM on the
 * quorate side fences it and recovers the guest elsewhere; a node without active HA services
 * that loses quorum is not fenced. The CRM master holds pmxcfs's ha_manager_lock: one that stops
 * hands over at once, one cut off keeps the role from the others until its lock expires. Needs root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labStatus, labUp, type LabInfo } from '../../src/lab/index.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';

const LAB = 'h4a';
const NODES = ['pve1', 'pve2', 'pve3'];
// shortened from the 60 s of real nodes (and of the lab's default) so that a fence takes seconds
const WATCHDOG_S = 6;
const COROSYNC_PORTS = '5404-5412';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function sh(node: string, argv: string[]): Promise<string> {
  const r = await labExec(LAB, node, argv, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

const haLog = (node: string): Promise<string> => sh(node, ['sh', '-c', 'cat /var/log/pve-ha-manager.log 2>/dev/null || true']);
const quorate = async (node: string): Promise<boolean> => /^Quorate: +Yes$/m.test((await labExec(LAB, node, ['pvecm', 'status'])).stdout);

/** What each node's corosync and the lab saw: the message of a quorum wait that timed out. */
async function quorumReport(nodes: readonly string[]): Promise<string> {
  const lab = await labStatus(LAB);
  const seen = await Promise.all(
    nodes.map(async (n) => {
      const l = lab.nodes.find((x) => x.name === n);
      const r = await labExec(LAB, n, ['sh', '-c', 'date +%T; systemctl is-active corosync pve-cluster; corosync-quorumtool -s; corosync-cfgtool -s; tail -n 60 /var/log/pve-ha-manager.log'], { timeoutMs: 30_000 });
      return `--- ${n} (link ${l?.link}, faults [${l?.faults.join(', ')}]):\n${r.stdout}${r.stderr}`;
    }),
  );
  return seen.join('\n');
}

/** Wait until every one of `nodes` is quorate; on a timeout the error says what each node saw. */
async function untilQuorate(what: string, nodes: readonly string[], timeoutMs: number): Promise<void> {
  try {
    await until(what, async () => ((await Promise.all(nodes.map(quorate))).every(Boolean) ? true : undefined), timeoutMs);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${await quorumReport(NODES)}`);
  }
}

interface HaEntry {
  id: string;
  type: string;
  node?: string;
  state?: string;
  crm_state?: string;
  timestamp?: number;
}
async function haStatus(node: string): Promise<HaEntry[]> {
  return JSON.parse(await sh(node, ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json'])) as HaEntry[];
}
async function managerStatus(node: string): Promise<{ master_node?: string; timestamp?: number; node_status?: Record<string, string> }> {
  return JSON.parse(await sh(node, ['cat', '/etc/pve/ha/manager_status'])) as { master_node?: string; timestamp?: number; node_status?: Record<string, string> };
}
async function nodeLink(node: string): Promise<{ link: string; faults: string[] }> {
  const n = (await labStatus(LAB)).nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no ${node} in lab ${LAB}`);
  return { link: n.link, faults: n.faults };
}

describe.skipIf(!isRoot)(`HA daemons and watchdog fencing on the lab (${LAB})`, () => {
  const log: string[] = [];
  let info: LabInfo;

  beforeAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: '10.88.6.0/24', pveVersions: ['9.1.7'], watchdogTimeout: WATCHDOG_S }, (l) => void log.push(l));
    for (const n of NODES) await sh(n, ['sh', '-c', 'echo PVX_SIM_TIME_SCALE=0.05 >> /etc/environment']);
    await formClusterWithPvecm(LAB, info, NODES);
    await sh('pve2', ['qm', 'create', '100', '--name', 'vm100', '--memory', '512', '--scsi0', 'labshare:1']);
  }, 240_000);

  afterAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
  }, 120_000);

  it('runs pve-ha-crm and pve-ha-lrm as two units, each its own process and pid file', async () => {
    for (const n of NODES) {
      expect(await sh(n, ['systemctl', 'is-active', 'pve-ha-crm', 'pve-ha-lrm'])).toBe('active\nactive\n');
      const [crm, lrm] = (await sh(n, ['cat', '/run/pve-ha-crm.pid', '/run/pve-ha-lrm.pid'])).trim().split('\n').map(Number);
      expect(crm).toBeGreaterThan(1);
      expect(lrm).toBeGreaterThan(1);
      expect(crm).not.toBe(lrm);
      expect((await sh(n, ['pve-ha-crm', 'status'])).trim()).toBe('running');
      expect((await sh(n, ['pve-ha-lrm', 'status'])).trim()).toBe('running');
    }
    // one unit stops alone
    await sh('pve3', ['systemctl', 'stop', 'pve-ha-crm']);
    expect((await labExec(LAB, 'pve3', ['systemctl', 'is-active', 'pve-ha-crm'])).stdout).toBe('inactive\n');
    expect(await sh('pve3', ['systemctl', 'is-active', 'pve-ha-lrm'])).toBe('active\n');
    await sh('pve3', ['systemctl', 'start', 'pve-ha-crm']);
    expect(await sh('pve3', ['systemctl', 'is-active', 'pve-ha-crm'])).toBe('active\n');
  });

  it('leaves both HA units running when pve-cluster stops; they log the failed cluster file system update', async () => {
    await sh('pve3', ['systemctl', 'stop', 'pve-cluster']);
    expect((await labExec(LAB, 'pve3', ['systemctl', 'is-active', 'pve-cluster'])).stdout).toBe('inactive\n');
    expect(await sh('pve3', ['systemctl', 'is-active', 'pve-ha-crm', 'pve-ha-lrm'])).toBe('active\nactive\n');
    const failed = 'cluster file system update failed - ipcc_send_rec[1] failed: Connection refused';
    await until('both daemons to log the failed update', async () => {
      const text = await haLog('pve3');
      return new RegExp(`pve-ha-lrm\\[\\d+\\]: ${failed.replace(/[[\]]/g, '\\$&')}`).test(text) && new RegExp(`pve-ha-crm\\[\\d+\\]: ${failed.replace(/[[\]]/g, '\\$&')}`).test(text) ? true : undefined;
    });
    const status = await labExec(LAB, 'pve3', ['systemctl', 'status', 'pve-ha-lrm']);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/^● pve-ha-lrm\.service - PVE Local HA Resource Manager Daemon$/m);
    expect(status.stdout).toContain(failed);
    expect(status.stdout).not.toMatch(/pve-ha-crm\[/);
    await sh('pve3', ['systemctl', 'start', 'pve-cluster']);
    await untilQuorate('pve3 quorate again', ['pve3'], 60_000);
    expect(await sh('pve3', ['systemctl', 'is-active', 'pve-ha-crm', 'pve-ha-lrm'])).toBe('active\nactive\n');
  });

  it('starts an HA guest on pve2 with its LRM active and the watchdog armed', async () => {
    const add = await labExec(LAB, 'pve2', ['ha-manager', 'add', 'vm:100'], { timeoutMs: 60_000 });
    if (add.exitCode !== 0) {
      // who held a lock, as each node sees /etc/pve/priv/lock, and what the HA daemons did meanwhile
      const seen = await Promise.all(NODES.map(async (n) => `${n}:\n${(await labExec(LAB, n, ['sh', '-c', 'ls -la --full-time /etc/pve/priv/lock; date; tail -n 30 /var/log/pve-ha-manager.log'])).stdout}`));
      throw new Error(`pve2: ha-manager add vm:100 failed (${add.exitCode}): ${add.stderr}\n${seen.join('\n')}`);
    }
    await until('vm:100 started on pve2', async () => {
      const s = await haStatus('pve1');
      const svc = s.find((e) => e.id === 'service:vm:100');
      const lrm = s.find((e) => e.id === 'lrm:pve2') as (HaEntry & { status?: string }) | undefined;
      return svc?.node === 'pve2' && svc.state === 'started' && /\(active, watchdog active,/.test(lrm?.status ?? '') ? true : undefined;
    });
    expect((await sh('pve2', ['qm', 'status', '100'])).trim()).toBe('status: running');
    expect(await haLog('pve2')).toMatch(/pve-ha-lrm\[\d+\]: watchdog active$/m);
    // the active LRM holds its node's agent lock in pmxcfs, seen from every node
    expect(await haLog('pve2')).toMatch(/pve-ha-lrm\[\d+\]: successfully acquired lock 'ha_agent_pve2_lock'$/m);
    for (const n of NODES) expect(await sh(n, ['sh', '-c', 'test -d /etc/pve/priv/lock/ha_agent_pve2_lock && echo held'])).toBe('held\n');
  });

  it('fences pve2 when it loses quorum with an active LRM, and the quorate side recovers its guest', async () => {
    await labFault(LAB, 'pve2', 'block-udp', COROSYNC_PORTS, (l) => void log.push(l));
    // pve2's LRM cannot renew its agent lock without quorum and stops updating its watchdog
    await until('pve2 reset by its watchdog (down)', async () => {
      const n = await nodeLink('pve2');
      return n.link === 'down' && n.faults.includes('down') ? true : undefined;
    });
    const pve2 = await haLog('pve2');
    expect(pve2).toMatch(/pve-ha-lrm\[\d+\]: status change active => lost_agent_lock$/m);
    expect(pve2).toMatch(/watchdog-mux\[\d+\]: client \(PID \d+\) watchdog expired - disable watchdog updates$/m);
    const recovered = await until(
      'vm:100 recovered and started on another node',
      async () => {
        const s = await haStatus('pve1');
        const svc = s.find((e) => e.id === 'service:vm:100');
        return svc?.node !== undefined && svc.node !== 'pve2' && svc.state === 'started' ? svc.node : undefined;
      },
      120_000,
    );
    expect(['pve1', 'pve3']).toContain(recovered);
    await until('vm:100 running on its new node', async () => ((await sh(recovered, ['qm', 'status', '100'])).trim() === 'status: running' ? true : undefined));
    const ms = await managerStatus('pve1');
    const master = ms.master_node as string;
    expect(['pve1', 'pve3']).toContain(master);
    const crm = await haLog(master);
    expect(crm).toMatch(/pve-ha-crm\[\d+\]: service 'vm:100': state changed from 'started' to 'fence' \(node = pve2\)$/m);
    expect(crm).toMatch(/pve-ha-crm\[\d+\]: node 'pve2': state changed from 'unknown' => 'fence'$/m);
    expect(crm).toMatch(/pve-ha-crm\[\d+\]: fencing: acknowledged - got agent lock for node 'pve2'$/m);
    // the master took pve2's agent lock itself, once pve2's LRM had stopped renewing it for its lifetime
    expect(crm).toMatch(/pve-ha-crm\[\d+\]: successfully acquired lock 'ha_agent_pve2_lock'$/m);
    expect(crm).toMatch(new RegExp(`pve-ha-crm\\[\\d+\\]: recover service 'vm:100' from fenced node 'pve2' to node '${recovered}'$`, 'm'));
    // the fence was acknowledged only after pve2's watchdog had fired
    const lines = crm.split('\n');
    expect(lines.findIndex((l) => l.includes("fencing: acknowledged - got agent lock for node 'pve2'"))).toBeGreaterThan(lines.findIndex((l) => l.includes("node 'pve2': state changed from 'unknown' => 'fence'")));
    expect(ms.node_status?.['pve2']).toBe('unknown');
    expect(await sh(recovered, ['ls', `/etc/pve/nodes/${recovered}/qemu-server/`])).toContain('100.conf');
  });

  it('does not fence a node without active HA services that loses quorum', async () => {
    await labFault(LAB, 'pve2', 'heal', undefined, (l) => void log.push(l));
    await untilQuorate('pve2 quorate again after heal', ['pve2'], 90_000);
    await until("pve2's LRM idle and alive again", async () => {
      const lrm = (await haStatus('pve1')).find((e) => e.id === 'lrm:pve2') as (HaEntry & { status?: string }) | undefined;
      return /^pve2 \(idle, watchdog standby,/.test(lrm?.status ?? '') ? true : undefined;
    });
    expect(await nodeLink('pve2')).toEqual({ link: 'up', faults: [] });
    const before = (await haLog('pve2')).split('\n').length;
    await labFault(LAB, 'pve2', 'block-udp', COROSYNC_PORTS, (l) => void log.push(l));
    await until('pve2 without quorum', async () => ((await quorate('pve2')) ? undefined : true));
    // the CRM's own clock: wait until it has run well past twice the watchdog timeout since then
    const since = (await managerStatus('pve1')).timestamp ?? 0;
    await until(
      'CRM rounds past the watchdog timeout',
      async () => {
        const ms = await managerStatus('pve1');
        return (ms.timestamp ?? 0) >= since + 2 * WATCHDOG_S + 2 && ms.node_status?.['pve2'] === 'unknown' ? true : undefined;
      },
      120_000,
    );
    expect(await nodeLink('pve2')).toEqual({ link: 'up', faults: ['block-udp 5404-5412'] });
    const after = (await haLog('pve2')).split('\n').slice(before - 1).join('\n');
    expect(after).not.toContain('watchdog expired');
    expect(after).not.toContain('watchdog active');
    expect((await managerStatus('pve1')).node_status?.['pve2']).toBe('unknown');
    await labFault(LAB, 'pve2', 'heal', undefined, (l) => void log.push(l));
  });

  it('hands the master role over at once when the master stops, and only after its lock expired when it vanishes', async () => {
    await untilQuorate('every node quorate', NODES, 90_000);
    const masterNow = async (node: string): Promise<{ master?: string; at: number }> => {
      const ms = await managerStatus(node);
      return { ...(ms.master_node !== undefined ? { master: ms.master_node } : {}), at: ms.timestamp ?? 0 };
    };
    const first = (await masterNow('pve1')).master as string;
    expect(NODES).toContain(first);
    const other = NODES.find((n) => n !== first) as string;
    // a master that stops gives its lock back: a slave takes it within a round or two
    await sh(first, ['systemctl', 'stop', 'pve-ha-crm']);
    expect(await haLog(first)).toMatch(/pve-ha-crm\[\d+\]: voluntary release CRM lock$/m);
    const second = await until('a new master after the stop', async () => {
      const m = await masterNow(other);
      return m.master !== undefined && m.master !== first ? m.master : undefined;
    }, 30_000);
    expect(await haLog(second)).toMatch(/pve-ha-crm\[\d+\]: status change (slave|wait_for_quorum) => master$/m);
    await sh(first, ['systemctl', 'start', 'pve-ha-crm']);
    // the restarted CRM finds the lock taken and stays a slave
    await until(`${first}'s CRM a slave again`, async () => {
      const text = await haLog(first);
      const run = text.slice([...text.matchAll(/pve-ha-crm\[\d+\]: starting server$/gm)].pop()?.index ?? 0);
      return /pve-ha-crm\[\d+\]: status change wait_for_quorum => slave$/m.test(run) ? true : undefined;
    });
    // a master cut off from the others cannot renew its lock, and keeps it until it expires:
    // nobody becomes master before its lifetime (twice the watchdog timeout) has passed
    await labFault(LAB, second, 'block-udp', COROSYNC_PORTS, (l) => void log.push(l));
    const watcher = NODES.find((n) => n !== second) as string;
    // the last round of the cut master the others saw, then the first of its successor
    let lastSeen = 0;
    const third = await until('a new master after the cut', async () => {
      const m = await masterNow(watcher);
      if (m.master === second) lastSeen = Math.max(lastSeen, m.at);
      return m.master !== undefined && m.master !== second ? m : undefined;
    }, 120_000);
    expect(lastSeen).toBeGreaterThan(0);
    // its lock was renewed in that round at the latest, and expires twice the watchdog timeout later
    // (a second less for a round whose status write the others missed)
    expect(third.at - lastSeen).toBeGreaterThanOrEqual(2 * WATCHDOG_S - 1);
    expect(await haLog(third.master as string)).toMatch(/pve-ha-crm\[\d+\]: successfully acquired lock 'ha_manager_lock'$/m);
    await until(`${second}'s CRM gave the role up`, async () => ((await haLog(second)).includes('status change master => lost_manager_lock') ? true : undefined));
    await labFault(LAB, second, 'heal', undefined, (l) => void log.push(l));
  });
});
