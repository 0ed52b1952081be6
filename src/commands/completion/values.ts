/** Which source completes the value of an option or an argument: by placeholder and flag, or by argument name. */
import type { Argument, Option } from 'commander';
import { SHELLS } from './scripts.js';
import { allOnNodes, backups, both, commaList, dirs, files, fixed, inventoryNodes, nothing, type Source } from './sources.js';
import { labFaults, labNames, labNodes, labPveVersions, vmids } from '../lab/complete.js';

/** The part of a placeholder inside its brackets: `--nodes <a,b,c>` → `a,b,c`. */
function placeholderOf(o: Option): string {
  return /[<[]([^>\]]*)[>\]]/.exec(o.flags)?.[1] ?? '';
}

const NODE_FLAGS = new Set(['--node', '--nodes', '--via', '--to']);

/** Where an option's values come from: by its placeholder first, then by its flag. */
export function optionSource(path: string, o: Option): Source {
  if (o.argChoices) return fixed(() => o.argChoices ?? []);
  const ph = placeholderOf(o);
  if (ph === 'file') return files;
  if (ph === 'dir') return dirs;
  if (ph === 'lab') return labNames;
  if (o.long === '--for') return fixed(async () => (await import('../../checks/types.js')).PURPOSES);
  if (o.long === '--state') return fixed(async () => (await import('../../pve/names.js')).HA_STATES);
  // one version for all nodes, or one per node: the same version may come again
  if (o.long === '--pve') return commaList(labPveVersions, { once: false });
  // `lab up --nodes <n>` is a count; every other node option names inventory nodes
  if (o.long && NODE_FLAGS.has(o.long) && !path.startsWith('lab')) return ph.includes(',') ? commaList(inventoryNodes) : inventoryNodes;
  return nothing;
}

/** Values of `lab fault <node> <fault> [arg]`'s last argument, which depend on the fault. */
const faultArg: Source = async (q) => {
  if (q.positionals[1] === 'pve-version') return labPveVersions(q);
  return nothing(q);
};

/** The command paths `pvx schema` knows, one word at a time. */
const schemaWords: Source = async (q) => {
  const { RESULT_COMMANDS } = await import('../../schema/names.js');
  const depth = q.positionals.length;
  const next = new Set<string>();
  for (const name of RESULT_COMMANDS) {
    const words = name.split(' ');
    if (words.length > depth && q.positionals.every((p, i) => words[i] === p)) next.add(words[depth] as string);
  }
  return { candidates: [...next].map((value) => ({ value })), fallback: 'none' };
};

/** Where an argument's values come from, by the argument's name (and, for a node, whose node). */
export function argumentSource(path: string, a: Argument): Source {
  switch (a.name()) {
    case 'node':
      if (path === 'lab fault') return both(labNodes, fixed(() => ['all']));
      return path.startsWith('lab ') ? labNodes : inventoryNodes;
    case 'guests':
      return commaList(both(vmids, allOnNodes));
    case 'guest':
      return vmids;
    case 'fault':
      return labFaults;
    case 'arg':
      return path === 'lab fault' ? faultArg : nothing;
    case 'backup':
      return backups;
    case 'shell':
      return fixed(() => SHELLS);
    case 'command':
      return path === 'schema' ? schemaWords : nothing;
    default:
      return a.argChoices ? fixed(() => a.argChoices ?? []) : nothing;
  }
}
