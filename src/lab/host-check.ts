/** Can this machine run a lab? (root, Linux, the binaries) — and installing what is missing. */
import { access, constants, readdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runProcess } from './process.js';

/** One missing prerequisite and the Debian package that provides it. */
export interface MissingThing {
  what: string;
  package: string;
}

/** Result of checkLabHost. */
export interface HostCheck {
  ok: boolean;
  isRoot: boolean;
  isLinux: boolean;
  missing: MissingThing[];
  /** path of libfaketime.so.1 when found */
  faketimeLib?: string;
}

/** Debian packages `installLabDeps` installs. */
export const LAB_PACKAGES = ['openssh-server', 'corosync', 'corosync-qdevice', 'corosync-qnetd', 'chrony', 'nftables', 'libfaketime', 'faketime', 'iproute2', 'sqlite3'] as const;

const BINARIES: ReadonlyArray<[string, string]> = [
  ['ip', 'iproute2'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['setsid', 'util-linux'],
  ['mount', 'mount'],
  ['umount', 'mount'],
  ['hostname', 'hostname'],
  ['env', 'coreutils'],
  ['perl', 'perl-base'],
  ['sshd', 'openssh-server'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['corosync', 'corosync'],
  ['corosync-keygen', 'corosync'],
  ['corosync-quorumtool', 'corosync'],
  ['corosync-cmapctl', 'corosync'],
  ['corosync-qdevice', 'corosync-qdevice'],
  ['corosync-qdevice-net-certutil', 'corosync-qdevice'],
  ['corosync-qnetd', 'corosync-qnetd'],
  ['corosync-qnetd-certutil', 'corosync-qnetd'],
  ['scp', 'openssh-client'],
  ['ssh-copy-id', 'openssh-client'],
  ['chronyd', 'chrony'],
  ['chronyc', 'chrony'],
  ['nft', 'nftables'],
  ['faketime', 'faketime'],
  // each node's pmxcfs keeps its config.db with the sqlite3 shell
  ['sqlite3', 'sqlite3'],
];

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of a program in the usual system directories, or undefined. */
export async function findBinary(name: string): Promise<string | undefined> {
  for (const dir of SEARCH_PATH) {
    const p = path.join(dir, name);
    if (await isExecutable(p)) return p;
  }
  return undefined;
}

/** Where libfaketime.so.1 is (Debian puts it under /usr/lib/<multiarch>/faketime/), or undefined. */
export async function findFaketimeLib(): Promise<string | undefined> {
  const dirs = ['/usr/lib/faketime', '/usr/local/lib/faketime'];
  try {
    for (const d of await readdir('/usr/lib')) dirs.push(path.join('/usr/lib', d, 'faketime'));
  } catch {
    /* no /usr/lib: nothing to add */
  }
  for (const d of dirs) {
    const p = path.join(d, 'libfaketime.so.1');
    try {
      await access(p, constants.R_OK);
      return p;
    } catch {
      /* try the next one */
    }
  }
  return undefined;
}

/** Check that this machine can host a lab: root, Linux, and every binary and library present. */
export async function checkLabHost(): Promise<HostCheck> {
  const isLinux = process.platform === 'linux';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const missing: MissingThing[] = [];
  for (const [bin, pkg] of BINARIES) {
    if (!(await findBinary(bin))) missing.push({ what: bin, package: pkg });
  }
  const faketimeLib = await findFaketimeLib();
  if (!faketimeLib) missing.push({ what: 'libfaketime.so.1', package: 'libfaketime' });
  const out: HostCheck = { ok: isLinux && isRoot && missing.length === 0, isRoot, isLinux, missing };
  if (faketimeLib) out.faketimeLib = faketimeLib;
  return out;
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/**
 * apt-get install the lab's packages without starting their services on this machine: a
 * policy-rc.d that answers 101 is put in place for the install when there is none (pitfall 12).
 */
export async function installLabDeps(log: (line: string) => void): Promise<void> {
  let createdPolicy = false;
  try {
    await access(POLICY_RC_D);
  } catch {
    await writeFile(POLICY_RC_D, '#!/bin/sh\n# keeps apt from starting services during pvx lab install-deps\nexit 101\n', { mode: 0o755 });
    createdPolicy = true;
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): ReturnType<typeof runProcess> =>
    runProcess('apt-get', ['install', '-y', '--no-install-recommends', ...LAB_PACKAGES], { env, timeoutMs: 15 * 60_000 });
  try {
    log(`apt-get install ${LAB_PACKAGES.join(' ')}`);
    let r = await install();
    if (r.exitCode !== 0) {
      log('install failed; refreshing the package lists (apt-get update) and retrying');
      const u = await runProcess('apt-get', ['update'], { env, timeoutMs: 10 * 60_000 });
      if (u.exitCode !== 0) throw new Error(`apt-get update failed:\n${tail(u.stderr || u.stdout)}`);
      r = await install();
    }
    if (r.exitCode !== 0) throw new Error(`apt-get install failed (exit ${r.exitCode}):\n${tail(r.stderr || r.stdout)}`);
    for (const line of tail(r.stdout, 3).split('\n')) if (line) log(line);
  } finally {
    if (createdPolicy) await unlink(POLICY_RC_D).catch(() => undefined);
  }
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
