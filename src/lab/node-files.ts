/** Contents of the files `lab up` writes into a node's /etc (pure; written by node-setup). */
import { labWord } from './sh-words.js';
import { NODE_DPKG_DIR, NODE_IDENTITY_FILE } from './layout.js';
import { LAB_DOMAIN, type LabSubnet } from './names.js';
import { NODE_PATH } from './units.js';

/** A node as the generated files see it. */
export interface NodeRef {
  name: string;
  address: string;
}

/**
 * /etc/hosts as the PVE installer writes it: `<ip> <fqdn> <name>` for every lab node and no
 * 127.0.1.1 line. With `loopbackSelf` (the hosts-loopback fault) the node's own name maps to
 * 127.0.1.1 instead, the Debian default that breaks PVE.
 */
export function hostsFile(nodes: readonly NodeRef[], self: string, loopbackSelf = false): string {
  const lines = ['127.0.0.1 localhost.localdomain localhost'];
  if (loopbackSelf) lines.push(`127.0.1.1 ${self}.${LAB_DOMAIN} ${self}`);
  for (const n of nodes) {
    if (loopbackSelf && n.name === self) continue;
    lines.push(`${n.address} ${n.name}.${LAB_DOMAIN} ${n.name}`);
  }
  lines.push(
    '',
    '# The following lines are desirable for IPv6 capable hosts',
    '',
    '::1     ip6-localhost ip6-loopback',
    'fe00::0 ip6-localnet',
    'ff00::0 ip6-mcastprefix',
    'ff02::1 ip6-allnodes',
    'ff02::2 ip6-allrouters',
    'ff02::3 ip6-allhosts',
  );
  return `${lines.join('\n')}\n`;
}

/** FAKETIME value for a skew in seconds: "+2.5", "-30". */
export function faketimeOffset(seconds: number): string {
  const s = Number(seconds.toFixed(3)).toString();
  return seconds >= 0 ? `+${s}` : s;
}

/**
 * /etc/environment, which pam_env applies to every ssh session: the stand-ins first on PATH, and
 * when skewed, libfaketime for the session's clock. Only sessions get it, never daemons (pitfall 5).
 */
export function environmentFile(opts: { skew?: number; faketimeLib?: string }): string {
  const lines = [`PATH="${NODE_PATH}"`];
  if (opts.skew && opts.faketimeLib) {
    lines.push(`LD_PRELOAD=${opts.faketimeLib}`, `FAKETIME="${faketimeOffset(opts.skew)}"`, 'FAKETIME_DONT_FAKE_MONOTONIC=1');
  }
  return `${lines.join('\n')}\n`;
}

/** Parse /etc/environment-style lines (KEY=VALUE, optional quotes, # comments). */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    let v = m[2];
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) v = v.slice(1, -1);
    env[m[1]] = v;
  }
  return env;
}

/** The node's sshd_config: root by key only, no DNS lookups, PAM on so pam_env reads /etc/environment. */
export function sshdConfig(): string {
  return `# pvx lab node: root login by key only
Port 22
AddressFamily inet
HostKey /etc/ssh/ssh_host_rsa_key
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
UseDNS no
PrintMotd no
AcceptEnv LANG LC_*
MaxStartups 64:30:128
MaxSessions 64
Subsystem sftp /usr/lib/openssh/sftp-server
`;
}

/**
 * chrony.conf of a node. The first node serves the lab (`local stratum 8`); the others follow it
 * with `offset` = their simulated skew. chronyd always runs with -x, so nothing here can move the
 * host's clock (pitfall 1); the offset only changes what chronyd reports.
 */
