/** Turns what OpenSSH prints when it cannot connect into a typed error with a way out. */
import { UnreachableError } from '../errors.js';
import { shJoin } from './quote.js';

/** What pvx knows of how to reach a node, for messages. */
export interface SshEndpoint {
  name: string;
  host: string;
  port?: number;
  knownHostsFile?: string;
}

/** Classify ssh's own stderr (not the remote command's) into an UnreachableError; the remote shell never ran, so neither did the command. */
export function sshFailure(ep: SshEndpoint, stderr: string): UnreachableError {
  const text = stderr.trim();
  const port = ep.port ?? 22;
  const where = port === 22 ? ep.host : `${ep.host} (port ${port})`;
  const last = lastMeaningfulLine(text);
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text)) {
    return new UnreachableError(ep.name, `the SSH host key of ${ep.name} (${where}) has CHANGED since it was trusted`, {
      code: 'HOST_KEY_CHANGED',
      hint:
        `This may be a reinstalled node or an attack. Compare on the node's console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub ` +
        `with: ${keyscanCommand(ep)}; only if they match, remove the old key: ssh-keygen -R ${ep.host}${knownHostsFlag(ep, '-f')}`,
      details: { stderr: last },
      beforeCommand: true,
    });
  }
  if (/Host key verification failed|No \S+ host key is known|host key for .* is not known/i.test(text)) {
    return new UnreachableError(ep.name, `the SSH host key of ${ep.name} (${where}) is not known`, {
      code: 'HOST_KEY_UNKNOWN',
      hint:
        `pvx never skips host-key checks. Verify the key out of band: on the node's console run ` +
        `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub and compare with: ${keyscanCommand(ep)}; ` +
        `if they match, trust it: ${shJoin(['ssh-keyscan', '-p', String(port), ep.host])} >> ${ep.knownHostsFile ?? '~/.ssh/known_hosts'}`,
      details: { stderr: last },
      beforeCommand: true,
    });
  }
  if (/Permission denied|Too many authentication failures|no mutual signature/i.test(text)) {
    return new UnreachableError(ep.name, `SSH login to ${ep.name} (${where}) was refused: key authentication failed`, {
      code: 'SSH_AUTH_FAILED',
      hint: `pvx logs in with keys only (BatchMode). Install your key: ssh-copy-id -p ${port} root@${ep.host}, or set ssh.identityFile in the inventory`,
      details: { stderr: last },
      beforeCommand: true,
    });
  }
  if (/Could not resolve hostname/i.test(text)) {
    return new UnreachableError(ep.name, `cannot resolve ${ep.host} (node ${ep.name})`, {
      hint: 'check the host in the inventory, DNS or /etc/hosts',
      details: { stderr: last },
      beforeCommand: true,
    });
  }
  return new UnreachableError(ep.name, `cannot reach ${ep.name} over SSH (${where}): ${last || 'connection failed'}`, {
    hint: 'check that the node is up, that sshd runs on it and that nothing blocks the port',
    details: { stderr: last },
    beforeCommand: true,
  });
}

function keyscanCommand(ep: SshEndpoint): string {
  return `${shJoin(['ssh-keyscan', '-p', String(ep.port ?? 22), ep.host])} | ssh-keygen -lf -`;
}

function knownHostsFlag(ep: SshEndpoint, flag: string): string {
  return ep.knownHostsFile ? ` ${flag} ${ep.knownHostsFile}` : '';
}

function lastMeaningfulLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('@') && !l.startsWith('debug'));
  return lines[lines.length - 1] ?? '';
}
