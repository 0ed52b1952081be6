/** The CPU vendor of a node from its `/proc/cpuinfo` `vendor_id` line (x86 only; others have none). */

/** `GenuineIntel`, `AuthenticAMD`, ... or undefined when the text has no vendor line. */
export function parseCpuVendor(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  return /^vendor_id\s*:\s*(\S+)/m.exec(text)?.[1];
}
