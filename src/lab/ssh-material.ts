/** SSH keys of a lab: the client key, each node's host keys and root key, and the lab root password. */
import { randomBytes } from 'node:crypto';
import { access, lstat, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runProcess } from './process.js';
import { inNode, readNodeFile } from './node-fs.js';

const HOST_KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function keygen(args: readonly string[]): Promise<void> {
  const r = await runProcess('ssh-keygen', args);
  if (r.exitCode !== 0) throw new Error(`ssh-keygen ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
}

/** Create the lab's client key (ed25519, no passphrase) unless present; returns its public line. */
export async function ensureClientKey(keyFile: string, lab: string): Promise<string> {
  return ensureKeyPair(keyFile, ['-t', 'ed25519', '-C', `pvx-lab-${lab}`]);
}

/** A key pair at `keyFile` (+ .pub), generated unless both halves exist (an interrupted run may leave one). */
async function ensureKeyPair(keyFile: string, typeArgs: readonly string[]): Promise<string> {
  if (!((await isNonEmptyFile(keyFile)) && (await isNonEmptyFile(`${keyFile}.pub`)))) {
    for (const f of [keyFile, `${keyFile}.pub`]) await unlink(f).catch(() => undefined);
    await keygen(['-q', ...typeArgs, '-N', '', '-f', keyFile]);
  }
  return (await readFile(`${keyFile}.pub`, 'utf8')).trim();
}

/**
 * Give the node host keys of its own unless it has them: the overlay shows the host's keys until
 * the node writes its own, so the old ones are removed first (pitfall 13 keeps them across re-ups).
 * Generated from the host through the node's root, straight into its overlay; RSA at 2048 bits
 * keeps a cold `up` fast (the size is invisible to anything the lab exercises).
 * Returns true when keys were generated.
 */
export async function ensureHostKeys(initPid: number, nodeDir: string, node: string): Promise<boolean> {
  const upper = path.join(nodeDir, 'etc-upper', 'ssh');
  // whiteouts (removed files) are character devices in the upper layer: only real, non-empty files count
  const own = await Promise.all(
    HOST_KEY_TYPES.flatMap((t) => [`ssh_host_${t}_key`, `ssh_host_${t}_key.pub`]).map((f) => isNonEmptyFile(path.join(upper, f))),
  );
  if (own.every(Boolean)) return false;
  // also drop temp files of an interrupted ssh-keygen
  const sshDir = inNode(initPid, '/etc/ssh');
  for (const f of await readdir(sshDir).catch(() => [] as string[])) {
    if (f.startsWith('ssh_host_')) await unlink(path.join(sshDir, f)).catch(() => undefined);
  }
  for (const t of HOST_KEY_TYPES) {
    const size = t === 'rsa' ? ['-b', '2048'] : [];
    await keygen(['-q', '-t', t, ...size, '-N', '', '-C', `root@${node}`, '-f', path.join(sshDir, `ssh_host_${t}_key`)]);
  }
  return true;
}

async function isNonEmptyFile(p: string): Promise<boolean> {
  try {
    const st = await lstat(p);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}

/** The node's public host keys, one line per type. */
export async function readHostKeys(initPid: number): Promise<string[]> {
  const keys: string[] = [];
  for (const t of HOST_KEY_TYPES) {
    const k = await readNodeFile(initPid, `/etc/ssh/ssh_host_${t}_key.pub`);
    if (k) keys.push(k.trim());
  }
  return keys;
}

/** Create root's own key pair in the node's /root/.ssh (as a PVE node has one) unless present; returns its public line. */
export async function ensureRootKey(nodeDir: string, node: string): Promise<string> {
  const dir = path.join(nodeDir, 'root', '.ssh');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return ensureKeyPair(path.join(dir, 'id_rsa'), ['-t', 'rsa', '-b', '2048', '-C', `root@${node}`]);
}

/** Write a file of the node's /root (a plain bind of the node dir) unless it is a symlink; returns true if written. */
export async function writeRootFile(nodeDir: string, rel: string, content: string, mode: number): Promise<boolean> {
  const file = path.join(nodeDir, 'root', rel);
  try {
    if ((await lstat(file)).isSymbolicLink()) return false;
    if ((await readFile(file, 'utf8')) === content) return false;
  } catch {
    /* absent */
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, content, { mode });
  return true;
}

/** Read a file of the node's /root, or '' (following no symlink out of the node). */
export async function readRootFile(nodeDir: string, rel: string): Promise<string> {
  const file = path.join(nodeDir, 'root', rel);
  try {
    if ((await lstat(file)).isSymbolicLink()) return '';
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** Create the lab's random root password (mode 0600) unless present. It is never printed or put in argv. */
export async function ensureRootPassword(file: string): Promise<void> {
  if (await exists(file)) return;
  await writeFile(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
}
