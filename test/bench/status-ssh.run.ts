// `pvx cluster status` over 3 real sshd instances on loopback: a cold first run (new TCP + key
// exchange per node) against a second run within ControlPersist (multiplexed). Prints medians and
// the ratio from one run; run with `npm run bench`. Not a test: nothing here asserts a time.
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { it } from 'vitest';
import { pvx, ROOT } from '../helpers/cli.js';
import { startLoopbackCluster } from '../helpers/sshd.js';
import { tmpDir } from '../helpers/tmp.js';

const FIX = path.join(ROOT, 'test', 'fixtures', 'pve');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it.skipIf(process.getuid?.() !== 0)('cluster status: cold vs within ControlPersist', async () => {
  const dir = tmpDir('pvx-bench-status-');
  const out = (name: string, file: string) => {
    const p = path.join(dir, `${name}.out`);
    writeFileSync(p, readFileSync(path.join(FIX, file)));
    return `#!/bin/sh\ncat '${p}'\n`;
  };
  // the node read's files live in the test's folder: a stand-in sh points /etc/pve there
  mkdirSync(path.join(dir, 'etc-pve'), { recursive: true });
  writeFileSync(path.join(dir, 'etc-pve', 'corosync.conf'), readFileSync(path.join(FIX, 'corosync-conf/labcluster-3node-constructed.conf')));
  writeFileSync(path.join(dir, 'etc-pve', '.members'), readFileSync(path.join(FIX, 'pmxcfs/members-3node-constructed.json')));
  const lc = await startLoopbackCluster(path.join(dir, 'nodes'), ['proxmox', 'pve2', 'pve3'], () => ({
    sh: `#!/bin/sh\nif [ "$1" = -c ]; then s=$(printf '%s' "$2" | sed "s#/etc/pve/#${dir}/etc-pve/#g"); shift 2; exec /bin/sh -c "$s" "$@"; fi\nexec /bin/sh "$@"\n`,
    'corosync-quorumtool': out('quorumtool', 'corosync-quorumtool/pve9-3node-cluster-validation-siH.txt'),
    'dpkg-query': '#!/bin/sh\necho "installed 9.0.6"\n',
  }));
  try {
    const env = { PVX_INVENTORY: lc.inventory, PVX_STATE_DIR: path.join(dir, 'state') };
    const time = (extra: Record<string, string>) => {
      const t0 = performance.now();
      const r = pvx(['cluster', 'status', '--json'], { ...env, ...extra });
      if (r.code !== 0) throw new Error(r.stderr);
      return performance.now() - t0;
    };
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < 7; i++) {
      const rt = path.join(dir, `run-${i}`); // a fresh control dir: no master to reuse
      mkdirSync(rt, { mode: 0o700 });
      cold.push(time({ PVX_RUNTIME_DIR: rt }));
      warm.push(time({ PVX_RUNTIME_DIR: rt }));
      for (const n of lc.nodes) {
        spawnSync('ssh', ['-o', `ControlPath=${path.join(rt, 'cm-%C')}`, '-O', 'exit', '-p', String(n.port), '-l', 'root', '127.0.0.1'], { stdio: 'ignore' });
      }
    }
    const c = median(cold);
    const w = median(warm);
    process.stdout.write(
      `\ncluster status, 3 nodes over loopback sshd (7 runs each)\n` +
        `  first run (cold)            median ${c.toFixed(0)} ms\n` +
        `  second run (ControlPersist) median ${w.toFixed(0)} ms\n` +
        `  ratio warm/cold: ${(w / c).toFixed(2)}\n`,
    );
  } finally {
    lc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
