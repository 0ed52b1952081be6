/** Real OpenSSH sshd instances on loopback, each a pretend node with its own stand-in tools. */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

/** One running sshd. */
export interface LoopbackNode {
  name: string;
  port: number;
  pid: number;
  binDir: string;
}

/** A set of sshd nodes with a client key, a known_hosts file and an inventory. */
export interface LoopbackCluster {
  dir: string;
  nodes: LoopbackNode[];
  inventory: string;
  knownHosts: string;
  key: string;
  runtimeDir: string;
  stop(): void;
}

/** sshd writes its pidfile from the daemonised child, a moment after the parent exits. */
async function waitForPid(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`sshd did not write ${file}`);
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Start `names.length` sshd processes on loopback; `tools(name)` gives each node's stand-in scripts. */
export async function startLoopbackCluster(dir: string, names: string[], tools: (name: string) => Record<string, string>): Promise<LoopbackCluster> {
  mkdirSync(dir, { recursive: true });
  // privilege separation directory; the distribution only creates it when its service starts
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${key}.pub`), { mode: 0o600 });
  const knownHosts = path.join(dir, 'known_hosts');
  const nodes: LoopbackNode[] = [];
  let known = '';
  for (const name of names) {
    const nd = path.join(dir, name);
    const binDir = path.join(nd, 'bin');
    mkdirSync(binDir, { recursive: true });
    for (const [tool, script] of Object.entries(tools(name))) {
      writeFileSync(path.join(binDir, tool), script);
      chmodSync(path.join(binDir, tool), 0o755);
    }
    const hostKey = path.join(nd, 'host_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const port = await freePort();
    const pidFile = path.join(nd, 'sshd.pid');
    const config = path.join(nd, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${pidFile}`,
        `AuthorizedKeysFile ${authorized}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        'StrictModes no',
        'UseDNS no',
        // a home of its own: the machine's /root/.bashrc (sourced by bash under sshd) is not part of a node
        `SetEnv PATH=${binDir}:/usr/sbin:/usr/bin:/sbin:/bin PVX_TEST_NODE=${name} HOME=${nd}`,
        `Subsystem sftp internal-sftp`,
      ].join('\n') + '\n',
    );
    const r = spawnSync('/usr/sbin/sshd', ['-f', config, '-E', path.join(nd, 'sshd.log')]);
    if (r.status !== 0) throw new Error(`sshd failed to start: ${r.stderr}`);
    const pid = await waitForPid(pidFile);
    known += `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    nodes.push({ name, port, pid, binDir });
  }
  writeFileSync(knownHosts, known);
  const inventory = path.join(dir, 'inventory.yaml');
  writeFileSync(
    inventory,
    `ssh:\n  user: root\n  identityFile: ${key}\n  knownHostsFile: ${knownHosts}\n  connectTimeout: 5\nnodes:\n` +
      nodes.map((n) => `  - name: ${n.name}\n    host: 127.0.0.1\n    port: ${n.port}\n`).join(''),
  );
  const runtimeDir = path.join(dir, 'run');
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  return {
    dir,
    nodes,
    inventory,
    knownHosts,
    key,
    runtimeDir,
    stop() {
      for (const n of nodes) {
        // close any control master pvx left for this node, then the sshd we started (by PID)
        spawnSync('ssh', ['-o', `ControlPath=${path.join(runtimeDir, 'cm-%C')}`, '-O', 'exit', '-p', String(n.port), '-l', 'root', '127.0.0.1'], { stdio: 'ignore' });
        try {
          process.kill(n.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    },
  };
}
