/** Reads the captured samples under test/fixtures/pve (copied verbatim from the CLI reference). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../fixtures/pve/', import.meta.url));

/** The fixture text, byte for byte. */
export function fixture(path: string): string {
  return readFileSync(ROOT + path, 'utf8');
}
