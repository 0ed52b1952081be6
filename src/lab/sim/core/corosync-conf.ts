/**
 * corosync.conf as PVE's tools read and write it: PVE::Corosync parse_conf and write_conf
 * (pve-cluster src/PVE/Corosync.pm), a whitespace token reader with `nodelist.node` keyed by node
 * name and `totem.interface` keyed by link number. The simulator keeps its own copy so that a
 * mistake in pvx's reader or writer shows up as a difference instead of being mirrored.
 */
import { createHash } from 'node:crypto';
import { Die } from './errors.js';

/** A value of the tree: a scalar, a block, or the blocks of a repeated section. */
export type ConfValue = string | ConfSection | ConfSection[];

/** One block; after parsing, `nodelist.node` and `totem.interface` are blocks keyed by name / link number. */
export interface ConfSection {
  [key: string]: ConfValue | undefined;
}

/** parse_conf's result: the tree under `main` and the SHA-1 of the raw text. */
export interface PveCorosyncConf {
  main: ConfSection;
  digest: string;
}

// $conf_array_sections: the only blocks that may repeat
const ARRAY_SECTIONS = new Set(['node', 'interface']);

function isBlock(v: ConfValue | undefined): v is ConfSection {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keyedBy(list: ConfValue | undefined, ...keys: string[]): ConfSection {
  const out: ConfSection = {};
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    const k = keys.map((x) => item[x]).find((v): v is string => typeof v === 'string');
    out[k ?? ''] = item;
  }
  return out;
}

/** PVE::Corosync::parse_conf; undefined for an empty file (Perl returns `{}`). Errors are parse_conf's `die` texts. */
export function parseConf(raw: string): PveCorosyncConf | undefined {
  if (raw === '') return undefined;
  const digest = createHash('sha1').update(raw).digest('hex');
  // comments run to the end of the line; all whitespace collapses to single blanks
  const flat = raw
    .replace(/#.*$/gm, '')
    .replace(/\r?\n/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/^\s+/, '')
    .replace(/\s*$/, '');
  const tokens = flat === '' ? [] : flat.split(' ');
  const main: ConfSection = {};
  const stack: ConfSection[] = [];
  let section = main;
  while (tokens.length > 0) {
    const token = tokens.shift() as string;
    const next = tokens[0];
    if (next === '{') {
      tokens.shift();
      const fresh: ConfSection = {};
      const existing = section[token];
      if (ARRAY_SECTIONS.has(token)) {
        if (existing === undefined) section[token] = [fresh];
        else if (Array.isArray(existing)) existing.push(fresh);
        else throw new Die(`section '${token}' already exists and not marked as array!\n`);
      } else if (existing === undefined) {
        section[token] = fresh;
      } else {
        throw new Die(`section '${token}' already exists and not marked as array!\n`);
      }
      stack.push(section);
      section = fresh;
      continue;
    }
    if (token === '}') {
      const up = stack.pop();
      // the misspelling is PVE's
      if (!up) throw new Die("parse error - uncexpected '}'\n");
      section = up;
      continue;
    }
    if (!token.endsWith(':')) throw new Die(`missing ':' after key '${token}'\n`);
    const key = token.slice(0, -1);
    if (next === undefined) throw new Die(`parse error - no value for '${key}'\n`);
    section[key] = tokens.shift() as string;
  }
  // "make working with the config way easier": nodes by name (else ring0_addr), interfaces by link number
  const nodelist = main['nodelist'];
  if (isBlock(nodelist)) nodelist['node'] = keyedBy(nodelist['node'], 'name', 'ring0_addr');
  const totem = main['totem'];
  if (isBlock(totem)) totem['interface'] = keyedBy(totem['interface'], 'linknumber', 'ringnumber');
  return { main, digest };
}

function dumpSection(section: ConfSection, prefix: string): string {
  let raw = '';
  for (const k of Object.keys(section).sort()) {
    const v = section[k];
    if (v === undefined) throw new Die(`got undefined value for key '${k}'!\n`);
    if (Array.isArray(v)) {
      for (const child of v) raw += `${prefix}${k} {\n${dumpSection(child, `${prefix}  `)}${prefix}}\n`;
    } else if (typeof v === 'object') {
      raw += `${prefix}${k} {\n${dumpSection(v, `${prefix}  `)}${prefix}}\n`;
      // an extra newline at the first level only
      if (prefix === '') raw += '\n';
    } else {
      raw += `${prefix}${k}: ${v}\n`;
    }
  }
  return raw;
}

function toArray(hash: ConfValue | undefined): ConfSection[] {
  if (!isBlock(hash)) return [];
  return Object.keys(hash)
    .sort()
    .map((k) => hash[k])
    .filter(isBlock);
}

/** PVE::Corosync::write_conf: keyed nodes and interfaces back to blocks in key order, keys sorted, two-space indent. */
export function writeConf(conf: PveCorosyncConf): string {
  const c: ConfSection = structuredClone(conf.main);
  // write_conf autovivifies both sections, so they are always written
  const nodelist: ConfSection = isBlock(c['nodelist']) ? c['nodelist'] : {};
  const totem: ConfSection = isBlock(c['totem']) ? c['totem'] : {};
  nodelist['node'] = toArray(nodelist['node']);
  totem['interface'] = toArray(totem['interface']);
  c['nodelist'] = nodelist;
  c['totem'] = totem;
  return dumpSection(c, '');
}

/** PVE::Corosync::nodelist: the nodes keyed by name (a copy). */
export function nodelist(conf: PveCorosyncConf): Record<string, ConfSection> {
  const nl = conf.main['nodelist'];
  const nodes = isBlock(nl) ? nl['node'] : undefined;
  const out: Record<string, ConfSection> = {};
  if (isBlock(nodes)) for (const [k, v] of Object.entries(nodes)) if (isBlock(v)) out[k] = structuredClone(v);
  return out;
}

/** Replace the nodelist (PVE::Corosync::update_nodelist without the write). */
export function setNodelist(conf: PveCorosyncConf, nodes: Record<string, ConfSection>): void {
  const nl = conf.main['nodelist'];
  const block: ConfSection = isBlock(nl) ? nl : {};
  block['node'] = nodes;
  conf.main['nodelist'] = block;
}

/** The totem block (the live object: callers that change it change the configuration). */
export function totem(conf: PveCorosyncConf): ConfSection {
  const t = conf.main['totem'];
  if (isBlock(t)) return t;
  const fresh: ConfSection = {};
  conf.main['totem'] = fresh;
  return fresh;
}

/** A top-level block other than totem/nodelist (quorum, logging), or undefined. */
export function block(conf: PveCorosyncConf, name: string): ConfSection | undefined {
  const b = conf.main[name];
  return isBlock(b) ? b : undefined;
}

/** A scalar of a block, or undefined when it is absent or a block itself. */
export function scalar(section: ConfSection | undefined, key: string): string | undefined {
  const v = section?.[key];
  return typeof v === 'string' ? v : undefined;
}
