/** The pvx inventory of a lab (CLI.md's format), pointing at the lab's own key and known_hosts. */
import { stringify } from 'yaml';
import type { NodeRef } from './node-files.js';

/** Inventory document for the lab's nodes (`host` and `link0` are the node's lab address). */
export function inventoryYaml(opts: { lab: string; clientKey: string; knownHosts: string; nodes: readonly NodeRef[] }): string {
  const doc = {
    ssh: { user: 'root', identityFile: opts.clientKey, knownHostsFile: opts.knownHosts, connectTimeout: 5 },
    nodes: opts.nodes.map((n) => ({ name: n.name, host: n.address, link0: n.address })),
  };
  return `# pvx lab '${opts.lab}' (written by pvx lab up; rewritten on every up)\n${stringify(doc)}`;
}
