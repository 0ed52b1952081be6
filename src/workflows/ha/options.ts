/**
 * The options of `pvx ha add|set|remove`, validated before anything runs (every problem at once):
 * guest selectors, the node preference `n1:prio,n2`, the requested state and the limits.
 */
import { createHash } from 'node:crypto';
import { HA_STATES, nodeNameProblem, type HaState } from '../../pve/names.js';
import { parseSelectors, type Selector } from '../guest-selectors.js';

/** One node of a preference; a node without a priority has priority 0 in PVE. */
export interface NodePriority {
  node: string;
  priority?: number;
}

/** A node preference: where HA should run the guests, and whether only there. */
export interface NodePreference {
  nodes: NodePriority[];
  strict: boolean;
}

/** The options as commander hands them over (strings, unparsed). */
export interface HaInput {
  guests: string[];
  nodes?: string;
  strict?: boolean;
  state?: string;
  maxRestart?: string;
  maxRelocate?: string;
  comment?: string;
  timeout?: string;
}

/** Validated options. */
export interface HaOptions {
  selectors: Selector[];
  preference?: NodePreference;
  state?: HaState;
  maxRestart?: number;
  maxRelocate?: number;
  comment?: string;
  timeoutSec: number;
}

/** How long to wait for the HA stack to take a change on (its rounds are ~10 s each on PVE). */
export const DEFAULT_HA_TIMEOUT_SEC = 120;
const MAX_PRIORITY = 1000;
const MAX_LIMIT = 100;

/** Parse `n1:2,n2:1,n3`; problems name the item. */
export function parseNodePriorities(raw: string): { nodes: NodePriority[]; problems: string[] } {
  const nodes: NodePriority[] = [];
  const problems: string[] = [];
  const items = raw.split(',').map((s) => s.trim());
  for (const item of items) {
    if (item === '') {
      problems.push(`--nodes '${raw}' has an empty item`);
      continue;
    }
    const m = /^([^:]*)(?::(.*))?$/.exec(item) as RegExpExecArray;
    const node = m[1] ?? '';
    const p = nodeNameProblem(node);
    if (p) {
      problems.push(`--nodes: ${p}`);
      continue;
    }
    if (nodes.some((n) => n.node === node)) {
      problems.push(`--nodes names ${node} twice`);
      continue;
    }
    if (m[2] === undefined) {
      nodes.push({ node });
      continue;
    }
    if (!/^[0-9]+$/.test(m[2]) || Number(m[2]) > MAX_PRIORITY) {
      problems.push(`--nodes: the priority of ${node} must be a whole number from 0 to ${MAX_PRIORITY} (higher is preferred), got '${m[2]}'`);
      continue;
    }
    nodes.push({ node, priority: Number(m[2]) });
  }
  return { nodes, problems };
}

/** The preference as PVE writes it: nodes sorted by name, `node:prio` (priority 0 left bare). */
export function preferenceText(nodes: readonly NodePriority[]): string {
  return [...nodes]
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    .map((n) => (n.priority ? `${n.node}:${n.priority}` : n.node))
    .join(',');
}

/** Do two preferences say the same (order and a spelled-out priority 0 do not matter)? */
export function samePreference(a: readonly NodePriority[], b: readonly NodePriority[]): boolean {
  return preferenceText(a) === preferenceText(b);
}

/** The name pvx gives a group (PVE 8) or rule (PVE 9) of a preference: stable, so a second run finds it. */
export function preferenceId(p: NodePreference): string {
  const h = createHash('sha256').update(`${preferenceText(p.nodes)};strict=${p.strict ? 1 : 0}`).digest('hex');
  return `pvx-${h.slice(0, 8)}`;
}

function limit(flag: string, raw: string | undefined, problems: string[]): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw.trim()) || Number(raw) > MAX_LIMIT) {
    problems.push(`${flag} must be a whole number from 0 to ${MAX_LIMIT}, got '${raw}'`);
    return undefined;
  }
  return Number(raw);
}

/** Parse and check the options; `problems` is empty when they are usable. */
export function parseHaOptions(input: HaInput): { options?: HaOptions; problems: string[] } {
  const sel = parseSelectors(input.guests);
  const problems = [...sel.problems];
  if (input.guests.length === 0) problems.push('name at least one guest: a VMID (100), a range (100-110) or all@<node>');

  let preference: NodePreference | undefined;
  if (input.nodes !== undefined) {
    const { nodes, problems: np } = parseNodePriorities(input.nodes);
    problems.push(...np);
    if (np.length === 0) preference = { nodes, strict: input.strict === true };
  } else if (input.strict) {
    problems.push('--strict needs --nodes: it keeps the guests on the nodes listed there');
  }

  let state: HaState | undefined;
  if (input.state !== undefined) {
    const s = input.state === 'enabled' ? 'started' : input.state;
    if ((HA_STATES as readonly string[]).includes(s)) state = s as HaState;
    else problems.push(`--state must be one of ${HA_STATES.join(', ')}, got '${input.state}'`);
  }

  const maxRestart = limit('--max-restart', input.maxRestart, problems);
  const maxRelocate = limit('--max-relocate', input.maxRelocate, problems);

  if (input.comment !== undefined) {
    if (/[\u0000-\u001f\u007f]/.test(input.comment)) problems.push('--comment must be one line of text, without control characters (tabs, escapes, NUL bytes)');
    else if (input.comment.length > 4096) problems.push('--comment is longer than 4096 characters');
  }

  let timeoutSec = DEFAULT_HA_TIMEOUT_SEC;
  if (input.timeout !== undefined) {
    if (!/^[0-9]+$/.test(input.timeout.trim()) || Number(input.timeout) < 1 || Number(input.timeout) > 86_400) {
      problems.push(`--timeout must be whole seconds from 1 to 86400, got '${input.timeout}'`);
    } else timeoutSec = Number(input.timeout);
  }

  if (problems.length > 0) return { problems };
  return {
    problems,
    options: {
      selectors: sel.selectors,
      timeoutSec,
      ...(preference ? { preference } : {}),
      ...(state ? { state } : {}),
      ...(maxRestart !== undefined ? { maxRestart } : {}),
      ...(maxRelocate !== undefined ? { maxRelocate } : {}),
      ...(input.comment !== undefined ? { comment: input.comment } : {}),
    },
  };
}
