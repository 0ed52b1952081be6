/** The two-node caveat of votequorum, in words. */
export function twoNodeWarning(cluster: string, members: readonly string[]): string {
  return `cluster '${cluster}' has two nodes (${members.join(', ')}): when either is down the other loses quorum and /etc/pve turns read-only; add a third node or a QDevice (pvecm qdevice setup <ip>)`;
}
