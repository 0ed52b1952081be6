/** Guest configuration files under /etc/pve/nodes: what must still be there after a node leaves its cluster. */

/** A VM or CT configuration file of a node. */
export interface GuestFile {
  node: string;
  type: 'qemu' | 'lxc';
  vmid: number;
}

/** The command that lists every guest configuration file a node's /etc/pve holds. */
export function guestFilesArgv(): string[] {
  return ['find', '/etc/pve/nodes', '-mindepth', '3', '-maxdepth', '3', '-name', '*.conf'];
}

/** Parse the `find` listing into guest files per node directory (other files are ignored). */
export function parseGuestFiles(stdout: string): Map<string, GuestFile[]> {
  const out = new Map<string, GuestFile[]>();
  for (const line of stdout.split('\n')) {
    const m = /^\/etc\/pve\/nodes\/([^/]+)\/(qemu-server|lxc)\/(\d+)\.conf$/.exec(line.trim());
    if (!m) continue;
    const node = m[1] ?? '';
    const g: GuestFile = { node, type: m[2] === 'lxc' ? 'lxc' : 'qemu', vmid: Number(m[3]) };
    out.set(node, [...(out.get(node) ?? []), g]);
  }
  for (const list of out.values()) list.sort((a, b) => a.vmid - b.vmid);
  return out;
}

/** `VM 100` / `CT 101`. */
export function guestFileLabel(g: Pick<GuestFile, 'type' | 'vmid'>): string {
  return `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}`;
}

/** The guests of `before` that `after` lacks. */
export function missingGuests(before: readonly GuestFile[], after: readonly GuestFile[]): GuestFile[] {
  const have = new Set(after.map((g) => `${g.type}/${g.vmid}`));
  return before.filter((g) => !have.has(`${g.type}/${g.vmid}`));
}
