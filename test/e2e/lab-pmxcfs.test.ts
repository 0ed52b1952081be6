/**
 * The lab's pmxcfs on a lab of its own (h1a, 10.88.1.0/24, 3 nodes; real sshd, real corosync):
 * each node keeps its own /var/lib/pve-cluster/config.db (read here with sqlite3 on the node), a
 * write on one member is on every member when it returns, a node cut off from corosync has a
 * read-only /etc/pve (EACCES: "Permission denied"), and when a separated node comes back the
 * database with the highest version wins (pve-cluster dcdb.c dcdb_select_leader): its local-mode
 * writes overwrite the cluster when it wrote more, and are lost when it wrote less. The status files
 * .members, .clusterlog and .rrd have pmxcfs's shapes (pve-cluster status.c, logger.c).
 * Needs root and a built dist/ (the nodes run dist/lab/sim/main.js).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labFault, labUp, type LabInfo } from '../../src/lab/index.js';
import { parseJoinInfo, parsePvecmStatus } from '../../src/pve/parse/index.js';
import { runProcess, type ProcessResult } from '../../src/lab/process.js';

const LAB = 'h1a';
const SUBNET = '10.88.1.0/24';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (l: string): void => void labLog.push(l);

let info: LabInfo;
let key: string;
let knownHosts: string;
let password: string;
const addr: Record<string, string> = {};
/** pve1's `.members` version before pve3 is separated */
let membersVersion = 0;

interface Members {
  nodename: string;
  version: number;
  cluster: { name: string; version: number; nodes: number; quorate: number };
  nodelist: Record<string, { id: number; online: number; ip?: string }>;
}

async function members(node: string): Promise<Members> {
  return JSON.parse((await sh(node, 'cat /etc/pve/.members')).stdout) as Members;
}

