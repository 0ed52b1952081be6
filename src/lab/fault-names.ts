/** The faults `pvx lab fault` knows, apart from the code that applies them (shell completion reads this alone). */

/** Every fault `labFault` knows. */
export const LAB_FAULTS = ['block-udp', 'skew', 'stop-corosync', 'kill-corosync', 'down', 'pve-version', 'hosts-loopback', 'heal'] as const;

/** One of LAB_FAULTS. */
export type LabFault = (typeof LAB_FAULTS)[number];
