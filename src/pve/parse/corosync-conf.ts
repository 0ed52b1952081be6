/**
 * corosync.conf reader and writer (reference §1.3). Reading follows corosync's own line rules
 * (exec/coroparse.c), which accept everything PVE's stricter token reader does; writing reproduces
 * PVE::Corosync::write_conf byte for byte, so a file written here diffs cleanly against one from pvecm.
 */
import { clusterNameProblem, hostProblem, isIpAddress, nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = 'corosync.conf';

/** A value: `key: value` text, a nested block, or a repeated block (node, interface). */
export type CorosyncValue = string | CorosyncSection | CorosyncSection[];

/** One `name { ... }` block; values stay strings, as corosync and PVE keep them. */
export interface CorosyncSection {
  [key: string]: CorosyncValue | undefined;
}

/** A `node {}` block of the nodelist. */
export interface CorosyncNode extends CorosyncSection {
  name?: string;
  nodeid?: string;
  quorum_votes?: string;
  ring0_addr?: string;
}

/** The `totem {}` block; `interface` blocks are always a list. */
export interface CorosyncTotem extends CorosyncSection {
  cluster_name?: string;
  config_version?: string;
  interface?: CorosyncSection[];
}

/** A parsed corosync.conf; sections other than these four land in `extra` and are written back unchanged. */
export interface CorosyncConf {
  totem: CorosyncTotem;
  nodelist: CorosyncNode[];
  quorum?: CorosyncSection;
  logging?: CorosyncSection;
  extra: CorosyncSection;
}

/** Blocks that may repeat; corosync allows several, and PVE keeps node and interface as lists. */
const REPEATED = new Set(['node', 'interface', 'logger_subsys']);

function isSection(v: CorosyncValue | undefined): v is CorosyncSection {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The generic tree: top-level keys and blocks of any corosync.conf. */
export function parseCorosyncSections(text: string): CorosyncSection {
  const lines = splitLines(requireText(TOOL, text));
  const root: CorosyncSection = {};
  const stack: Array<{ name: string; section: CorosyncSection }> = [];
  let current = root;
  let sawContent = false;

  lines.forEach((raw, i) => {
    const where = `line ${i + 1}`;
    // corosync treats tab, space and NBSP as blanks and only whole-line comments as comments
    const line = raw.replace(/^[\t \u00a0]+|[\t \u00a0]+$/g, '');
    if (line === '' || line.startsWith('#')) return;
    sawContent = true;
    const brace = line.indexOf('{');
    if (brace >= 0) {
      const name = line.slice(0, brace).trim();
      if (name === '') throw new ParseError(TOOL, `${where}: missing section name before '{'`, raw);
      if (line.slice(brace + 1).trim() !== '') throw new ParseError(TOOL, `${where}: extra characters after '{'`, raw);
      const child: CorosyncSection = {};
      const existing = current[name];
      if (REPEATED.has(name)) {
        if (existing === undefined) current[name] = [child];
        else if (Array.isArray(existing)) existing.push(child);
        else throw new ParseError(TOOL, `${where}: '${name}' is both a key and a section`, raw);
      } else if (existing === undefined) {
        current[name] = child;
      } else {
        throw new ParseError(TOOL, `${where}: section '${name}' appears twice`, raw);
      }
      stack.push({ name, section: current });
      current = child;
      return;
    }
    const colon = line.indexOf(':');
    if (colon >= 0) {
      const key = line.slice(0, colon).trim();
      if (key === '') throw new ParseError(TOOL, `${where}: missing key before ':'`, raw);
      const value = line.slice(colon + 1).trim();
      if (typeof current[key] === 'object') throw new ParseError(TOOL, `${where}: '${key}' is both a section and a key`, raw);
      current[key] = value;
      return;
    }
    if (line === '}') {
      const top = stack.pop();
      if (!top) throw new ParseError(TOOL, `${where}: unexpected '}'`, raw);
      current = top.section;
      return;
    }
    throw new ParseError(TOOL, `${where}: not a section start, section end or 'key: value'`, raw);
  });

  if (stack.length > 0) throw new ParseError(TOOL, `missing '}' for section '${stack[stack.length - 1]?.name ?? ''}' (file truncated?)`, text.slice(-200));
  if (!sawContent) throw new ParseError(TOOL, 'empty configuration', text);
  return root;
}

/** Parse corosync.conf into the typed view PVE works with. */
export function parseCorosyncConf(text: string): CorosyncConf {
  const root = parseCorosyncSections(text);
  const { totem, nodelist, quorum, logging, ...extra } = root;
  if (totem !== undefined && !isSection(totem)) throw new ParseError(TOOL, "'totem' must be a section", text);
  if (nodelist !== undefined && !isSection(nodelist)) throw new ParseError(TOOL, "'nodelist' must be a section", text);
  if (quorum !== undefined && !isSection(quorum)) throw new ParseError(TOOL, "'quorum' must be a section", text);
  if (logging !== undefined && !isSection(logging)) throw new ParseError(TOOL, "'logging' must be a section", text);
  const nodes = nodelist?.['node'];
  if (nodes !== undefined && !Array.isArray(nodes)) throw new ParseError(TOOL, "'nodelist.node' must be sections", text);
  const iface = isSection(totem) ? totem['interface'] : undefined;
  if (iface !== undefined && !Array.isArray(iface)) throw new ParseError(TOOL, "'totem.interface' must be sections", text);
  const otherNodelistKeys = Object.keys(nodelist ?? {}).filter((k) => k !== 'node');
  if (otherNodelistKeys.length > 0) throw new ParseError(TOOL, `unexpected '${otherNodelistKeys[0]}' in nodelist (only node blocks belong there)`, text);
  const conf: CorosyncConf = { totem: (totem ?? {}) as CorosyncTotem, nodelist: (nodes ?? []) as CorosyncNode[], extra };
  if (quorum) conf.quorum = quorum;
  if (logging) conf.logging = logging;
  return conf;
}

function keyOf(s: CorosyncSection, ...keys: string[]): string {
  for (const k of keys) {
    const v = s[k];
    if (typeof v === 'string') return v;
  }
  return '';
}

function stringField(s: CorosyncSection, key: string): string | undefined {
  const v = s[key];
  return typeof v === 'string' ? v : undefined;
}

function byString<T>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

function checkToken(kind: string, s: string): void {
  if (s === '' || /[\s{}:#]/.test(s)) throw new Error(`corosync.conf: invalid ${kind} '${s}'`);
}

function dumpSection(section: CorosyncSection, prefix: string): string {
  let raw = '';
  for (const k of Object.keys(section).sort()) {
    const v = section[k];
    if (v === undefined) continue;
    checkToken('key', k);
    if (typeof v === 'string') {
      if (/[\r\n]/.test(v)) throw new Error(`corosync.conf: value of '${k}' contains a line break`);
      raw += `${prefix}${k}: ${v}\n`;
    } else if (Array.isArray(v)) {
      for (const child of v) raw += `${prefix}${k} {\n${dumpSection(child, `${prefix}  `)}${prefix}}\n`;
    } else {
      raw += `${prefix}${k} {\n${dumpSection(v, `${prefix}  `)}${prefix}}\n`;
      // PVE separates top-level blocks only
      if (prefix === '') raw += '\n';
    }
  }
  return raw;
}

// PVE's layout: keys sorted, two-space indent, a blank line after each top-level block, nodes by name
// (ring0_addr when unnamed) and interfaces by link number, because write_conf goes through hashes.
/** Write a generic tree exactly as PVE::Corosync::write_conf would. */
export function serializeCorosyncSections(root: CorosyncSection): string {
  const copy: CorosyncSection = { ...root };
  const nodelist = copy['nodelist'];
  if (isSection(nodelist) && Array.isArray(nodelist['node'])) {
    copy['nodelist'] = { ...nodelist, node: [...nodelist['node']].sort(byString((n) => keyOf(n, 'name', 'ring0_addr'))) };
  }
  const totem = copy['totem'];
  if (isSection(totem) && Array.isArray(totem['interface'])) {
    copy['totem'] = { ...totem, interface: [...totem['interface']].sort(byString((n) => keyOf(n, 'linknumber', 'ringnumber'))) };
  }
  return dumpSection(copy, '');
}

/** Write a typed corosync.conf; totem and nodelist are always written, as PVE does. */
export function serializeCorosyncConf(conf: CorosyncConf): string {
  const root: CorosyncSection = { ...conf.extra, totem: conf.totem, nodelist: { node: conf.nodelist } };
  if (conf.quorum) root['quorum'] = conf.quorum;
  if (conf.logging) root['logging'] = conf.logging;
  return serializeCorosyncSections(root);
}

/** A cluster node as pvx reasons about it. */
export interface CorosyncNodeSummary {
  name: string;
  nodeid: number;
  quorumVotes: number;
  /** link number -> address, from `ringN_addr`/`linkN_addr` */
  links: Record<number, string>;
}

/**
 * A quorum device (`quorum { device { model: net … } }`, as `pvecm qdevice setup` writes it). corosync
 * counts its votes in the expected votes: `votes` when set, else the node votes minus one (lms).
 */
export interface CorosyncQdevice {
  model: string;
  /** the QNetd address (`net.host`) */
  host?: string;
  algorithm?: string;
  /** `device.votes`; absent means corosync computes it */
  votes?: number;
}

/** The facts pvx needs from corosync.conf, with numbers converted. */
export interface CorosyncSummary {
  clusterName: string;
  configVersion: number;
  nodes: CorosyncNodeSummary[];
  /** present when the quorum section configures a device */
  qdevice?: CorosyncQdevice;
}

function intField(what: string, raw: string | undefined, fallback?: number): number {
  if (raw === undefined && fallback !== undefined) return fallback;
  if (raw === undefined || !/^\d+$/.test(raw)) throw new ParseError(TOOL, `${what}: expected an integer, got '${raw ?? ''}'`, raw ?? '');
  return Number(raw);
}

/** Cluster name, config version and nodes; quorum_votes defaults to 1 like corosync's. */
export function summarizeCorosyncConf(conf: CorosyncConf): CorosyncSummary {
  const nodes = conf.nodelist.map((n, i): CorosyncNodeSummary => {
    const name = keyOf(n, 'name', 'ring0_addr');
    if (name === '') throw new ParseError(TOOL, `node ${i + 1} has neither name nor ring0_addr`, JSON.stringify(n));
    // names and addresses become command arguments and paths: only what PVE and corosync accept passes
    if (nodeNameProblem(name) !== undefined && !(n.name === undefined && isIpAddress(name))) throw new ParseError(TOOL, `node ${i + 1}: '${name}' is not a node name`, name);
    const links: Record<number, string> = {};
    for (const [k, v] of Object.entries(n)) {
      const m = /^(?:ring|link)(\d+)_addr$/.exec(k);
      if (!m || typeof v !== 'string') continue;
      if (hostProblem(v) !== undefined) throw new ParseError(TOOL, `node '${name}': ${k} '${v}' is not an address`, v);
      links[Number(m[1])] = v;
    }
    return {
      name,
      nodeid: intField(`node '${name}' nodeid`, stringField(n, 'nodeid')),
      quorumVotes: intField(`node '${name}' quorum_votes`, stringField(n, 'quorum_votes'), 1),
      links,
    };
  });
  const clusterName = keyOf(conf.totem, 'cluster_name');
  if (conf.totem.cluster_name !== undefined && clusterNameProblem(clusterName) !== undefined) throw new ParseError(TOOL, `totem.cluster_name '${clusterName}' is not a cluster name`, clusterName);
  const summary: CorosyncSummary = {
    clusterName,
    configVersion: intField('totem.config_version', stringField(conf.totem, 'config_version')),
    nodes,
  };
  const qdevice = qdeviceOf(conf);
  if (qdevice) summary.qdevice = qdevice;
  return summary;
}

/** The quorum device of a configuration, or undefined (votequorum reads `quorum.device`, exec/votequorum.c). */
export function qdeviceOf(conf: CorosyncConf): CorosyncQdevice | undefined {
  const device = conf.quorum?.['device'];
  if (device === undefined) return undefined;
  if (!isSection(device)) throw new ParseError(TOOL, "'quorum.device' must be a section", JSON.stringify(device));
  const model = stringField(device, 'model');
  // corosync refuses a device without a model; a file saying so is not one pvx can reason about
  if (model === undefined || model === '') throw new ParseError(TOOL, "'quorum.device' has no model", JSON.stringify(device));
  const out: CorosyncQdevice = { model };
  const net = device[model];
  if (isSection(net)) {
    const host = stringField(net, 'host');
    if (host !== undefined) {
      // the host is named in messages and commands pvx prints
      if (hostProblem(host) !== undefined) throw new ParseError(TOOL, `quorum.device.${model}.host '${host}' is not an address or host name`, host);
      out.host = host;
    }
    const algorithm = stringField(net, 'algorithm');
    if (algorithm !== undefined) out.algorithm = algorithm;
  }
  const votes = stringField(device, 'votes');
  if (votes !== undefined) out.votes = intField('quorum.device.votes', votes);
  return out;
}
