/** The external programs the simulated tools call: real corosync tools, ssh, the stand-in systemctl. */
import path from 'node:path';
import type { ProcessResult } from '../../../transport/process.js';
import { shJoin } from '../../../transport/quote.js';
import { runChild, type ChildOptions } from './run-child.js';

/** Absolute paths, as PVE's tools run with PATH reset to the system directories. */
export const BIN = {
  quorumtool: '/usr/sbin/corosync-quorumtool',
  cfgtool: '/usr/sbin/corosync-cfgtool',
  cmapctl: '/usr/sbin/corosync-cmapctl',
  keygen: '/usr/sbin/corosync-keygen',
  ssh: '/usr/bin/ssh',
  mount: '/usr/bin/mount',
  umount: '/usr/bin/umount',
} as const;

/** Run a program and collect its output. */
export function run(file: string, args: readonly string[], opts: ChildOptions = {}): Promise<ProcessResult> {
  return runChild(file, args, opts);
}

/** Run the node's stand-in systemctl. */
export async function systemctl(binDir: string, args: readonly string[], timeoutMs = 60_000): Promise<ProcessResult> {
  return run(path.join(binDir, 'systemctl'), args, { timeoutMs });
}

/** Run a command on another node as root over ssh (the trust PVE sets up between members). */
export async function ssh(host: string, argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  const po: ChildOptions = { timeoutMs: opts.timeoutMs ?? 120_000 };
  if (opts.input !== undefined) po.input = opts.input;
  return run(BIN.ssh, ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'root', host, '--', shJoin(argv)], po);
}

/** `ssh` as PVE prints it in migration logs (PVE::SSHInfo::ssh_info_to_command). */
export function pveSshCommand(name: string, ip: string): string[] {
  return [
    '/usr/bin/ssh',
    '-e',
    'none',
    '-o',
    'BatchMode=yes',
    '-o',
    `HostKeyAlias=${name}`,
    '-o',
    `UserKnownHostsFile=/etc/pve/nodes/${name}/ssh_known_hosts`,
    '-o',
    'GlobalKnownHostsFile=none',
    `root@${ip}`,
  ];
}

/** PVE::Tools::cmd2string: each word quoted only when needed, with single quotes. */
export function cmd2string(argv: readonly string[]): string {
  return argv.map((a) => (/^[-_.a-zA-Z0-9/:@%+=,]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`)).join(' ');
}
