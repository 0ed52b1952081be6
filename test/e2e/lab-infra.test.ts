/**
 * The lab's infrastructure on a lab of its own (e2ea, 10.77.11.0/24): nodes reachable over real
 * ssh with the generated key and known_hosts, faults that take effect and heal, a fast idempotent
 * re-up, and a `down` that leaves nothing behind. Needs root and a built dist/ (the node wrappers
 * run dist/lab/sim/main.js).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLabHost, labDown, labExec, labFault, labPaths, labRemnants, labStatus, labUp, type LabInfo } from '../../src/lab/index.js';
import { runProcess, type ProcessResult } from '../../src/lab/process.js';

const NAME = 'e2ea';
const SUBNET = '10.77.11.0/24';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const paths = labPaths(NAME);
const logLines: string[] = [];
const log = (line: string): void => {
  logLines.push(line);
};

let info: LabInfo;

function address(node: string): string {
  const n = info.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no node ${node}`);
  return n.address;
}

/** The system ssh, as a tool would use the lab: its key and known_hosts, host keys checked, no mux. */
function ssh(node: string, command: string, connectTimeout = 5): Promise<ProcessResult> {
  return runProcess(
    'ssh',
    [
      '-F', '/dev/null',
      '-i', paths.clientKey,
      '-o', `UserKnownHostsFile=${paths.knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'ControlMaster=no',
      '-o', `ConnectTimeout=${connectTimeout}`,
      `root@${address(node)}`,
      command,
    ],
    { timeoutMs: 30_000 },
  );
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Seconds the node's session clock is ahead of this machine's, within the ssh round trip. */
async function sessionSkew(node: string): Promise<number> {
  const before = Date.now() / 1000;
  const r = await ssh(node, 'date +%s.%N');
  const after = Date.now() / 1000;
  expect(r.exitCode).toBe(0);
  return Number(r.stdout.trim()) - (before + after) / 2;
}

describe.skipIf(!isRoot)('lab infrastructure (lab e2ea)', () => {
  beforeAll(async () => {
    if (!existsSync(path.resolve('dist/lab/sim/main.js'))) throw new Error('build first: npm run build (nodes run dist/lab/sim/main.js)');
    await labDown(NAME, log);
    info = await labUp({ name: NAME, nodes: 3, subnet: SUBNET }, log);
  });

  afterAll(async () => {
    await labDown(NAME, log);
  });

  it('finds this machine fit for a lab', async () => {
    const check = await checkLabHost();
    expect(check).toMatchObject({ ok: true, isRoot: true, isLinux: true, missing: [] });
    expect(check.faketimeLib).toMatch(/libfaketime\.so\.1$/);
  });

  it('returns the inventory, the password file and the nodes with their addresses', async () => {
    expect(info.nodes).toEqual([
      { name: 'pve1', address: '10.77.11.11' },
      { name: 'pve2', address: '10.77.11.12' },
      { name: 'pve3', address: '10.77.11.13' },
    ]);
    const inv = await readFile(info.inventory, 'utf8');
    expect(inv).toContain(`knownHostsFile: ${paths.knownHosts}`);
    expect(inv).toContain('host: 10.77.11.12');
    const pw = await runProcess('stat', ['-c', '%a', info.rootPasswordFile]);
    expect(pw.stdout.trim()).toBe('600');
  });

  it('lets every node be reached over ssh with the lab key and known_hosts, under its own name', async () => {
    for (const { name, address: addr } of info.nodes) {
      const r = await ssh(name, 'hostname; echo "PATH=$PATH"; cat /etc/hosts');
      expect(r.exitCode, r.stderr).toBe(0);
      const [host, pathLine, ...hosts] = r.stdout.split('\n');
      expect(host).toBe(name);
      expect(pathLine?.startsWith('PATH=/etc/pvx-lab/bin:')).toBe(true);
      for (const n of info.nodes) expect(hosts).toContain(`${n.address} ${n.name}.lab.pvx ${n.name}`);
      expect(hosts.join('\n')).not.toMatch(/127\.0\.1\.1/);
      expect(addr).toMatch(/^10\.77\.11\.1[1-3]$/);
    }
  });

  it('gives nodes root ssh trust among themselves, by name, with host keys checked', async () => {
    const r = await ssh('pve1', 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes pve3 hostname && ssh -o BatchMode=yes 10.77.11.12 hostname');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('pve3\npve2\n');
  });

  it('runs labExec as a process of the node, in the caller directory, with stdin', async () => {
    const r = await labExec(NAME, 'pve2', ['sh', '-c', 'hostname; pwd; cat; ps -o comm= -p 1; echo "$PATH"'], { input: 'from stdin\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    const [host, cwd, input, init, pathVar] = r.stdout.split('\n');
    // /tmp and /root are private to a node: a caller there starts in the node's /root instead
    const visible = !/^\/(tmp|root|run|dev\/shm)(\/|$)/.test(process.cwd());
    expect([host, cwd, input, init]).toEqual(['pve2', visible ? process.cwd() : '/root', 'from stdin', 'pvx-init']);
    expect(pathVar?.startsWith('/etc/pvx-lab/bin:')).toBe(true);
  });

  it('has the systemctl and timedatectl stand-ins on the session PATH', async () => {
    const r = await ssh(
      'pve2',
      'systemctl is-active ssh chrony; systemctl start corosync; echo "start=$?"; systemctl is-active corosync; echo "active=$?"; systemctl status nosuch; echo "status=$?"; timedatectl show -p NTP --value',
    );
    expect(r.stdout).toBe('active\nactive\nstart=0\ninactive\nactive=3\nstatus=4\nyes\n');
    expect(r.stderr).toContain('Unit nosuch.service could not be found.');
  });

  it('skews one node: session clock and chronyd both show it, and heal undoes it', async () => {
    expect(Math.abs(await sessionSkew('pve2'))).toBeLessThan(0.5);
    await labFault(NAME, 'pve2', 'skew', '2.5', log);
    expect(await sessionSkew('pve2')).toBeCloseTo(2.5, 0);
    expect(Math.abs(await sessionSkew('pve1'))).toBeLessThan(0.5);
    const tracking = await until(
      'chronyd on pve2 to report the skew',
      async () => {
        const r = await labExec(NAME, 'pve2', ['chronyc', '-n', 'tracking']);
        const m = /^System time\s*:\s*([\d.]+) seconds fast of NTP time/m.exec(r.stdout);
        return m && Math.abs(Number(m[1]) - 2.5) < 0.1 ? r.stdout : undefined;
      },
      20_000,
    );
    expect(tracking).toMatch(/Leap status\s*:\s*Normal/);
    const sync = await ssh('pve2', 'timedatectl show -p NTPSynchronized --value');
    expect(sync.stdout).toBe('no\n');
    expect((await labStatus(NAME)).nodes.find((n) => n.name === 'pve2')?.faults).toEqual(['skew +2.5s']);

    await labFault(NAME, 'pve2', 'heal', undefined, log);
    expect(Math.abs(await sessionSkew('pve2'))).toBeLessThan(0.5);
    await until(
      'pve2 to be synchronised again',
      async () => ((await ssh('pve2', 'timedatectl show -p NTPSynchronized --value')).stdout === 'yes\n' ? true : undefined),
      20_000,
    );
  });

  it('blocks a UDP port inside one node with nftables, and heal removes the rule', async () => {
    await labFault(NAME, 'pve3', 'block-udp', '5405', log);
    const listed = await labExec(NAME, 'pve3', ['nft', 'list', 'table', 'inet', 'pvxlab']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/hook input[\s\S]*udp dport 5405 drop/);
    expect(listed.stdout).toMatch(/hook output[\s\S]*udp dport 5405 drop/);
    const host = await runProcess('nft', ['list', 'tables']);
    expect(host.stdout).not.toContain('pvxlab');
    await labFault(NAME, 'pve3', 'heal', undefined, log);
    const gone = await labExec(NAME, 'pve3', ['nft', 'list', 'table', 'inet', 'pvxlab']);
    expect(gone.exitCode).not.toBe(0);
  });

  it('takes a node off the network (still running) and heal brings it back', async () => {
    await labFault(NAME, 'pve3', 'down', undefined, log);
    const cut = await ssh('pve3', 'true', 2);
    expect(cut.exitCode).toBe(255);
    const st = (await labStatus(NAME)).nodes.find((n) => n.name === 'pve3');
    expect(st).toMatchObject({ link: 'down', running: true, sshd: true, faults: ['down'] });
    await labFault(NAME, 'pve3', 'heal', undefined, log);
    const back = await ssh('pve3', 'hostname');
    expect(back.stdout).toBe('pve3\n');
  });

  it('stops and kills corosync through the node systemctl, and heal starts it again', async () => {
    // a one-node corosync of its own on pve3: enough to exercise the service faults
    const conf = [
      'totem {',
      '  version: 2',
      '  cluster_name: e2ea',
      '  secauth: on',
      '  interface {',
      '    linknumber: 0',
      '  }',
      '}',
      'nodelist {',
      '  node {',
      '    name: pve3',
      '    nodeid: 1',
      '    quorum_votes: 1',
      '    ring0_addr: 10.77.11.13',
      '  }',
      '}',
      'quorum {',
      '  provider: corosync_votequorum',
      '}',
      'logging {',
      '  to_logfile: yes',
      '  logfile: /var/log/corosync/corosync.log',
      '}',
      '',
    ].join('\n');
    const write = await labExec(NAME, 'pve3', ['sh', '-c', 'cat > /etc/corosync/corosync.conf && corosync-keygen -l >/dev/null 2>&1 && systemctl start corosync'], { input: conf });
    expect(write.exitCode, write.stderr).toBe(0);
    const corosync = async (): Promise<boolean | undefined> => (await labStatus(NAME)).nodes.find((n) => n.name === 'pve3')?.corosync;
    expect(await corosync()).toBe(true);
    expect((await labExec(NAME, 'pve3', ['corosync-quorumtool', '-s'])).exitCode).toBe(0);

    await labFault(NAME, 'pve3', 'kill-corosync', undefined, log);
    expect(await corosync()).toBe(false);
    const failed = await labExec(NAME, 'pve3', ['systemctl', 'is-active', 'corosync']);
    expect([failed.stdout, failed.exitCode]).toEqual(['failed\n', 3]);
    await labFault(NAME, 'pve3', 'heal', undefined, log);
    expect(await corosync()).toBe(true);

    await labFault(NAME, 'pve3', 'stop-corosync', undefined, log);
    const stopped = await labExec(NAME, 'pve3', ['systemctl', 'is-active', 'corosync']);
    expect(stopped.stdout).toBe('inactive\n');
    await labFault(NAME, 'pve3', 'heal', undefined, log);
    expect(await corosync()).toBe(true);

    const clean = await labExec(NAME, 'pve3', ['sh', '-c', 'systemctl stop corosync && rm /etc/corosync/corosync.conf /etc/corosync/authkey']);
    expect(clean.exitCode, clean.stderr).toBe(0);
  });

  it('re-runs up on a running lab, keeping host keys, and reports every node healthy', async () => {
    const knownBefore = await readFile(paths.knownHosts, 'utf8');
    await labUp({ name: NAME, subnet: SUBNET }, log);
    expect(await readFile(paths.knownHosts, 'utf8')).toBe(knownBefore);
    const st = await labStatus(NAME);
    expect(st.bridgeUp).toBe(true);
    for (const n of st.nodes) expect(n).toMatchObject({ netns: true, link: 'up', running: true, sshd: true, chronyd: true, corosync: false, faults: [] });
    expect((await ssh('pve1', 'hostname')).stdout).toBe('pve1\n');
  });

  it('down removes every namespace, link, mount and process of the lab', async () => {
    await labDown(NAME, log);
    expect(await labRemnants(NAME)).toEqual({ netns: [], links: [], mounts: [], pids: [] });
    const netns = await runProcess('ip', ['netns', 'list']);
    expect(netns.stdout).not.toContain(`pvx-${NAME}-`);
    const links = await runProcess('ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(new RegExp(`pvx(br)?-${NAME}`));
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo).not.toContain(paths.root);
    expect(mountinfo).not.toContain(`pvx-${NAME}-`);
    // any process still holding the lab's files or running one of its commands (zombies excluded: they have exited)
    const ps = await runProcess('ps', ['-e', '-o', 'stat=,args=']);
    const live = ps.stdout.split('\n').filter((l) => l && !l.trimStart().startsWith('Z'));
    expect(live.filter((l) => l.includes(paths.root) || l.includes(`pvx-${NAME}-`))).toEqual([]);
    expect(existsSync(paths.root)).toBe(false);
  });
});
