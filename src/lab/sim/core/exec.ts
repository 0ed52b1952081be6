/** The external programs the simulated tools call: real corosync tools, ssh, the stand-in systemctl. */
import path from 'node:path';

/** A finished program: a non-zero exit is data, not an exception. */
export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What the simulated tools pass to a program. */
export interface ProcessOptions {
  input?: string;
  timeoutMs?: number;
  /** variables set on top of this process's environment */
  env?: NodeJS.ProcessEnv;
}

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

/** Run a program (loaded lazily: most tool calls never start a process). */
export async function run(file: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
  const { execa } = await import('execa');
  const r = await execa(file, [...args], {
    reject: false,
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  let stderr = typeof r.stderr === 'string' ? r.stderr : '';
  let exitCode = typeof r.exitCode === 'number' ? r.exitCode : r.timedOut ? 124 : 128;
  if (r.failed && r.exitCode === undefined && !r.signal && !r.timedOut) {
    // the program could not be started (ENOENT, EACCES): the shell's 127 and the reason
    exitCode = 127;
    stderr = stderr || String(r.message);
  }
  return { exitCode, stdout, stderr };
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
