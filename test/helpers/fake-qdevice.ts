/**
 * Scripts for `cluster qdevice add|remove` on the strict fake transport: a cluster of nodes pve1…pveN
 * (hosts 10.99.0.N as writeInventory gives them), the outputs written by hand in the formats of the
 * reference (§1.5 pvecm status / corosync-quorumtool -s, §1.6 pvecm qdevice; /etc/pve/.members as pmxcfs serves it).
 * The cluster lock is answered by FakeLocks; every other command must be scripted.
 */
import type { ExecOptions, ExecResult } from '../../src/transport/types.js';
import { FakeLocks, isLockCommand } from './fake-lock.js';
import { FakeTransport, type Script } from './fake-transport.js';
import { nodeReadScript } from './node-read.js';

/** The strict fake with the nodes' lock folders. */
export class QdeviceFake extends FakeTransport {
  readonly locks = new FakeLocks();
  override async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (isLockCommand(argv)) return this.locks.answer(node, argv);
    return super.exec(node, argv, opts);
  }
}

const ok = (stdout: string): Partial<ExecResult> => ({ exitCode: 0, stdout, stderr: '' });

/** `pvecm status` of node `self` (1-based) in a cluster `lab` of `n` nodes, optionally with a voting QDevice. */
export function pvecmStatus(self: number, n: number, qdevice: boolean): string {
  const expected = qdevice ? n + 1 : n;
  const rows = Array.from({ length: n }, (_, i) => {
    const id = `0x${String(i + 1).padStart(8, '0')}`;
    return qdevice
      ? `${id}          1    A,V,NMW 10.99.0.${i + 1}${i + 1 === self ? ' (local)' : ''}`
      : `${id}          1 10.99.0.${i + 1}${i + 1 === self ? ' (local)' : ''}`;
  });
  return [
    'Cluster information',
    '-------------------',
    'Name:             lab',
    `Config Version:   ${qdevice ? 3 : 2}`,
    'Transport:        knet',
    'Secure auth:      on',
    '',
    'Quorum information',
    '------------------',
    'Date:             Sat Dec  5 23:00:00 2026',
    'Quorum provider:  corosync_votequorum',
    `Nodes:            ${n}`,
    `Node ID:          0x${String(self).padStart(8, '0')}`,
    'Ring ID:          1.9',
    'Quorate:          Yes',
    '',
    'Votequorum information',
    '----------------------',
    `Expected votes:   ${expected}`,
    `Highest expected: ${expected}`,
    `Total votes:      ${expected}`,
    `Quorum:           ${Math.floor(expected / 2) + 1}  `,
    `Flags:            Quorate${qdevice ? ' Qdevice' : ''} `,
    '',
    'Membership information',
    '----------------------',
    qdevice ? '    Nodeid      Votes    Qdevice Name' : '    Nodeid      Votes Name',
    ...rows,
    ...(qdevice ? ['0x00000000          1            Qdevice'] : []),
    '',
  ].join('\n');
}

/** `corosync-quorumtool -s` of node `self`: names, decimal ids; `votes` says what the votequorum block shows. */
export function quorumtool(self: number, n: number, votes: { expected: number; total: number; qdevice: boolean }): string {
  const rows = Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(10)}          1${votes.qdevice ? '    A,V,NMW' : ''} pve${i + 1}${i + 1 === self ? ' (local)' : ''}`);
  return [
    'Quorum information',
    '------------------',
    'Date:             Sat Dec  5 23:05:00 2026',
    'Quorum provider:  corosync_votequorum',
    `Nodes:            ${n}`,
    `Node ID:          ${self}`,
    'Ring ID:          1.9',
    'Quorate:          Yes',
    '',
    'Votequorum information',
    '----------------------',
    `Expected votes:   ${votes.expected}`,
    `Highest expected: ${votes.expected}`,
    `Total votes:      ${votes.total}`,
    `Quorum:           ${Math.floor(votes.expected / 2) + 1}  `,
    `Flags:            Quorate${votes.qdevice ? ' Qdevice' : ''} `,
    '',
    'Membership information',
    '----------------------',
    votes.qdevice ? '    Nodeid      Votes    Qdevice Name' : '    Nodeid      Votes Name',
    ...rows,
    ...(votes.qdevice ? ['         0          1            Qdevice'] : []),
    '',
  ].join('\n');
}

const DEVICE = `  device {
    model: net
    net {
      algorithm: ffsplit
      host: 10.99.0.5
      tls: on
    }
    votes: 1
  }
