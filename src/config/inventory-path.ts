/** Where the inventory file is (CLI.md), without reading it: shared by the commands and shell completion. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { configDir, expandHome } from './paths.js';

/** Where the inventory is: --inventory (`flag`), then PVX_INVENTORY (`fromEnv`), then ./pvx.yaml, then the user config dir. */
export function findInventory(flag: string | undefined, fromEnv: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const explicit = flag ?? fromEnv;
  if (explicit) {
    const p = path.resolve(cwd, expandHome(explicit, env));
    if (!existsSync(p)) {
      throw new ConfigError(`inventory file ${p} does not exist`, {
        hint: flag ? 'check the --inventory path' : 'check PVX_INVENTORY, or unset it',
      });
    }
    return p;
  }
  for (const candidate of [path.join(cwd, 'pvx.yaml'), path.join(configDir(env), 'inventory.yaml')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
