// Every speed measure of pvx in one run, printed as one table beside the reference numbers and the
// targets: start-up, preflight, cluster create, cluster status on 3 and on 8 nodes, peak memory.
// The cases of a measure are interleaved (A, B, C, then B, C, A, …) and repeated; cold runs get a
// fresh control-socket folder, so every pvx run opens its own ssh connections; plain ssh runs never
// multiplex. Medians.
// Nothing here forms a cluster when pvx fails to: the failure is reported and the cases that need
// the cluster are left out. Needs root, `npm run build`, and the lab lock:
//   flock /tmp/pvx-e2e.lock npm run bench          (PVX_BENCH_RUNS, default 5; PVX_BENCH_SKIP=create,migrate,status8)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const BIN = path.join(ROOT, 'bin', 'pvx.js');
const RUNS = Math.max(5, Number(process.env.PVX_BENCH_RUNS ?? 5));
const STARTUP_RUNS = Math.max(RUNS, 25);
const SKIP = new Set((process.env.PVX_BENCH_SKIP ?? '').split(',').filter(Boolean));
const LAB3 = { name: 'prf', subnet: '10.88.34.0/24' };
const LAB8 = { name: 'prf8', subnet: '10.88.35.0/24' };
const say = (s) => process.stderr.write(`${s}\n`);
const quiet = () => undefined;

if (!existsSync(path.join(ROOT, 'dist', 'lab', 'index.js'))) {
  say('build first: npm run build');
  process.exit(1);
}
const scratch = mkdtempSync(path.join(tmpdir(), 'pvx-bench-'));
let seq = 0;
const fresh = (what) => {
  const d = path.join(scratch, `${what}-${seq++}`);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall ms (and peak RSS KiB when asked) of a child; rejects on an exit code not in `ok`. */
function timed(file, args, { env = {}, input, ok = [0], rss = false } = {}) {
  return new Promise((resolve, reject) => {
    const rssFile = rss ? path.join(scratch, `rss-${seq++}`) : undefined;
    const [f, a] = rssFile ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, file, ...args]] : [file, args];
    const t0 = process.hrtime.bigint();
    const p = spawn(f, a, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.stdin.end(input ?? '');
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!ok.includes(code)) return reject(new Error(`${path.basename(file)} ${args.slice(0, 6).join(' ')} exited ${code}: ${(err || out).slice(-600)}`));
      const kib = rssFile ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : undefined;
      resolve({ ms, out, kib });
    });
  });
}

/**
 * Run the cases interleaved RUNS times, each round starting one case later, so that no case always
 * runs right after the same one (a heavy case leaves the nodes busy for the next); medians by name.
 */
async function interleaved(cases, runs = RUNS) {
  const names = Object.keys(cases);
  const ms = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < names.length; j++) {
      const k = names[(i + j) % names.length];
      ms[k].push(await cases[k]());
    }
  }
  return Object.fromEntries(Object.entries(ms).map(([k, xs]) => [k, median(xs)]));
}

const { labUp, labDown, labPaths } = await import(path.join(ROOT, 'dist', 'lab', 'index.js'));
const { nodeReadArgv } = await import(path.join(ROOT, 'dist', 'facts', 'node-read.js'));

