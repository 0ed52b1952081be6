/** `pvecm create` (POST /cluster/config): a one-node cluster from this standalone node (reference §1.3). */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteConf, linkArgs } from '../api/cluster-config.js';
import { remoteNodeIp } from '../core/cluster.js';
import type { ConfSection, PveCorosyncConf } from '../core/corosync-conf.js';
import type { SimEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { BIN, run, systemctl } from '../core/exec.js';
import { ensureBaseFiles } from '../core/pvedb.js';
import { writeAtomic } from '../core/pvefs.js';
import type { Values } from '../core/schema.js';
import { runTask } from '../core/task.js';
import { clusterHasTokenCoefficient } from '../core/versions.js';

/** PVE::Corosync::create_conf: the configuration of a new cluster (config_version 0, bumped on write). */
export function createConf(
  nodename: string,
  clustername: string,
  localIp: string,
  opts: { nodeid?: number; votes?: number; links?: Map<number, { address: string; priority?: number }>; tokenCoefficient?: number },
): PveCorosyncConf {
  // no links given: the local IP becomes link0
  const links = opts.links && opts.links.size > 0 ? opts.links : new Map<number, { address: string; priority?: number }>([[0, { address: localIp }]]);
  const node: ConfSection = { name: nodename, nodeid: String(opts.nodeid || 1), quorum_votes: String(opts.votes || 1) };
  const interfaces: ConfSection = {};
  const totem: ConfSection = {
    version: '2',
    secauth: 'on',
    cluster_name: clustername,
    config_version: '0',
    ip_version: 'ipv4-6',
    link_mode: 'passive',
    interface: interfaces,
  };
  for (const [n, l] of links) {
    const iface: ConfSection = { linknumber: String(n) };
    if (l.priority) iface['knet_link_priority'] = String(l.priority);
    interfaces[String(n)] = iface;
    node[`ring${n}_addr`] = l.address;
  }
  if (opts.tokenCoefficient !== undefined) totem['token_coefficient'] = String(opts.tokenCoefficient);
  const main: ConfSection = {
    totem,
    nodelist: { node: { [nodename]: node } },
    quorum: { provider: 'corosync_votequorum' },
    logging: { to_syslog: 'yes', debug: 'off' },
  };
  // a configuration built in memory has no file digest
  return { main, digest: '' };
}

/** The create handler: refusal, then the `clustercreate` task; pvecm exits 0 whatever the task did. */
export async function pvecmCreate(env: SimEnv, v: Values): Promise<number> {
  const clustername = String(v['clustername']);
  if (existsSync(path.join(env.paths.etcPve, 'corosync.conf'))) throw new Die("cluster config '/etc/pve/corosync.conf' already exists\n");
  const tokenCoefficient = clusterHasTokenCoefficient(env.rel) ? Number(v['token-coefficient'] ?? 125) : undefined;
  await runTask(env.ctx, env.paths.taskDir, 'clustercreate', clustername, async (task) => {
    if (!existsSync(env.paths.authkey)) {
      mkdirSync(env.paths.etcCorosync, { recursive: true });
      const r = await run(BIN.keygen, ['-lk', env.paths.authkey], { timeoutMs: 60_000 });
      task.print(r.stdout + r.stderr);
      if (r.exitCode !== 0) throw new Die(`command '${BIN.keygen} -lk /etc/corosync/authkey' failed: exit code ${r.exitCode}\n`);
    }
    if (!existsSync(env.paths.authkey)) throw new Die('no authentication key available\n');
    const localIp = (await remoteNodeIp(env.paths, env.nodename)) ?? '';
    const conf = createConf(env.nodename, clustername, localIp, {
      ...(v['nodeid'] !== undefined ? { nodeid: Number(v['nodeid']) } : {}),
      ...(v['votes'] !== undefined ? { votes: Number(v['votes']) } : {}),
      links: linkArgs(v),
      ...(tokenCoefficient !== undefined ? { tokenCoefficient } : {}),
    });
    task.print('Writing corosync config to /etc/pve/corosync.conf\n');
    const text = atomicWriteConf(env, conf);
    // pmxcfs installs a new cluster configuration into /etc/corosync itself
    mkdirSync(env.paths.etcCorosync, { recursive: true });
    writeAtomic(env.paths, env.paths.corosyncConf, text);
    await ensureBaseFiles(env.paths.etcPve, env.ctx.node);
    task.print('Restart corosync and cluster filesystem\n');
    const r = await systemctl(env.paths.binDir, ['restart', 'corosync', 'pve-cluster'], 120_000);
    task.print(r.stdout + r.stderr);
    if (r.exitCode !== 0) throw new Die(`command 'systemctl restart corosync pve-cluster' failed: exit code ${r.exitCode}\n`);
  });
  return 0;
}