export function chronyConf(opts: { server: boolean; serverAddress: string; subnet: LabSubnet; skew?: number }): string {
  const lines = ['# pvx lab node: chronyd runs with -x and never sets the clock'];
  if (opts.server) {
    lines.push('local stratum 8', `allow ${opts.subnet.cidr}`);
  } else {
    // chrony adds `offset` to what it measures; a clock that is ahead measures the server as behind
    const offset = opts.skew ? -opts.skew : 0;
    lines.push(`server ${opts.serverAddress} iburst minpoll -2 maxpoll 2 offset ${Number(offset.toFixed(3))}`);
  }
  lines.push(
    'driftfile /var/lib/chrony/chrony.drift',
    'pidfile /run/chrony/chronyd.pid',
    'logdir /var/log/chrony',
    'bindcmdaddress 127.0.0.1',
    'bindcmdaddress /run/chrony/chronyd.sock',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * A stand-in tool: `exec node main.js <tool> "$@"`. dpkg-query is the real one over the node's own
 * package database while that is newer than the host's and than the node's identity (its PVE
 * version); only then does the simulator have to bring it up to date first.
 */
export function toolWrapper(nodeBinary: string, mainJs: string, tool: string): string {
  const sim = `exec ${labWord(nodeBinary)} ${labWord(mainJs)} ${labWord(tool)} "$@"\n`;
  if (tool !== 'dpkg-query') return `#!/bin/sh\n${sim}`;
  const d = labWord(NODE_DPKG_DIR);
  return (
    '#!/bin/sh\n' +
    `if [ ${d}/status -nt /var/lib/dpkg/status ] && [ ${d}/status -nt ${labWord(NODE_IDENTITY_FILE)} ]; then\n` +
    `  exec /usr/bin/dpkg-query --admindir=${d} "$@"\n` +
    'fi\n' +
    sim
  );
}

/** The key blob of an OpenSSH public key line (type + base64), for comparisons. */
function keyBlob(line: string): string | undefined {
  const m = /(?:^|\s)((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/=]+)/.exec(line);
  return m ? `${m[1]} ${m[2]}` : undefined;
}

/** authorized_keys with every key of `keys` present: existing lines are kept, missing keys appended. */
export function mergeAuthorizedKeys(existing: string, keys: readonly string[]): string {
  const lines = existing.split('\n').filter((l) => l.trim() !== '');
  const have = new Set(lines.map(keyBlob).filter((b): b is string => b !== undefined));
  for (const k of keys) {
    const blob = keyBlob(k);
    if (blob && !have.has(blob)) {
      lines.push(k.trim());
      have.add(blob);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** A node's host keys: one public key line per type (`ssh-ed25519 AAAA… comment`). */
export interface HostKeys {
  node: NodeRef;
  keys: string[];
}

/** /etc/ssh/ssh_known_hosts of a node: every node by name, FQDN and address. */
export function nodeKnownHosts(all: readonly HostKeys[]): string {
  const lines: string[] = [];
  for (const h of all) {
    const names = `${h.node.name},${h.node.name}.${LAB_DOMAIN},${h.node.address}`;
    for (const k of h.keys) {
      const blob = keyBlob(k);
      if (blob) lines.push(`${names} ${blob}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The lab's client known_hosts: every node's host keys under its address (what inventories connect to). */
export function clientKnownHosts(all: readonly HostKeys[]): string {
  const lines: string[] = [];
  for (const h of all) {
    for (const k of h.keys) {
      const blob = keyBlob(k);
      if (blob) lines.push(`${h.node.address} ${blob}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A ruleset that drops the given UDP ports in both directions (loopback untouched), replacing any earlier one. */
export function blockUdpRuleset(table: string, ports: readonly string[]): string {
  const clear = `table inet ${table}\ndelete table inet ${table}\n`;
  if (ports.length === 0) return clear;
  const rules = (dir: 'iifname' | 'oifname'): string =>
    [`${dir} "lo" accept`, ...ports.flatMap((p) => [`udp dport ${p} drop`, `udp sport ${p} drop`])]
      .map((r) => `    ${r}`)
      .join('\n');
  return `${clear}table inet ${table} {
  chain input {
    type filter hook input priority 0; policy accept;
${rules('iifname')}
  }
  chain output {
    type filter hook output priority 0; policy accept;
${rules('oifname')}
  }
}
`;
}

/** Validate a `block-udp` argument: a port or `from-to`; returns it normalised ("5405", "5404-5412"). */
export function parsePortSpec(spec: string): string | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(spec.trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || from > to) return undefined;
  return from === to ? String(from) : `${from}-${to}`;
}
