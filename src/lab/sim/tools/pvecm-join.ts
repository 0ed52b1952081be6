/**
 * `pvecm add`: join this node to a cluster (reference §1.4, PVE::Cluster::Setup::join). The API
 * calls a real join makes to the peer run over ssh here: reading the peer's certificate, then
 * `pvesh create /cluster/config/nodes/<node>` on the peer, which is what the API handler does.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { linkArgs } from '../api/cluster-config.js';
import { cfsQuorate } from '../core/cfs.js';
import { ipFromHostname, localAddresses, remoteNodeIp, vmlist } from '../core/cluster.js';
import type { SimEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { BIN, run, ssh, systemctl } from '../core/exec.js';
import { genLocalDirs, genNodeCert, pemFingerprint } from '../core/pvedb.js';
import { readText, shown } from '../core/pvefs.js';
import type { Values } from '../core/schema.js';
import { lineReader, type LineReader } from '../core/stdin.js';
import { runTask, type Task } from '../core/task.js';
import { sleep } from '../core/time.js';
import { isIP } from 'node:net';

const QUORUM_WAIT_LIMIT_MS = 10 * 60_000;

/** assert_joinable: every reason this node cannot join, printed before refusing. */
export async function assertJoinable(env: SimEnv, task: Task, localAddr: string | undefined, links: Map<number, { address: string }>, force: boolean): Promise<void> {
  let errors = '';
  const error = (m: string): void => {
    errors += `* ${m}\n`;
  };
  if (existsSync(env.paths.authkey)) error("authentication key '/etc/corosync/authkey' already exists");
  if (existsSync(path.join(env.paths.etcPve, 'corosync.conf'))) error("cluster config '/etc/pve/corosync.conf' already exists");
  if (vmlist(env.paths).size > 0) error('this host already contains virtual guests');
  if ((await run(BIN.quorumtool, ['-l'], { timeoutMs: 10_000 })).exitCode === 0) error('corosync is already running, is this node already in a cluster?!');
  const local = new Set(localAddresses());
  const checkIp = async (addr: string | undefined, logid: string): Promise<void> => {
    if (addr === undefined) return;
    let ip = addr;
    if (isIP(addr) === 0) {
      try {
        ip = (await ipFromHostname(env.paths, addr)) ?? addr;
      } catch (e) {
        error(`${logid}: cannot use '${addr}': ${e instanceof Error ? e.message : String(e)}\n`);
        return;
      }
    }
    if (!local.has(ip)) error(`${logid}: cannot use IP '${ip}', not found on local node!\n`);
  };
  await checkIp(localAddr, 'local node address');
  for (const [n, l] of links) await checkIp(l.address, `link${n}`);
  if (errors) {
    task.print(`detected the following error(s):\n${errors}`);
    if (!force) throw new Die('Check if node may join a cluster failed!\n');
    task.print('\nWARNING : detected error but forced to continue!\n\n');
  }
}

function connectError(host: string, stderr: string): Die {
  const m = /port \d+: (.+)$/m.exec(stderr);
  return new Die(`500 Can't connect to ${host}:8006 (${m?.[1]?.trim() ?? 'Connection refused'})\n`);
}

function rootPassword(env: SimEnv): string | undefined {
  const t = readText(env.paths.rootPassword);
  return t === undefined ? undefined : t.replace(/\r?\n$/, '');
}

/** An error answer of a pvesh call on the peer: message and per-key details. */
export function parseRemoteError(stderr: string): { msg: string; errors: Record<string, string> } {
  const lines = stderr.replace(/\n+$/, '').split('\n');
  const first = (lines.shift() ?? '').replace(/^\d{3} /, '');
  const errors: Record<string, string> = {};
  for (const l of lines) {
    const m = /^(\w+): (.*)$/.exec(l);
    if (m) errors[m[1] ?? ''] = m[2] ?? '';
  }
  return { msg: first, errors };
}

const PVESH = '/etc/pvx-lab/bin/pvesh';
const PVECM = '/etc/pvx-lab/bin/pvecm';

