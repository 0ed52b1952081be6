/** Argv builders of the host and corosync tools that preflight reads (beside the PVE ones in argv.ts). */

/** `chronyc tracking` (reference §7.1). */
export const chronyc = {
  tracking: (): string[] => ['chronyc', 'tracking'],
};

/** `timedatectl show -p NTPSynchronized --value` (reference §7.1). */
export const timedatectl = {
  ntpSynchronized: (): string[] => ['timedatectl', 'show', '-p', 'NTPSynchronized', '--value'],
};

/** corosync's own tools (reference §1.5); both only answer while corosync runs. */
export const corosyncTools = {
  linkStatus: (): string[] => ['corosync-cfgtool', '-s'],
  /** what `pvecm status` prints below its header: IPs and hex node ids */
  quorumStatus: (): string[] => ['corosync-quorumtool', '-s', '-i', '-H'],
};

/** The node's clock with nanoseconds (GNU date). */
export const clockNow = (): string[] => ['date', '+%s.%N'];

/** `ip -o addr show`: one line per configured address. */
export const ipAddresses = (): string[] => ['ip', '-o', 'addr', 'show'];

/** The CPU vendor line of the first processor (x86: `vendor_id : GenuineIntel`); exit 1 where there is none. */
export const cpuVendor = (): string[] => ['grep', '-m', '1', '^vendor_id', '/proc/cpuinfo'];
