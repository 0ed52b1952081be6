/**
 * `pvecm qdevice setup|remove` (PVE::CLI::pvecm setup_qdevice/remove_qdevice): the certificate
 * exchange with the real corosync-qnetd-certutil / corosync-qdevice-net-certutil over root ssh,
 * the quorum device in corosync.conf, and corosync-qdevice on every member.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteConf, withCorosyncLock } from '../api/cluster-config.js';
import { onlineNodes, pveClusterConf, quorumDevice, remoteNodeIp, type ClusterConf } from '../core/cluster.js';
import { block, scalar, totem, type ConfSection } from '../core/corosync-conf.js';
import type { SimEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { cmd2string, run } from '../core/exec.js';
import { unlinkQuiet } from '../core/pvefs.js';
import type { Values } from '../core/schema.js';

const QNETD_DB = '/etc/corosync/qnetd/nssdb';
const CA_EXPORT = 'qnetd-cacert.crt';
const CRQ = 'qdevice-net-node.crq';
const P12 = 'qdevice-net-node.p12';
const QDEVICE_CERTUTIL = 'corosync-qdevice-net-certutil';
const QNETD_CERTUTIL = 'corosync-qnetd-certutil';
const SSH = ['ssh', '-o', 'BatchMode=yes', '-lroot'];
const SCP = ['scp', '-o', 'BatchMode=yes'];

interface RunOpts {
  noerr?: boolean;
  /** run_command's outfunc: each stdout line goes through it instead of straight to stdout */
  outfunc?: (line: string) => void;
}