async function apiJoin(env: SimEnv, task: Task, v: Values, password: string, stdin: LineReader): Promise<void> {
  const host = String(v['hostname']);
  const localIp = await remoteNodeIp(env.paths, env.nodename);
  const links = linkArgs(v);
  await assertJoinable(env, task, localIp, links, Boolean(v['force']));
  task.print(`Establishing API connection with host '${host}'\n`);
  const cert = await ssh(host, ['sh', '-c', 'cat /etc/pve/local/pveproxy-ssl.pem 2>/dev/null || cat /etc/pve/local/pve-ssl.pem'], { timeoutMs: 30_000 });
  if (cert.exitCode === 255) throw connectError(host, cert.stderr);
  const fp = pemFingerprint(cert.stdout);
  if (cert.exitCode !== 0 || !fp) throw new Die(`500 Can't connect to ${host}:8006 (Connection refused)\n`);
  const given = v['fingerprint'];
  if (typeof given === 'string') {
    if (given.toUpperCase() !== fp) throw new Die(`fingerprint '${fp}' not verified, abort!\n`);
  } else {
    task.print(`The authenticity of host '${host}' can't be established.\nX509 SHA256 key fingerprint is ${fp}.\nAre you sure you want to continue connecting (yes/no)? `);
    const answer = (await stdin.next()) ?? '';
    if (!/^\s*yes\s*$/i.test(answer)) throw new Die('Fingerprint not verified, abort!\n');
  }
  const expected = rootPassword(env);
  if (expected === undefined || password !== expected) throw new Die('401 authentication failure\n');
  task.print('Login succeeded.\n');
  task.print('check cluster join API version\n');
  const args: string[] = [];
  if (v['force'] !== undefined) args.push('--force', String(v['force']));
  if (v['nodeid']) args.push('--nodeid', String(v['nodeid']));
  if (v['votes'] !== undefined) args.push('--votes', String(v['votes']));
  for (const [n, l] of links) args.push(`--link${n}`, l.priority !== undefined ? `address=${l.address},priority=${l.priority}` : l.address);
  if (links.size === 0) {
    args.push('--new_node_ip', localIp ?? '');
    task.print(`No cluster network links passed explicitly, fallback to local node IP '${localIp ?? ''}'\n`);
  }
  args.push('--apiversion', '1');
  task.print('Request addition of this node\n');
  const res = await ssh(host, [PVESH, 'create', `/cluster/config/nodes/${env.nodename}`, ...args, '--output-format', 'json'], { timeoutMs: 120_000 });
  if (res.exitCode !== 0) {
    if (res.exitCode === 255 && /^ssh: /m.test(res.stderr)) throw connectError(host, res.stderr);
    const { msg, errors } = parseRemoteError(res.stderr);
    task.print(`An error occurred on the cluster node: ${msg}\n`);
    for (const k of Object.keys(errors).sort()) task.print(`${k.startsWith('warning') ? '*' : '!'} ${errors[k]}\n`);
    throw new Die('Cluster join aborted!\n');
  }
  const json = res.stdout.trim().split('\n').pop() ?? '{}';
  const data = JSON.parse(json) as { corosync_conf?: string; corosync_authkey?: string; warnings?: string[] };
  for (const w of data.warnings ?? []) task.print(`cluster: ${w}\n`);
  task.print('Join request OK, finishing setup locally\n');
  await finishJoin(env, task, data.corosync_conf ?? '', Buffer.from(data.corosync_authkey ?? '', 'latin1'));
}

async function sshJoin(env: SimEnv, task: Task, v: Values): Promise<void> {
  const host = String(v['hostname']);
  const localIp = await remoteNodeIp(env.paths, env.nodename);
  const links = linkArgs(v);
  await assertJoinable(env, task, localIp, links, Boolean(v['force']));
  const apiver = await ssh(host, [PVECM, 'apiver'], { timeoutMs: 30_000 });
  const remoteApiver = Number(apiver.stdout.trim()) || 0;
  const shown = ['ssh', host, '-o', 'BatchMode=yes', 'pvecm', 'addnode', env.nodename, '--force', '1'];
  const extra: string[] = [];
  if (v['nodeid']) extra.push('--nodeid', String(v['nodeid']));
  if (v['votes'] !== undefined) extra.push('--votes', String(v['votes']));
  for (const [n, l] of links) extra.push(`--link${n}`, l.priority !== undefined ? `address=${l.address},priority=${l.priority}` : l.address);
  if (links.size === 0) {
    if (remoteApiver === 0) extra.push('--link0', localIp ?? '');
    else extra.push('--new_node_ip', localIp ?? '');
    task.print(`No cluster network links passed explicitly, fallback to local node IP '${localIp ?? ''}'\n`);
  }
  const r = await ssh(host, [PVECM, 'addnode', env.nodename, '--force', '1', ...extra], { timeoutMs: 120_000 });
  task.print(r.stdout + r.stderr);
  if (r.exitCode !== 0) throw new Die(`unable to add node: command failed (${[...shown, ...extra].join(' ')})\n`);
  task.print('copy corosync auth key\n');
  const key = await ssh(host, ['base64', '-w0', '/etc/corosync/authkey'], { timeoutMs: 30_000 });
  const conf = await ssh(host, ['cat', '/etc/pve/corosync.conf'], { timeoutMs: 30_000 });
  if (key.exitCode !== 0 || conf.exitCode !== 0) throw new Die(`can't rsync data from host '${host}'\n`);
  await finishJoin(env, task, conf.stdout, Buffer.from(key.stdout.trim(), 'base64'));
}