async function sh(node: string, cmd: string, input?: string): Promise<ProcessResult> {
  return runProcess('ssh', ['-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', `root@${addr[node] ?? node}`, cmd], {
    timeoutMs: 150_000,
    ...(input !== undefined ? { input } : {}),
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One query on the node's own config.db with the sqlite3 shell. */
async function sql(node: string, query: string): Promise<string> {
  const r = await sh(node, `sqlite3 /var/lib/pve-cluster/config.db "${query}"`);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

async function dbVersion(node: string): Promise<number> {
  return Number((await sql(node, "SELECT version FROM tree WHERE inode = 0 AND name = '__version__';")).trim());
}

async function quorate(node: string): Promise<boolean> {
  const r = await sh(node, 'pvecm status');
  try {
    return r.exitCode === 0 && parsePvecmStatus(r.stdout).quorum.quorate && parsePvecmStatus(r.stdout).quorum.nodes === 3;
  } catch {
    return false;
  }
}

async function cat(node: string, file: string): Promise<string | undefined> {
  const r = await sh(node, `cat /etc/pve/${file}`);
  return r.exitCode === 0 ? r.stdout : undefined;
}

/** Cut pve3 off the cluster's corosync traffic until pve3 lost quorum and the others see 2 members. */
async function separatePve3(): Promise<void> {
  await labFault(LAB, 'pve3', 'block-udp', '5405', log);
  await until('pve3 without quorum', async () => ((await sh('pve3', 'pvecm status')).exitCode === 2 ? true : undefined));
  await until('pve1 with 2 members', async () => {
    const r = await sh('pve1', 'pvecm status');
    return r.exitCode === 0 && parsePvecmStatus(r.stdout).quorum.nodes === 2 ? true : undefined;
  });
}

/** On pve3: stop pve-cluster, start `pmxcfs -l` on its own database, run `script`, stop it again. */
async function inLocalMode(script: string): Promise<ProcessResult> {
  const stop = await sh('pve3', 'systemctl stop pve-cluster && pmxcfs -l');
  expect(stop.exitCode, stop.stderr).toBe(0);
  expect(stop.stderr).toContain('[main] notice: forcing local mode (although corosync.conf exists)\n');
  const r = await sh('pve3', script);
  // the local pmxcfs was started by hand: systemctl does not know it
  const end = await sh('pve3', 'kill "$(cat /run/pve-cluster.pid)"; while mountpoint -q /etc/pve; do sleep 0.2; done; systemctl start pve-cluster');
  expect(end.exitCode, end.stderr).toBe(0);
  return r;
}

async function rejoinPve3(): Promise<void> {
  await labFault(LAB, 'pve3', 'heal', undefined, log);
  for (const n of ['pve1', 'pve2', 'pve3']) await until(`${n} quorate with 3`, async () => ((await quorate(n)) ? true : undefined));
}

describe.skipIf(!isRoot)('per-node pmxcfs databases and their sync (lab h1a)', () => {
  beforeAll(async () => {
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: 3, subnet: SUBNET }, log);
    for (const n of info.nodes) addr[n.name] = n.address;
    const inv = readFileSync(info.inventory, 'utf8');
    key = /identityFile:\s*(\S+)/.exec(inv)?.[1] ?? '';
    knownHosts = /knownHostsFile:\s*(\S+)/.exec(inv)?.[1] ?? '';
    password = readFileSync(info.rootPasswordFile, 'utf8').replace(/\n$/, '');
    const create = await sh('pve1', 'pvecm create h1a');
    expect(create.exitCode, create.stderr).toBe(0);
    await until('pve1 quorate', async () => ((await sh('pve1', 'pvecm status')).exitCode === 0 ? true : undefined));
    const join = parseJoinInfo((await sh('pve1', 'pvesh get /cluster/config/join --output-format json')).stdout);
    const fp = join.nodes.find((n) => n.name === 'pve1')?.fingerprint ?? '';
    for (const node of ['pve2', 'pve3']) {
      const r = await sh(node, `pvecm add ${addr['pve1']} --fingerprint ${fp}`, `${password}\n`);
      expect(r.stdout, r.stderr).toContain(`successfully added node '${node}' to cluster.`);
    }
    for (const n of ['pve1', 'pve2', 'pve3']) await until(`${n} quorate with 3`, async () => ((await quorate(n)) ? true : undefined));
  }, 900_000);

  afterAll(async () => {
    await labDown(LAB, log);
  });

  it('keeps a WAL-mode config.db with the tree table on every node, the same tree everywhere', async () => {
    const dumps: string[] = [];
    for (const node of ['pve1', 'pve2', 'pve3']) {
      expect(await sql(node, 'PRAGMA journal_mode;')).toBe('wal\n');
      expect(await sql(node, "SELECT name FROM sqlite_master WHERE type = 'table';")).toBe('tree\n');
      expect(await sql(node, "SELECT inode, parent, type FROM tree WHERE name = '__version__';")).toBe('0|0|8\n');
      expect(await sql(node, "SELECT type FROM tree WHERE parent = 0 AND name IN ('corosync.conf', 'nodes') ORDER BY name;")).toBe('8\n4\n');
      // the node folders of all three, created through pvecm add on each
      expect(await sql(node, "SELECT name FROM tree WHERE parent = (SELECT inode FROM tree WHERE parent = 0 AND name = 'nodes') ORDER BY name;")).toBe('pve1\npve2\npve3\n');
      // the HA stack keeps rewriting its status files and taking its locks: the rest must be equal
      dumps.push(
        await sql(
          node,
          "SELECT inode, parent, name, hex(data) FROM tree WHERE inode <> 0 AND name NOT LIKE '%.tmp.%' AND name NOT IN ('lrm_status', 'manager_status') AND parent NOT IN (SELECT inode FROM tree WHERE name = 'lock') ORDER BY inode;",
        ),
      );
    }
    expect(dumps[1]).toBe(dumps[0]);
    expect(dumps[2]).toBe(dumps[0]);
  });

  it('serves /etc/pve/local and the guest links per node, and .members from corosync', async () => {
    for (const node of ['pve1', 'pve2', 'pve3']) {
      expect((await sh(node, 'readlink /etc/pve/local /etc/pve/qemu-server /etc/pve/lxc')).stdout).toBe(`nodes/${node}\nnodes/${node}/qemu-server\nnodes/${node}/lxc\n`);
      expect((await sh(node, 'stat -c "%U:%G %a" /etc/pve/storage.cfg /etc/pve/nodes /etc/pve/priv')).stdout).toBe('root:www-data 640\nroot:www-data 755\nroot:www-data 700\n');
    }
    // a node's address is there once its daemon announced it after the last membership change
    const m = await until('pve2 knows the address of pve3', async () => {
      const x = await members('pve2');
      return x.nodelist['pve3']?.ip ? x : undefined;
    });
    expect(m.nodename).toBe('pve2');
    expect(m.cluster).toMatchObject({ name: 'h1a', nodes: 3, quorate: 1 });
    expect(m.nodelist['pve3']).toEqual({ id: 3, online: 1, ip: addr['pve3'] });
    expect(Object.keys(m).sort()).toEqual(['cluster', 'nodelist', 'nodename', 'version']);
    // status.c: the cluster info read, the member list and three addresses each counted once at least
    expect(m.version).toBeGreaterThanOrEqual(5);
    membersVersion = (await members('pve1')).version;
  });

  it('keeps a cluster log on every member: its own start, and the tasks of every node', async () => {
    const r = await sh('pve2', 'qm create 120 --memory 128');
    expect(r.exitCode, r.stderr).toBe(0);
    type Clog = { data: Array<{ uid: number; time: number; pri: number; tag: string; pid: number; node: string; user: string; msg: string }> };
    const log = await until('the task of pve2 in the cluster log of pve1', async () => {
      const c = JSON.parse((await sh('pve1', 'cat /etc/pve/.clusterlog')).stdout) as Clog;
      return c.data.some((e) => /^end task UPID:pve2:/.test(e.msg)) ? c : undefined;
    });
    for (const e of log.data) expect(Object.keys(e)).toEqual(['uid', 'time', 'pri', 'tag', 'pid', 'node', 'user', 'msg']);
    const start = log.data.find((e) => /^starting task UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmcreate:120:root@pam:$/.test(e.msg));
    expect(start).toMatchObject({ pri: 6, tag: 'qm', node: 'pve2', user: 'root@pam' });
    const end = log.data.find((e) => e.msg === `end task ${start?.msg.slice('starting task '.length)} OK`);
    expect(end).toMatchObject({ pri: 6, tag: 'qm', node: 'pve2', user: 'root@pam' });
    // newest first
    expect(log.data.indexOf(end as (typeof log.data)[number])).toBeLessThan(log.data.indexOf(start as (typeof log.data)[number]));
  });

  it('serves in .rrd what every node\'s pvestatd sent in the last minutes, in key:values lines', async () => {
    const rrd = await until('the new VM of pve2 in the .rrd of pve3', async () => {
      const t = (await sh('pve3', 'cat /etc/pve/.rrd')).stdout;
      return /^(pve2\.3-vm|pve-vm-9\.0)\/120:/m.test(t) ? t : undefined;
    });
    for (const line of rrd.split('\n').slice(0, -1)) expect(line).toMatch(/^(pve2-node|pve-node-9\.0|pve2\.3-vm|pve-vm-9\.0|pve2-storage|pve-storage-9\.0)\/[^:]+:/);
    for (const n of ['pve1', 'pve2', 'pve3']) {
      expect(rrd).toMatch(new RegExp(`^(pve2-node/${n}:\\d+::\\d+:[\\d.]+:\\d+(:[\\d.]+){10}|pve-node-9\\.0/${n}:\\d+::\\d+:[\\d.]+:\\d+(:[\\d.]+){17})$`, 'm'));
      expect(rrd).toMatch(new RegExp(`^(pve2-storage|pve-storage-9\\.0)/${n}/local:\\d+:\\d+:\\d+$`, 'm'));
    }
    // a stopped VM: uptime 0, name, status, template flag, then U for what only a running one has
    expect(rrd).toMatch(/^(pve2\.3-vm\/120:0:VM 120:stopped:0:\d+:1:U:134217728:U:\d+:0:U:U:U:U|pve-vm-9\.0\/120:0:VM 120:stopped:0:\d+:1:U:134217728:U:\d+:0(:U){11})$/m);
  });

  it('has a write on one member on every member when the writer returns', async () => {
    const w = await sh('pve2', 'echo "written on pve2" > /etc/pve/h1a-probe.cfg && cat /etc/pve/h1a-probe.cfg');
    expect(w.stdout, w.stderr).toBe('written on pve2\n');
    for (const node of ['pve1', 'pve3']) {
      expect(await cat(node, 'h1a-probe.cfg')).toBe('written on pve2\n');
      expect(await sql(node, "SELECT writer, hex(data) FROM tree WHERE parent = 0 AND name = 'h1a-probe.cfg';")).toBe(`2|${Buffer.from('written on pve2\n').toString('hex').toUpperCase()}\n`);
    }
  });

  it('makes /etc/pve read-only (EACCES) on a node without quorum, while the others go on writing', async () => {
    await separatePve3();
    // the membership change counts in .members (once pmxcfs has seen it); the address of pve3 stays known
    const m = await until('pve1 pmxcfs without pve3', async () => {
      const x = await members('pve1');
      return x.nodelist['pve3']?.online === 0 ? x : undefined;
    });
    expect(m.version).toBeGreaterThan(membersVersion);
    expect(m.nodelist['pve3']).toEqual({ id: 3, online: 0, ip: addr['pve3'] });
    const ro = await sh('pve3', 'echo x > /etc/pve/h1a-ro.cfg');
    expect(ro.exitCode).not.toBe(0);
    expect(ro.stderr).toContain('Permission denied');
    expect((await sh('pve3', 'qm create 310 --memory 128')).stderr).toBe('cluster not ready - no quorum?\n');
    const w = await sh('pve1', 'echo "while pve3 was away" > /etc/pve/h1a-cluster.cfg');
    expect(w.exitCode, w.stderr).toBe(0);
    expect(await cat('pve2', 'h1a-cluster.cfg')).toBe('while pve3 was away\n');
    expect(await cat('pve3', 'h1a-cluster.cfg')).toBeUndefined();
  });

  it('lets a separated node with more writes overwrite the cluster when it comes back', async () => {
    const gap = (await dbVersion('pve1')) - (await dbVersion('pve3'));
    // the HA LRMs of pve1 and pve2 keep writing their status (a few versions a second) until pve3 is back
    const rounds = Math.max(0, gap) + 1500;
    const r = await inLocalMode(`echo "pve3 alone" > /etc/pve/h1a-alone.cfg && i=0; while [ $i -lt ${rounds} ]; do echo $i > /etc/pve/h1a-counter.cfg; i=$((i+1)); done; echo done`);
    expect(r.stdout, r.stderr).toBe('done\n');
    expect(await dbVersion('pve3')).toBeGreaterThan(await dbVersion('pve1'));
    await rejoinPve3();
    await until('pve1 took pve3 database', async () => ((await cat('pve1', 'h1a-alone.cfg')) === 'pve3 alone\n' ? true : undefined));
    for (const node of ['pve1', 'pve2']) {
      expect(await cat(node, 'h1a-counter.cfg')).toBe(`${rounds - 1}\n`);
      // what the cluster wrote while pve3 was away is gone
      expect(await cat(node, 'h1a-cluster.cfg')).toBeUndefined();
    }
  });

  it('makes a separated node with fewer writes lose them when it comes back', async () => {
    await separatePve3();
    const w = await sh('pve1', 'echo "cluster wins" > /etc/pve/h1a-cluster2.cfg');
    expect(w.exitCode, w.stderr).toBe(0);
    const r = await inLocalMode('echo "pve3 loses" > /etc/pve/h1a-lost.cfg && echo ok');
    expect(r.stdout).toBe('ok\n');
    await until('pve1 ahead of pve3', async () => ((await dbVersion('pve1')) > (await dbVersion('pve3')) ? true : undefined));
    await rejoinPve3();
    await until('pve3 took the cluster database', async () => ((await cat('pve3', 'h1a-cluster2.cfg')) === 'cluster wins\n' ? true : undefined));
    for (const node of ['pve1', 'pve2', 'pve3']) expect(await cat(node, 'h1a-lost.cfg')).toBeUndefined();
    expect(await sql('pve3', "SELECT count(*) FROM tree WHERE name = 'h1a-lost.cfg';")).toBe('0\n');
  });
});
