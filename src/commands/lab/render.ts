/** Human rendering of `pvx lab …` results. */
import type { Deps } from '../../context.js';
import type { LabInfo, LabStatus } from '../../lab/index.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable } from '../../ui/table.js';

/** After `lab up`: the nodes, and how to point pvx at them. */
export function renderLabUp(o: Outcome<LabInfo>, deps: Deps): string {
  const r = o.result;
  const { c } = deps.theme;
  const rows = r.nodes.map((n) => [n.name, n.address]);
  return (
    renderTable(['NODE', 'ADDRESS'], rows) +
    (r.qnetd ? `\nQNetd host:         ${r.qnetd.address} (pvecm qdevice setup ${r.qnetd.address})\n` : '') +
    `\ninventory:          ${r.inventory}\n` +
    `root password file: ${r.rootPasswordFile}\n\n` +
    c.dim(`next: pvx -i "$(pvx lab inventory${r.name === 'pvx' ? '' : ` --name ${r.name}`})" cluster status\n`)
  );
}

/** `lab status`: one row per node with what runs on it. */
export function renderLabStatus(o: Outcome<LabStatus>, deps: Deps): string {
  const s = o.result;
  if (!s.exists) return '';
  const { c } = deps.theme;
  const yes = (b: boolean) => (b ? c.green('yes') : c.dim('no'));
  const rows = s.nodes.map((n) => [
    n.name,
    n.address,
    n.pveVersion,
    n.running ? (n.link === 'down' ? c.yellow('link down') : c.green('up')) : c.red('dead'),
    yes(n.sshd),
    yes(n.chronyd),
    yes(n.corosync),
    yes(n.pmxcfs),
    n.faults.join(', ') || '-',
  ]);
  return `lab '${s.name}'  subnet ${s.subnet ?? '?'}  bridge ${s.bridge ?? '?'}${s.bridgeUp ? '' : c.red(' (down)')}\n\n` +
    renderTable(['NODE', 'ADDRESS', 'PVE', 'STATE', 'SSHD', 'CHRONYD', 'COROSYNC', 'PMXCFS', 'FAULTS'], rows) +
    (s.qnetd
      ? `\nQNetd host ${s.qnetd.address}: ${s.qnetd.running ? c.green('up') : c.red('dead')}, sshd ${yes(s.qnetd.sshd)}, corosync-qnetd ${yes(s.qnetd.qnetd)}\n`
      : '') +
    (s.inventory ? `\ninventory: ${s.inventory}\n` : '');
}

/** `lab inventory`: just the path, so that $(pvx lab inventory) works. */
export function renderLabInventory(o: Outcome<{ inventory: string }>): string {
  return `${o.result.inventory}\n`;
}

/** `lab down` / `lab fault` / `lab exec`: progress already said it all. */
export function renderNothing(): string {
  return '';
}
