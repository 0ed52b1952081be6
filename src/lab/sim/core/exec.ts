/** The external programs the simulated tools call: real corosync tools, ssh, the stand-in systemctl. */
import path from 'node:path';
import { runProcess, type ProcessOptions as LabProcessOptions, type ProcessResult as LabProcessResult } from '../../process.js';

/** A finished program: a non-zero exit is data, not an exception (the lab runner's result). */
export type ProcessResult = LabProcessResult;

/** What the simulated tools pass to a program: input, a time-out, variables on top of this process's environment. */
export type ProcessOptions = Pick<LabProcessOptions, 'input' | 'timeoutMs' | 'env'>;

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

/** Run a program and collect its output (the lab's one runner, lab/process.ts). */
export function run(file: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
  return runProcess(file, args, opts);
}

/** One word for a POSIX shell: bare when it has no special characters, else single-quoted. */
export function shellWord(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Run the node's stand-in systemctl. */
export async function systemctl(binDir: string, args: readonly string[], timeoutMs = 60_000): Promise<ProcessResult> {
  return run(path.join(binDir, 'systemctl'), args, { timeoutMs });
}

/** Run a command on another node as root over ssh (the trust PVE sets up between members). */
export async function ssh(host: string, argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  const po: ProcessOptions = { timeoutMs: opts.timeoutMs ?? 120_000 };
  if (opts.input !== undefined) po.input = opts.input;
  return run(BIN.ssh, ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'root', host, '--', argv.map(shellWord).join(' ')], po);
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
