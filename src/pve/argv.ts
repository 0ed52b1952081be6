/** Argv builders of the native tools: the exact commands pvx runs (and dry-run prints). */

/** `pvecm` commands. */
export const pvecm = {
  status: (): string[] => ['pvecm', 'status'],
  nodes: (): string[] => ['pvecm', 'nodes'],
};

/** `pvesh get <path> --output-format json` (one line, sorted keys, 0/1 booleans). */
export function pveshGet(apiPath: string, extra: readonly string[] = []): string[] {
  return ['pvesh', 'get', apiPath, ...extra, '--output-format', 'json'];
}

/** `pveversion` and `pveversion -v`. */
export const pveversion = {
  short: (): string[] => ['pveversion'],
  verbose: (): string[] => ['pveversion', '-v'],
};