`;

/** /etc/pve/corosync.conf of cluster `lab` with `n` nodes, with or without the QDevice pvecm qdevice setup writes (§1.6). */
export function corosyncConf(n: number, qdevice: boolean): string {
  const nodes = Array.from({ length: n }, (_, i) => `  node {\n    name: pve${i + 1}\n    nodeid: ${i + 1}\n    quorum_votes: 1\n    ring0_addr: 10.99.0.${i + 1}\n  }\n`).join('');
  return `logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n${nodes}}\n\nquorum {\n${qdevice ? DEVICE : ''}  provider: corosync_votequorum\n}\n\ntotem {\n  cluster_name: lab\n  config_version: ${qdevice ? 3 : 2}\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n`;
}

/** `/etc/pve/.members` of node `self` (pve-cluster status.c cfs_create_memberlist_msg); `offline` nodes show online 0. */
export function membersFile(self: number, n: number, offline: readonly number[] = []): string {
  const rows = Array.from({ length: n }, (_, i) => `  "pve${i + 1}": { "id": ${i + 1}, "online": ${offline.includes(i + 1) ? 0 : 1}, "ip": "10.99.0.${i + 1}"}`);
  return `{\n"nodename": "pve${self}",\n"version": 5,\n"cluster": { "name": "lab", "version": 2, "nodes": ${n}, "quorate": 1 },\n"nodelist": {\n${rows.join(',\n')}\n  }\n}\n`;
}

/** One node's membership read (corosync.conf, corosync-quorumtool -siH, .members, the pve-manager version). */
export function membershipReads(node: number, n: number, o: { qdevice: boolean; offline?: readonly number[] }): Script[] {
  const status = pvecmStatus(node, n, o.qdevice);
  const quorum = status.slice(status.indexOf('Quorum information'));
  return [
    nodeReadScript(`pve${node}`, {
      conf: { stdout: corosyncConf(n, o.qdevice) },
      quorum: { stdout: quorum },
      members: { stdout: membersFile(node, n, o.offline) },
      version: { stdout: 'installed 9.0.6\n' },
    }),
  ];
}

/** The commands the add preflight runs; `answers` overrides what a probe answers. */
export function addPreflight(
  n: number,
  host: string,
  answers: { tcp?: Record<number, Partial<ExecResult>>; pkg?: Record<number, Partial<ExecResult>>; ssh?: Partial<ExecResult>; certStore?: Partial<ExecResult>; conf?: string; force?: boolean } = {},
): Script[] {
  const scripts: Script[] = [];
  for (let i = 1; i <= n; i++) {
    scripts.push(...membershipReads(i, n, { qdevice: false }));
    scripts.push({ node: `pve${i}`, argv: ['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', 'pvx-tcp-probe', host, '5403'], result: answers.tcp?.[i] ?? ok('') });
    scripts.push({ node: `pve${i}`, argv: ['dpkg-query', '-W', '-f=${Status}', 'corosync-qdevice'], result: answers.pkg?.[i] ?? ok('install ok installed') });
  }
  scripts.push({ node: 'pve1', argv: ['cat', '/etc/pve/corosync.conf'], result: ok(answers.conf ?? corosyncConf(n, false)) });
  scripts.push({
    node: 'pve1',
    argv: ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'root', host, 'corosync-qnetd-tool', '-s'],
    // pvx judges only the exit code here (0: ssh worked and corosync-qnetd answered)
    result: answers.ssh ?? ok(''),
  });
  if (!answers.force) scripts.push({ node: 'pve1', argv: ['test', '-e', '/etc/corosync/qdevice/net/nssdb'], result: answers.certStore ?? { exitCode: 1, stdout: '', stderr: '' } });
  return scripts;
}