/** PVE::Tools::run_command: output passes through; a non-zero exit dies unless noerr. */
async function runCommand(env: SimEnv, argv: readonly string[], opts: RunOpts = {}): Promise<number> {
  // pvecm sets HOME=/root for ssh-copy-id; PATH as PVE's tools have it
  const r = await run(argv[0] as string, argv.slice(1), {
    timeoutMs: 120_000,
    env: { HOME: '/root', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  if (opts.outfunc) {
    for (const line of r.stdout.split('\n')) if (line !== '') opts.outfunc(line);
  } else {
    env.ctx.out(r.stdout);
  }
  env.ctx.err(r.stderr);
  if (r.exitCode !== 0 && !opts.noerr) throw new Die(`command '${cmd2string(argv)}' failed: exit code ${r.exitCode}\n`);
  return r.exitCode;
}

/** get_members: every node of corosync.conf with its cluster address, sorted by name. */
async function members(env: SimEnv, cc: ClusterConf | undefined): Promise<Array<{ node: string; ip: string }>> {
  const out: Array<{ node: string; ip: string }> = [];
  for (const node of (cc?.summary.nodes ?? []).map((n) => n.name).sort()) {
    const ip = await remoteNodeIp(env.paths, node, true);
    // $foreach_member dies without noerr
    if (!ip) throw new Die(`cannot get the cluster IP for node '${node}'.\n`);
    out.push({ node, ip });
  }
  return out;
}

async function requireAllOnline(env: SimEnv, cc: ClusterConf | undefined): Promise<void> {
  const online = await onlineNodes(env.ctx, env.paths);
  for (const n of (cc?.summary.nodes ?? []).map((x) => x.name).sort()) {
    if (!online.has(n)) throw new Die(`All nodes must be online! Node ${n} is offline, aborting.\n`);
  }
}

/** PVE::SSHInfo::ssh_info_to_command: the per-node known_hosts file only when it exists. */
function sshInfoToCommand(env: SimEnv, node: string, ip: string): string[] {
  const knownHosts = path.join(env.paths.etcPve, 'nodes', node, 'ssh_known_hosts');
  const khOpts = existsSync(knownHosts) ? ['-o', `UserKnownHostsFile=/etc/pve/nodes/${node}/ssh_known_hosts`, '-o', 'GlobalKnownHostsFile=none'] : [];
  return ['/usr/bin/ssh', '-e', 'none', '-o', 'BatchMode=yes', '-o', `HostKeyAlias=${node}`, ...khOpts, `root@${ip}`];
}

function perNode(env: SimEnv, node: string): (line: string) => void {
  return (line) => env.ctx.out(`\nnode '${node}': ${line}`);
}

/** `pvecm qdevice setup <address> [--force] [--network <cidr>]`. */
export async function qdeviceSetup(env: SimEnv, v: Values): Promise<number> {
  const cc = pveClusterConf(env.paths);
  await requireAllOnline(env, cc);
  const force = Boolean(v['force']);
  if (cc && quorumDevice(cc) !== undefined && !force) throw new Die('QDevice already configured!\n');
  const model = 'net';
  let algorithm = 'ffsplit';
  if ((cc?.summary.nodes.length ?? 0) % 2 === 1) {
    if (!force) throw new Die('Clusters with an odd node count are not officially supported!\n');
    algorithm = 'lms';
  }
  const qnetd = String(v['address']);
  const dbDirNode = path.join(env.paths.etcCorosync, 'qdevice', 'net', 'nssdb');
  const etcPve = env.paths.etcPve;
  const clustername = String((cc ? scalar(totem(cc.conf), 'cluster_name') : undefined) ?? '');
  const all = await members(env, cc);

  await runCommand(env, ['ssh-copy-id', '-i', '/root/.ssh/id_rsa', `root@${qnetd}`]);
  if (existsSync(dbDirNode)) {
    if (!force) throw new Die('QDevice certificate store already initialised, set force to delete!\n');
    rmSync(dbDirNode, { recursive: true, force: true });
  }

  env.ctx.out('\nINFO: initializing qnetd server\n');
  await runCommand(env, [...SSH, qnetd, QNETD_CERTUTIL, '-i'], { noerr: true });

  env.ctx.out('\nINFO: copying CA cert and initializing on all nodes\n');
  await runCommand(env, [...SCP, `root@[${qnetd}]:${QNETD_DB}/${CA_EXPORT}`, `${etcPve}/${CA_EXPORT}`]);
  for (const m of all) {
    await runCommand(env, [...sshInfoToCommand(env, m.node, m.ip), '--', QDEVICE_CERTUTIL, '-i', '-c', `/etc/pve/${CA_EXPORT}`], { noerr: true, outfunc: perNode(env, m.node) });
  }
  unlinkQuiet(`${etcPve}/${CA_EXPORT}`);

  env.ctx.out('\nINFO: generating cert request\n');
  await runCommand(env, [QDEVICE_CERTUTIL, '-r', '-n', clustername]);

  env.ctx.out('\nINFO: copying exported cert request to qnetd server\n');
  await runCommand(env, [...SCP, `${dbDirNode}/${CRQ}`, `root@[${qnetd}]:/tmp`]);

  env.ctx.out('\nINFO: sign and export cluster cert\n');
  await runCommand(env, [...SSH, qnetd, QNETD_CERTUTIL, '-s', '-c', `/tmp/${CRQ}`, '-n', clustername]);

  env.ctx.out('\nINFO: copy exported CRT\n');
  await runCommand(env, [...SCP, `root@[${qnetd}]:${QNETD_DB}/cluster-${clustername}.crt`, dbDirNode]);

  env.ctx.out('\nINFO: import certificate\n');
  await runCommand(env, [QDEVICE_CERTUTIL, '-M', '-c', `${dbDirNode}/cluster-${clustername}.crt`]);

  env.ctx.out('\nINFO: copy and import pk12 cert to all nodes\n');
  await runCommand(env, [...SCP, `${dbDirNode}/${P12}`, `${etcPve}/`]);
  for (const m of all) {
    await runCommand(env, [...sshInfoToCommand(env, m.node, m.ip), '--', QDEVICE_CERTUTIL, '-m', '-c', `/etc/pve/${P12}`], { outfunc: perNode(env, m.node) });
  }
  unlinkQuiet(`${etcPve}/${P12}`);

  env.ctx.out('\nINFO: add QDevice to cluster configuration\n');
  await withCorosyncLock(env, async () => {
    const now = pveClusterConf(env.paths);
    if (!now) throw new Die("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n");
    const quorum: ConfSection = { ...(block(now.conf, 'quorum') ?? {}) };
    // must not be forced
    if (quorum['device'] !== undefined) throw new Die('Qdevice already configured, must be removed before setting up new one!\n');
    const device: ConfSection = { model, [model]: { tls: 'on', host: qnetd, algorithm } };
    if (algorithm === 'ffsplit') device['votes'] = '1';
    quorum['device'] = device;
    now.conf.main['quorum'] = quorum;
    atomicWriteConf(env, now.conf);
  });

  for (const m of all) {
    const ssh = sshInfoToCommand(env, m.node, m.ip);
    env.ctx.out(`\nINFO: start and enable corosync qdevice daemon on node '${m.node}'...\n`);
    await runCommand(env, [...ssh, '--', 'systemctl', 'start', 'corosync-qdevice'], { outfunc: perNode(env, m.node) });
    await runCommand(env, [...ssh, '--', 'systemctl', 'enable', 'corosync-qdevice'], { outfunc: perNode(env, m.node) });
  }

  // cluster-wide config reload
  await runCommand(env, ['corosync-cfgtool', '-R']);
  return 0;
}

/** `pvecm qdevice remove`. */
export async function qdeviceRemove(env: SimEnv): Promise<number> {
  const cc = pveClusterConf(env.paths);
  await requireAllOnline(env, cc);
  const all = await members(env, cc);
  await withCorosyncLock(env, async () => {
    const now = pveClusterConf(env.paths);
    if (!now || quorumDevice(now) === undefined) throw new Die('No QDevice configured!\n');
    const quorum: ConfSection = { ...(block(now.conf, 'quorum') ?? {}) };
    delete quorum['device'];
    now.conf.main['quorum'] = quorum;
    atomicWriteConf(env, now.conf);
    // cleanup qdev state (cert storage)
    for (const m of all) await runCommand(env, [...sshInfoToCommand(env, m.node, m.ip), '--', 'rm', '-rf', '/etc/corosync/qdevice']);
  });
  for (const m of all) {
    const ssh = sshInfoToCommand(env, m.node, m.ip);
    await runCommand(env, [...ssh, '--', 'systemctl', 'stop', 'corosync-qdevice']);
    await runCommand(env, [...ssh, '--', 'systemctl', 'disable', 'corosync-qdevice']);
  }
  await runCommand(env, ['corosync-cfgtool', '-R']);
  env.ctx.out('\nRemoved Qdevice.\n');
  return 0;
}