function dumpDir(dir: string, rel = ''): string {
  let out = '';
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const p = path.join(rel, name);
    const st = statSync(path.join(dir, p), { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out += dumpDir(dir, p);
    else out += `-- ${p}\n${readFileSync(path.join(dir, p), 'utf8')}\n`;
  }
  return out;
}

/** `sqlite3 config.db .dump` (a test root's folder is listed instead). */
async function dumpDatabase(env: SimEnv): Promise<string> {
  if (env.paths.root) return existsSync(env.paths.localDb) ? dumpDir(env.paths.localDb) : '';
  if (!existsSync(env.paths.configDb)) return '';
  const r = await run('sqlite3', [env.paths.configDb, '.dump'], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `sqlite3 exit code ${r.exitCode}`);
  return r.stdout;
}

/** finish_join: install the cluster's authkey and corosync.conf, restart, wait for quorum, new node files. */
export async function finishJoin(env: SimEnv, task: Task, corosyncConf: string, authkey: Buffer): Promise<void> {
  mkdirSync(env.paths.etcCorosync, { recursive: true });
  writeFileSync(env.paths.authkey, authkey, { mode: 0o400 });
  writeFileSync(env.paths.corosyncConf, corosyncConf, { mode: 0o644 });
  task.print('stopping pve-cluster service\n');
  const stop = await systemctl(env.paths.binDir, ['stop', 'pve-cluster']);
  if (stop.exitCode !== 0) throw new Die(`can't stop pve-cluster service: command 'systemctl stop pve-cluster' failed: exit code ${stop.exitCode}\n`);
  // the joining node starts from an empty database, whether the backup worked or not
  // (cfs_unlink_db_unsafe, or cfs_rename_db_unsafe after a failed backup): the cluster's leader fills it
  let backedUp = false;
  try {
    mkdirSync(env.paths.configDbBackupDir, { recursive: true, mode: 0o700 });
    const file = path.join(env.paths.configDbBackupDir, `config-${Math.floor(Date.now() / 1000)}.sql.gz`);
    task.print(`backup old database to '${shown(env.paths, file)}'\n`);
    writeFileSync(file, gzipSync(await dumpDatabase(env)));
    backedUp = true;
  } catch (e) {
    task.print(`failed to create backup of pre-join config database - ${e instanceof Error ? e.message : String(e)}\n`);
  }
  if (env.paths.root) rmSync(env.paths.localDb, { recursive: true, force: true });
  if (!backedUp && existsSync(env.paths.configDb)) renameSync(env.paths.configDb, `${env.paths.configDb}.${Math.floor(Date.now() / 1000)}.bak`);
  for (const f of ['', '-wal', '-shm']) rmSync(`${env.paths.configDb}${f}`, { force: true });
  const start = await systemctl(env.paths.binDir, ['start', 'corosync', 'pve-cluster'], 120_000);
  task.print(start.stdout + start.stderr);
  if (start.exitCode !== 0) throw new Die(`starting pve-cluster failed: command 'systemctl start corosync pve-cluster' failed: exit code ${start.exitCode}\n`);
  let printed = false;
  const started = Date.now();
  while (!cfsQuorate(env.paths)) {
    if (!printed) {
      task.print('waiting for quorum...');
      printed = true;
    }
    if (Date.now() - started > QUORUM_WAIT_LIMIT_MS) throw new Die('no quorum - unable to update files\n');
    await sleep(1000);
  }
  if (printed) task.print('OK\n');
  await updatecertsAndSsh(env, (t) => task.print(t), true, false, false);
  task.print('generated new node certificate, restart pveproxy and pvedaemon services\n');
  task.print(`successfully added node '${env.nodename}' to cluster.\n`);
}

/** updatecerts_and_ssh: node directories and certificate, authorized keys. */
export async function updatecertsAndSsh(env: SimEnv, print: (t: string) => void, forceNewCert: boolean, silent: boolean, unmerge: boolean): Promise<void> {
  const p = (t: string): void => {
    if (!silent) print(`${t}\n`);
  };
  if (!cfsQuorate(env.paths)) {
    if (silent) return;
    throw new Die('no quorum - unable to update files\n');
  }
  p('(re)generate node files');
  if (forceNewCert) p('generate new node certificate');
  genLocalDirs(env.paths.etcPve, env.nodename);
  const address = (await remoteNodeIp(env.paths, env.nodename, true)) ?? env.ctx.node.address;
  if (forceNewCert || !existsSync(path.join(env.paths.etcPve, 'nodes', env.nodename, 'pve-ssl.pem'))) {
    await genNodeCert(env.paths.etcPve, env.ctx.node, env.nodename, address);
  }
  p('merge authorized SSH keys');
  if (unmerge) p('unmerge SSH known hosts');
}

/** The add handler: refuses in /etc/pve, then the `clusterjoin` task; exits 0 whatever the task did. */
export async function pvecmAdd(env: SimEnv, v: Values): Promise<number> {
  if (/^\/etc\/pve(\/.*)?$/.test(process.cwd())) throw new Die("Navigate out of /etc/pve before running 'pvecm add', for example by running 'cd'.\n");
  const stdin = lineReader(env.ctx);
  await runTask(env.ctx, env.paths.taskDir, 'clusterjoin', '', async (task) => {
    if (!v['use_ssh']) {
      const password = await stdin.password(`Please enter superuser (root) password for '${String(v['hostname'])}': `);
      await apiJoin(env, task, v, password, stdin);
      return;
    }
    await sshJoin(env, task, v);
  });
  return 0;
}