function sshArgs(lab) {
  const p = labPaths(lab);
  return ['-F', '/dev/null', '-i', p.clientKey, '-o', `UserKnownHostsFile=${p.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-l', 'root'];
}
// ssh joins its words with spaces for the remote shell: each is quoted here, by the bench's own rule
const word = (w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
/** One plain, unmultiplexed ssh command. */
const ssh = (lab, node, argv, opts = {}) => timed('ssh', [...sshArgs(lab), node.address, '--', argv.map(word).join(' ')], opts);
/** Every command on every node at once, by hand; wall ms of the whole. `check` judges each output. */
async function parallel(lab, nodes, commands, check = () => true) {
  const t0 = process.hrtime.bigint();
  const runs = await Promise.all(nodes.flatMap((n) => commands.map((c) => ssh(lab, n, c, { ok: [0, 2] }))));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const r of runs) if (!check(r.out)) throw new Error(`a command by hand did not give what it should:\n${r.out.slice(0, 400)}`);
  return ms;
}
const sshTrue = (lab, nodes) => parallel(lab, nodes, [['true']]);
// the nine reads (three per node) cluster status used to run, typed by hand in parallel
const NATIVE_STATUS = [['pvecm', 'status'], ['pvesh', 'get', '/cluster/status', '--output-format', 'json'], ['pveversion']];

/** pvx, cold: a fresh control-socket folder and state folder. */
function pvx(info, args, opts = {}) {
  return timed(process.execPath, [BIN, '-i', info.inventory, ...args], { ...opts, env: { PVX_RUNTIME_DIR: fresh('rt'), PVX_STATE_DIR: fresh('state'), ...(opts.env ?? {}) } });
}
const names = (nodes) => nodes.map((n) => n.name).join(',');
async function createWithPvx(info, nodes, cluster) {
  return pvx(info, ['cluster', 'create', cluster, '--nodes', names(nodes), '--password-file', info.rootPasswordFile]);
}

/** The native commands of a create by hand, in sequence: pvecm create, the join information, pvecm add per node, pvecm status. */
async function createByHand(lab, info, nodes, cluster) {
  const password = readFileSync(info.rootPasswordFile, 'utf8');
  const [first, ...rest] = nodes;
  const t0 = process.hrtime.bigint();
  await ssh(lab, first, ['pvecm', 'create', cluster, '--link0', first.address]);
  const join = JSON.parse((await ssh(lab, first, ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'])).out);
  const fp = join.nodelist.find((n) => n.name === first.name).pve_fp;
  for (const n of rest) await ssh(lab, n, ['pvecm', 'add', first.address, '--fingerprint', fp, '--link0', n.address], { input: password });
  const st = await ssh(lab, first, ['pvecm', 'status']);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!new RegExp(`^Nodes: +${nodes.length}$`, 'm').test(st.out)) throw new Error(`the cluster made by hand did not form:\n${st.out}`);
  return ms;
}

const rows = [];
const row = (measure, value, issue, target, met) => rows.push({ measure, value, issue, target, met });
const ratio = (a, b) => a / b;
const fmt = (x) => (typeof x === 'number' ? x.toFixed(2) : x);
const failures = [];

async function startup() {
  const node0 = () => timed(process.execPath, ['-e', '0']).then((r) => r.ms);
  for (let i = 0; i < 3; i++) await node0(); // the file cache
  // a tenth of a second each, against the machine's noise of tens of milliseconds: many runs
  const m = await interleaved({
    node: node0,
    version: () => timed(process.execPath, [BIN, '--version']).then((r) => r.ms),
    help: () => timed(process.execPath, [BIN, '--help']).then((r) => r.ms),
  }, STARTUP_RUNS);
  const v = ratio(m.version, m.node);
  const h = ratio(m.help, m.node);
  row(`pvx --version / node -e 0 (${m.version.toFixed(0)} / ${m.node.toFixed(0)} ms, medians of ${STARTUP_RUNS})`, v, '1.44', '<= 1.3', v <= 1.3);
  row(`pvx --help / node -e 0 (${m.help.toFixed(0)} ms)`, h, '—', '<= 1.3', h <= 1.3);
}

/** Fresh 3-node lab: preflight, then create (pvx against by hand on a second fresh lab, alternately). */
async function preflightAndCreate() {
  let info = await labUp({ ...LAB3, nodes: 3 }, quiet);
  let nodes = info.nodes;
  const pf = await interleaved({
    pvx: () => pvx(info, ['--json', 'preflight', '--nodes', names(nodes)]).then((r) => r.ms),
    ssh: () => sshTrue(LAB3.name, nodes),
  });
  const p = ratio(pf.pvx, pf.ssh);
  row(`preflight 3 nodes / parallel ssh true (${pf.pvx.toFixed(0)} / ${pf.ssh.toFixed(0)} ms)`, p, '3.4', '—', '—');
  if (SKIP.has('create')) {
    // not timed; the status cases still need a cluster pvx made
    try {
      await createWithPvx(info, nodes, 'bench');
    } catch (e) {
      failures.push(`pvx cluster create failed: ${e.message}`);
      return undefined;
    }
    return info;
  }
  const pvxMs = [];
  const handMs = [];
  const createRuns = Math.max(1, Number(process.env.PVX_BENCH_CREATE_RUNS ?? RUNS));
  for (let i = 0; i < createRuns; i++) {
    if (i > 0) info = await labUp({ ...LAB3, nodes: 3 }, quiet);
    try {
      pvxMs.push((await createWithPvx(info, info.nodes, 'bench')).ms);
    } catch (e) {
      failures.push(`pvx cluster create failed: ${e.message}`);
      row('cluster create 3 nodes / by hand', 'FAILED', '1.57', '<= 1.25', false);
      return undefined;
    }
    await labDown(LAB3.name, quiet);
    info = await labUp({ ...LAB3, nodes: 3 }, quiet);
    handMs.push(await createByHand(LAB3.name, info, info.nodes, 'bench'));
    await labDown(LAB3.name, quiet);
  }
  const c = ratio(median(pvxMs), median(handMs));
  row(`cluster create 3 nodes / by hand (${(median(pvxMs) / 1000).toFixed(1)} / ${(median(handMs) / 1000).toFixed(1)} s, ${createRuns} each)`, c, '1.57', '<= 1.25', c <= 1.25);
  // the status cases need a cluster pvx made
  info = await labUp({ ...LAB3, nodes: 3 }, quiet);
  try {
    await createWithPvx(info, info.nodes, 'bench');
  } catch (e) {
    failures.push(`pvx cluster create failed: ${e.message}`);
    return undefined;
  }
  return info;
}

async function status(lab, info, label, issue, target) {
  const nodes = info.nodes;
  let rssKib = 0;
  const m = await interleaved({
    pvx: async () => {
      const r = await pvx(info, ['--json', 'cluster', 'status'], { rss: true });
      rssKib = Math.max(rssKib, r.kib ?? 0);
      return r.ms;
    },
    // the same CLI from its ~130 separate modules (dist/cli.js), as a build without the bundle runs it
    unbundled: () =>
      timed(process.execPath, ['--input-type=module', '-e', `const { run } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'cli.js'))}); process.exitCode = await run(process.argv.slice(1));`, '--', '-i', info.inventory, '--json', 'cluster', 'status'], { env: { PVX_RUNTIME_DIR: fresh('rt'), PVX_STATE_DIR: fresh('state') } }).then((r) => r.ms),
    // pvx's one read per node, typed by hand: what the nodes themselves spend
    // every part of the read must have run (its closing mark with an exit code)
    read: () => parallel(lab, nodes, [nodeReadArgv()], (out) => /@@pvx-node:version:0\n/.test(out) && /@@pvx-node:quorum:0\n/.test(out)),
    native: () => parallel(lab, nodes, NATIVE_STATUS),
    ssh: () => sshTrue(lab, nodes),
  });
  const s = ratio(m.pvx, m.ssh);
  row(`cluster status ${label} / parallel ssh true (${m.pvx.toFixed(0)} / ${m.ssh.toFixed(0)} ms)`, s, issue, target.text, target.met(s));
  row(`cluster status ${label} / its one node read by hand (${m.read.toFixed(0)} ms)`, ratio(m.pvx, m.read), '—', '—', '—');
  // what the nodes themselves spend on the read's four sources, over a login: the floor under pvx
  row(`  its node read by hand / parallel ssh true`, ratio(m.read, m.ssh), '—', '—', '—');
  row(`cluster status ${label}, bundled / unbundled CLI (${m.unbundled.toFixed(0)} ms)`, ratio(m.pvx, m.unbundled), '—', '—', '—');
  row(`cluster status ${label} / its former ${nodes.length * 3} native reads by hand (${m.native.toFixed(0)} ms)`, ratio(m.pvx, m.native), nodes.length === 3 ? '1.31' : '—', '—', '—');
  row(`peak RSS of pvx cluster status, ${label}`, `${(rssKib / 1024).toFixed(0)} MiB`, '—', '—', '—');
  return s;
}

/** 24 running guests moved by one pvx migrate, under /usr/bin/time. */
async function migrateRss(info) {
  const lab = LAB3.name;
  for (const n of info.nodes.slice(0, 2)) await ssh(lab, n, ['sh', '-c', 'echo PVX_SIM_TIME_SCALE=0.1 >> /etc/environment']);
  for (let i = 0; i < 24; i++) {
    const id = String(2000 + i);
    await ssh(lab, info.nodes[0], ['qm', 'create', id, '--name', `bench${id}`, '--memory', '512', '--scsi0', 'labshare:1']);
    await ssh(lab, info.nodes[0], ['qm', 'start', id]);
  }
  const r = await pvx(info, ['--json', 'migrate', `2000-2023`, '--to', info.nodes[1].name, '--online', '--parallel', '4'], { rss: true });
  row(`peak RSS of pvx migrate, 24 guests (${(r.ms / 1000).toFixed(1)} s)`, `${(r.kib / 1024).toFixed(0)} MiB`, '—', '—', '—');
}

function print() {
  const w = Math.max(...rows.map((r) => r.measure.length));
  const line = (a, b, c, d, e) => `${a.padEnd(w)}  ${String(b).padStart(8)}  ${String(c).padStart(6)}  ${String(d).padStart(7)}  ${e}`;
  const lines = [line('measure (medians of ' + RUNS + ', interleaved)', 'ratio', 'issue', 'target', 'met')];
  for (const r of rows) lines.push(line(r.measure, fmt(r.value), r.issue, r.target, r.met === true ? 'yes' : r.met === false ? 'NO' : '—'));
  for (const f of failures) lines.push(`FAILURE: ${f}`);
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

try {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root');
  await labDown(LAB3.name, quiet);
  await labDown(LAB8.name, quiet);
  say('start-up …');
  await startup();
  say('preflight and cluster create (3 nodes) …');
  const info3 = await preflightAndCreate();
  if (info3) {
    say('cluster status (3 nodes) …');
    await status(LAB3.name, info3, '3 nodes', '8.4', { text: '<= 1.5', met: (x) => x <= 1.5 });
    if (!SKIP.has('migrate')) {
      say('migrate 24 guests …');
      await migrateRss(info3).catch((e) => failures.push(`migrate: ${e.message}`));
    }
  }
  await labDown(LAB3.name, quiet);
  if (!SKIP.has('status8')) {
    say('cluster status (8 nodes) …');
    const info8 = await labUp({ ...LAB8, nodes: 8 }, quiet);
    try {
      await createWithPvx(info8, info8.nodes, 'bench8');
      await status(LAB8.name, info8, '8 nodes', '—', { text: '<= 1.5', met: (x) => x <= 1.5 });
    } catch (e) {
      failures.push(`8 nodes: ${e.message}`);
    }
  }
} catch (e) {
  failures.push(e.message);
} finally {
  await labDown(LAB3.name, quiet).catch(() => undefined);
  await labDown(LAB8.name, quiet).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
  print();
}
