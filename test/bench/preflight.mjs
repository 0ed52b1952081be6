// `pvx preflight` speed on a lab of its own (bench, 10.77.14.0/24, 8 nodes), every run cold
// (a fresh control-socket directory, so each run opens its own ssh connections):
//   - full preflight of 3 nodes vs a parallel plain `ssh node true` of the same 3 nodes (target <= 2x)
//   - full preflight of 3 nodes vs `ansible all -m ping` on them, when ansible is installed (target < 1x)
//   - full preflight of 8 nodes vs 3 nodes (target <= 1.5x), beside the same ratio for plain
//     `ssh node true`: on a machine whose cores the lab's nodes share, that is the floor
//   - warm runs (the masters of the run before still open), and the CPU the whole machine spent
//     per run (/proc/stat), which shows when the lab is bound by its cores rather than by waiting
// Prints medians and ratios measured in one run; it is not a test. Needs root and `npm run build`.
// Usage: node test/bench/preflight.mjs [runs]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const LAB = 'bench';
const SUBNET = '10.77.14.0/24';
const RUNS = Number(process.argv[2] ?? 7);
const BIN = path.join(ROOT, 'bin', 'pvx.js');
const out = (s) => process.stdout.write(`${s}\n`);

if (process.getuid?.() !== 0) {
  out('skipped: the lab needs root');
  process.exit(0);
}
if (!existsSync(path.join(ROOT, 'dist', 'lab', 'index.js'))) {
  out('build first: npm run build');
  process.exit(1);
}
const { labUp, labDown, labPaths } = await import(path.join(ROOT, 'dist', 'lab', 'index.js'));
const scratch = mkdtempSync(path.join(tmpdir(), 'pvx-bench-preflight-'));
const quiet = () => undefined;

/** Wall time of a child process, ms; rejects on an unexpected exit code. */
function timed(file, args, env = {}, okCodes = [0]) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.resume();
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!okCodes.includes(code)) reject(new Error(`${path.basename(file)} ${args.slice(0, 4).join(' ')} exited ${code}: ${err.slice(0, 400)}`));
      else resolve(ms);
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU time the whole machine spent (all cores, ms) since boot, from /proc/stat. */
function busyMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq] = f;
  return ((user + nice + system + irq + softirq) * 1000) / 100;
}

/** Run fn and return [wall ms, busy CPU ms of the whole machine]. */
async function measured(fn) {
  const b0 = busyMs();
  const ms = await fn();
  return [ms, busyMs() - b0];
}

