/**
 * `ha-manager config`, `ha-manager groupconfig` and the section-config files under /etc/pve/ha
 * (resources.cfg, groups.cfg, rules.cfg), reference §5.4. `ha-manager rules config` prints a box
 * table with no captured sample in the reference, so it is not parsed here (use the rules API JSON).
 */
import { isConfigId } from '../names.js';
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

/** An HA resource id as pvx handles them: `vm:<vmid>` or `ct:<vmid>`. */
export const HA_SID = /^(vm|ct):[1-9][0-9]{2,8}$/;

/** One section: `<type>: <id>` (files, groupconfig) or `<type>:<id>` (ha-manager config), then indented `key value` lines. */
export interface HaSection {
  type: string;
  id: string;
  props: Record<string, string>;
}

/** An HA resource from `ha-manager config`; only explicitly configured properties are present. */
export interface HaResourceConfig {
  sid: string;
  type: 'vm' | 'ct';
  vmid: number;
  props: Record<string, string>;
}

/** A PVE 8 HA group from `ha-manager groupconfig`. */
export interface HaGroupConfig {
  name: string;
  props: Record<string, string>;
}

/** Generic reader for PVE section-config text; property lines are TAB-indented by PVE, space-indented in docs. */
export function parseHaSections(text: string, tool = 'ha section config'): HaSection[] {
  const out: HaSection[] = [];
  let current: HaSection | undefined;
  for (const raw of splitLines(requireText(tool, text))) {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) {
      if (raw.trim() === '') current = undefined;
      continue;
    }
    if (/^\s/.test(raw)) {
      if (!current) throw new ParseError(tool, 'property line outside a section', raw);
      const m = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(raw);
      if (!m) throw new ParseError(tool, 'unexpected property line', raw);
      current.props[m[1] ?? ''] = m[2] ?? '';
      continue;
    }
    const h = /^([a-z][a-z0-9-]*):\s*(\S+)\s*$/.exec(raw);
    if (!h) throw new ParseError(tool, "expected a '<type>: <id>' section header", raw);
    current = { type: h[1] ?? '', id: h[2] ?? '', props: {} };
    out.push(current);
  }
  return out;
}

/** `ha-manager config` output. */
export function parseHaResourcesConfig(text: string): HaResourceConfig[] {
  const tool = 'ha-manager config';
  return parseHaSections(text, tool).map((s) => {
    if (!HA_SID.test(`${s.type}:${s.id}`)) {
      throw new ParseError(tool, `unexpected resource id '${s.type}:${s.id}'`, `${s.type}:${s.id}`);
    }
    return { sid: `${s.type}:${s.id}`, type: s.type === 'ct' ? 'ct' : 'vm', vmid: Number(s.id), props: s.props };
  });
}

/** `ha-manager groupconfig` output (PVE 8; PVE 9 refuses the command once groups became rules). */
export function parseHaGroupConfig(text: string): HaGroupConfig[] {
  const tool = 'ha-manager groupconfig';
  return parseHaSections(text, tool).map((s) => {
    if (s.type !== 'group') throw new ParseError(tool, `unexpected section type '${s.type}'`, `${s.type}: ${s.id}`);
    // a group's id goes back into ha-manager arguments
    if (!isConfigId(s.id)) throw new ParseError(tool, `'${s.id}' is not a group id`, `${s.type}: ${s.id}`);
    return { name: s.id, props: s.props };
  });
}
