/** Files shipped beside the code (package.json, schemas/, completions/), found from wherever the code runs. */
import { existsSync } from 'node:fs';

/**
 * The URL of `rel` in the package's root folder: the nearest folder above this module that holds a
 * package.json. The code runs from src/ (tests), dist/ (tsc) or dist/bundle/ (the one-file build),
 * at different depths, so no fixed `../` count fits all three.
 */
export function packageFileUrl(rel: string): URL {
  root ??= findRoot();
  return new URL(rel, root);
}

let root: URL | undefined;

function findRoot(): URL {
  let dir = new URL('./', import.meta.url);
  for (;;) {
    if (existsSync(new URL('package.json', dir))) return dir;
    const up = new URL('../', dir);
    // at the file system's root: no package.json anywhere above; reads then fail as "not found"
    if (up.href === dir.href) return new URL('./', import.meta.url);
    dir = up;
  }
}
