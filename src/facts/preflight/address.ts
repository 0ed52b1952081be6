/** Addresses compare as text, so write IPv6 the one canonical way (lower case, shortest form). */
export function canonicalAddress(addr: string): string {
  if (!addr.includes(':')) return addr;
  try {
    return new URL(`http://[${addr.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  } catch {
    return addr.toLowerCase();
  }
}