let runtimeSeq = 0;
function sshOpts(paths) {
  return ['-F', '/dev/null', '-i', paths.clientKey, '-o', `UserKnownHostsFile=${paths.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-l', 'root'];
}

/** pvx preflight, cold: a fresh runtime dir; the masters it leaves are closed afterwards (not timed). Warm: reuse `rt`. */
async function pvxPreflight(paths, inventory, nodes, rt) {
  const cold = rt === undefined;
  const dir = rt ?? path.join(scratch, `rt-${runtimeSeq++}`);
  const ms = await timed(process.execPath, [BIN, '-i', inventory, '--json', 'preflight', '--nodes', nodes.map((n) => n.name).join(',')], {
    PVX_RUNTIME_DIR: dir,
    PVX_STATE_DIR: path.join(scratch, 'state'),
  });
  if (cold) closeMasters(paths, nodes, dir);
  return ms;
}

function closeMasters(paths, nodes, dir) {
  for (const n of nodes) {
    spawnSync('ssh', [...sshOpts(paths), '-o', `ControlPath=${path.join(dir, 'cm-%C')}`, '-O', 'exit', n.address], { stdio: 'ignore' });
  }
}

/** The baseline: one plain, unmultiplexed `ssh node true` per node, all at once. */
async function sshTrue(paths, nodes) {
  const t0 = process.hrtime.bigint();
  await Promise.all(nodes.map((n) => timed('ssh', [...sshOpts(paths), '-o', 'ControlMaster=no', '-o', 'ControlPath=none', n.address, 'true'])));
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function ansibleSetup(paths, nodes) {
  const which = spawnSync('sh', ['-c', 'command -v ansible'], { encoding: 'utf8' });
  if (which.status !== 0) return undefined;
  const dir = path.join(scratch, 'ansible');
  spawnSync('mkdir', ['-p', dir]);
  writeFileSync(path.join(dir, 'hosts.ini'), `[lab]\n${nodes.map((n) => `${n.name} ansible_host=${n.address}`).join('\n')}\n`);
  writeFileSync(
    path.join(dir, 'ansible.cfg'),
    [
      '[defaults]',
      `inventory = ${path.join(dir, 'hosts.ini')}`,
      'remote_user = root',
      `private_key_file = ${paths.clientKey}`,
      'interpreter_python = /usr/bin/python3',
      'host_key_checking = True',
      `local_tmp = ${path.join(dir, 'tmp')}`,
      'forks = 10',
      '[ssh_connection]',
      `ssh_args = -o UserKnownHostsFile=${paths.knownHosts} -o ControlMaster=auto -o ControlPersist=60s`,
      '',
    ].join('\n'),
  );
  return dir;
}

/** `ansible all -m ping`, cold: its ControlPersist sockets in a fresh directory each run. */
async function ansiblePing(dir) {
  const cp = path.join(scratch, `acp-${runtimeSeq++}`);
  spawnSync('mkdir', ['-p', cp]);
  const ms = await timed('ansible', ['all', '-m', 'ping'], { ANSIBLE_CONFIG: path.join(dir, 'ansible.cfg'), ANSIBLE_SSH_CONTROL_PATH_DIR: cp });
  // close the masters ansible left behind (not timed)
  spawnSync('sh', ['-c', 'for s in "$1"/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x; done; true', 'sh', cp], { stdio: 'ignore' });
  return ms;
}

async function main() {
  out(`bringing up lab '${LAB}' (8 nodes, ${SUBNET}) …`);
  await labDown(LAB, quiet);
  const info = await labUp({ name: LAB, nodes: 8, subnet: SUBNET }, quiet);
  const paths = labPaths(LAB);
  const three = info.nodes.slice(0, 3);
  const eight = info.nodes;
  const ansibleDir = ansibleSetup(paths, three);

  // one untimed round of everything, so file caches and the nodes' first start-ups do not count
  await pvxPreflight(paths, info.inventory, three);
  await pvxPreflight(paths, info.inventory, eight);
  await sshTrue(paths, eight);
  if (ansibleDir) await ansiblePing(ansibleDir);

  const s = { pvx3: [], pvx8: [], ssh3: [], ssh8: [], warm3: [], ansible3: [] };
  const cpu = { pvx3: [], pvx8: [], ssh3: [], ssh8: [] };
  const warmDir = path.join(scratch, 'rt-warm');
  await pvxPreflight(paths, info.inventory, three, warmDir);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, fn] of [
      ['ssh3', () => sshTrue(paths, three)],
      ['ssh8', () => sshTrue(paths, eight)],
      ['pvx3', () => pvxPreflight(paths, info.inventory, three)],
      ['pvx8', () => pvxPreflight(paths, info.inventory, eight)],
    ]) {
      const [ms, busy] = await measured(fn);
      s[k].push(ms);
      cpu[k].push(busy);
    }
    s.warm3.push(await pvxPreflight(paths, info.inventory, three, warmDir));
    if (ansibleDir) s.ansible3.push(await ansiblePing(ansibleDir));
  }
  closeMasters(paths, three, warmDir);

  const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.length ? median(v) : NaN]));
  const c = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]));
  const row = (label, k) => out(`  ${label.padEnd(46)} median ${m[k].toFixed(0).padStart(5)} ms${c[k] !== undefined ? `   (machine CPU ${c[k].toFixed(0).padStart(5)} ms)` : ''}`);
  out(`\npvx preflight, cold (fresh control sockets every run), ${RUNS} runs each, lab ${LAB}, ${cpus().length} cores`);
  row('parallel plain `ssh node true`, 3 nodes', 'ssh3');
  row('parallel plain `ssh node true`, 8 nodes', 'ssh8');
  row('pvx preflight (general), 3 nodes', 'pvx3');
  row('pvx preflight (general), 8 nodes', 'pvx8');
  row('pvx preflight, 3 nodes, warm (masters open)', 'warm3');
  if (ansibleDir) row('ansible all -m ping, 3 nodes', 'ansible3');
  out('');
  out(`  preflight 3 nodes / ssh true 3 nodes:    ${(m.pvx3 / m.ssh3).toFixed(2)}x   (target <= 2)`);
  if (ansibleDir) out(`  preflight 3 nodes / ansible ping:         ${(m.pvx3 / m.ansible3).toFixed(2)}x   (target < 1)`);
  else out('  ansible: not installed, comparison skipped (apt-get install ansible to include it)');
  out(`  preflight 8 nodes / preflight 3 nodes:    ${(m.pvx8 / m.pvx3).toFixed(2)}x   (target <= 1.5)`);
  out(`  ssh true 8 nodes / ssh true 3 nodes:      ${(m.ssh8 / m.ssh3).toFixed(2)}x   (the same ratio for plain ssh, on these cores)`);
  out(`  warm / cold preflight, 3 nodes:           ${(m.warm3 / m.pvx3).toFixed(2)}x`);
}

try {
  await main();
} finally {
  await labDown(LAB, quiet).catch((e) => out(`lab down failed: ${e.message}`));
  rmSync(scratch, { recursive: true, force: true });
}
