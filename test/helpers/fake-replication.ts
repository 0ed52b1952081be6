/**
 * Scripted answers for `pvx replication` tests on the strict FakeTransport: `pvecm status`,
 * /cluster/resources, `pvesr list|status`, `pvesm status` and `qm config` in the formats of the
 * reference (§1.5, §1.7, §8.2, §8.3), written out by hand; plus a transport that answers the
 * cluster lock's commands from FakeLocks and hands every other command to the strict fake.
 */
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/types.js';
import { FakeLocks, isLockCommand } from './fake-lock.js';
import type { FakeTransport, Script } from './fake-transport.js';
import { sample } from '../unit/checks/scenario.js';

/** `pvecm status` of a quorate 3-node cluster (real sample). */
export const PVECM_QUORATE = sample('pve/pvecm-status/pve9-3node-cluster-validation.txt');

/** `pvecm status` of a member without quorum: the quorate sample with `Quorate: No`. */
export const PVECM_NOT_QUORATE = PVECM_QUORATE.replace('Quorate:          Yes', 'Quorate:          No').replace('Flags:            Quorate', 'Flags:            ');

/** /cluster/resources: three online nodes, guest 100 (local-zfs), 101 (local-lvm) and 102 (local-zfs plus an NFS disk) on pve1. */
export function resourcesJson(opts: { offline?: string[] } = {}): string {
  const rows: unknown[] = [
    { id: 'qemu/100', vmid: 100, type: 'qemu', name: 'zfsvm', node: 'pve1', status: 'running', template: 0 },
    { id: 'qemu/101', vmid: 101, type: 'qemu', name: 'lvmvm', node: 'pve1', status: 'stopped', template: 0 },
    { id: 'lxc/102', vmid: 102, type: 'lxc', name: 'ct', node: 'pve1', status: 'running', template: 0 },
  ];
  for (const n of ['pve1', 'pve2', 'pve3']) {
    rows.push({ id: `node/${n}`, node: n, type: 'node', status: opts.offline?.includes(n) ? 'offline' : 'online', level: '' });
    rows.push({ id: `storage/${n}/local-zfs`, storage: 'local-zfs', node: n, type: 'storage', plugintype: 'zfspool', shared: 0, status: 'available', content: 'images,rootdir' });
    rows.push({ id: `storage/${n}/local-lvm`, storage: 'local-lvm', node: n, type: 'storage', plugintype: 'lvmthin', shared: 0, status: 'available', content: 'images,rootdir' });
    rows.push({ id: `storage/${n}/nas`, storage: 'nas', node: n, type: 'storage', plugintype: 'nfs', shared: 1, status: 'available', content: 'images' });
  }
  return JSON.stringify(rows) + '\n';
}

/** `pvesr list` (`%-20s %-20s %10s %5s %8s`) with these jobs. */
export function pvesrListText(jobs: Array<{ id: string; target: string; schedule?: string; rate?: string; enabled?: boolean }>): string {
  const row = (a: string, b: string, c: string, d: string, e: string) => `${a.padEnd(20)} ${b.padEnd(20)} ${c.padStart(10)} ${d.padStart(5)} ${e.padStart(8)}\n`;
  return row('JobID', 'Target', 'Schedule', 'Rate', 'Enabled') + jobs.map((j) => row(j.id, `local/${j.target}`, j.schedule ?? '*/15', j.rate ?? '-', j.enabled === false ? 'no' : 'yes')).join('');
}

/** `pvesr status` (`%-10s %-10s %-20s %20s %20s %10s %10s %s`) with these rows. */
export function pvesrStatusText(rows: Array<{ id: string; target: string; last?: string; next?: string; duration?: string; fails?: number; state?: string }>): string {
  const row = (a: string, b: string, c: string, d: string, e: string, f: string, g: string, h: string) =>
    `${a.padEnd(10)} ${b.padEnd(10)} ${c.padEnd(20)} ${d.padStart(20)} ${e.padStart(20)} ${f.padStart(10)} ${g.padStart(10)} ${h}\n`;
  return (
    row('JobID', 'Enabled', 'Target', 'LastSync', 'NextSync', 'Duration', 'FailCount', 'State') +
    rows.map((r) => row(r.id, 'Yes', `local/${r.target}`, r.last ?? '-', r.next ?? 'pending', r.duration ?? '-', String(r.fails ?? 0), r.state ?? 'OK')).join('')
  );
}

/** `pvesm status` of a node (reference §8.2 layout) with these storages. */
export function pvesmStatusText(rows: Array<[name: string, type: string, status?: string]>): string {
  const head = 'Name             Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %\n';
  return (
    head +
    rows
      .map(([n, t, s = 'active']) => `${n.padEnd(16)} ${t.padStart(8)} ${s.padStart(10)} ${'67169672'.padStart(15)} ${'48329328'.padStart(15)} ${'15382504'.padStart(15)} ${(s === 'disabled' ? 'N/A' : '71.95%').padStart(8)}\n`)
      .join('')
  );
}

/** The storages every node has, as pvesm status lists them. */
export const STORAGES: Array<[string, string, string?]> = [
  ['local', 'dir'],
  ['local-lvm', 'lvmthin'],
  ['local-zfs', 'zfspool'],
  ['nas', 'nfs'],
];

const ok = (stdout: string): Partial<ExecResult> => ({ exitCode: 0, stdout, stderr: '' });

/** The reads every command starts with: the quorum on pve1, the resources and the jobs from it. */
export function clusterReads(jobs: Parameters<typeof pvesrListText>[0] = [], resources = resourcesJson()): Script[] {
  return [
    { node: 'pve1', argv: ['pvecm', 'status'], result: ok(PVECM_QUORATE) },
    { node: 'pve1', argv: ['pvesh', 'get', '/cluster/resources', '--output-format', 'json'], result: ok(resources) },
    { node: 'pve1', argv: ['pvesr', 'list'], result: ok(pvesrListText(jobs)) },
  ];
}

/** A command's answer. */
export function answer(stdout: string, stderr = '', exitCode = 0): Partial<ExecResult> {
  return { exitCode, stdout, stderr };
}

/** The strict fake, with the cluster lock's commands answered by FakeLocks (their argv carries a random token). */
export class LockingFake implements Transport {
  readonly conversations = true;
  readonly locks = new FakeLocks();
  constructor(readonly inner: FakeTransport) {}

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (isLockCommand(argv)) return this.locks.answer(node, argv);
    return this.inner.exec(node, argv, opts);
  }

  /** Commands other than the lock's that changed something (mutates flagged), as `node: argv`. */
  mutations(): string[] {
    return this.inner.calls.filter((c) => c.opts.mutates).map((c) => `${c.node}: ${c.argv.join(' ')}`);
  }
}
