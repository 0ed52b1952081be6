/** Parameter schemas of PVE API methods and their validation (PVE::JSONSchema, the parts the tools use). */
import { isIP } from 'node:net';
import { Die, paramError } from './errors.js';

/** One parameter of a command, as PVE's JSON schema describes it. */
export interface Param {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array';
  optional?: boolean;
  enum?: readonly string[];
  /** a registered PVE format; throws Die("...\n") when the value does not fit */
  format?: (value: string) => void;
  /** a `-list` format: repeated options are joined with commas */
  list?: boolean;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  /** password-like parameter read interactively when not given */
  interactive?: boolean;
}

/** Parsed parameter values: strings, numbers for integer/number/boolean, arrays for array types. */
export type Values = Record<string, string | number | string[] | undefined>;

/** PVE's is_integer. */
export function isInteger(v: string): boolean {
  return /^[+-]?\d+$/.test(v);
}

/** PVE's is_number. */
export function isNumber(v: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v);
}

/** PVE's parse_boolean: 1/0, on/off, yes/no, true/false, case-insensitive. */
export function parseBoolean(v: string): number | undefined {
  if (/^(1|on|yes|true)$/i.test(v)) return 1;
  if (/^(0|off|no|false)$/i.test(v)) return 0;
  return undefined;
}

const NODE_NAME = /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;

/** Format pve-node. */
export function fmtNode(v: string): void {
  if (!NODE_NAME.test(v)) throw new Die('value does not look like a valid node name\n');
}

/** Format pve-vmid. */
export function fmtVmid(v: string): void {
  if (!/^[1-9][0-9]{2,8}$/.test(v)) throw new Die('value does not look like a valid VM ID\n');
}

/** Format pve-storage-id. */
export function fmtStorageId(v: string): void {
  if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v)) throw new Die(`storage ID '${v}' contains illegal characters\n`);
}

/** Format ip. */
export function fmtIp(v: string): void {
  if (isIP(v) === 0) throw new Die(`value does not look like a valid IP address\n`);
}

/** Format address (IP or DNS name). */
export function fmtAddress(v: string): void {
  if (isIP(v) !== 0) return;
  if (!/^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(v)) {
    throw new Die(`value does not look like a valid address: ${v}\n`);
  }
}

/** Format CIDR. */
export function fmtCidr(v: string): void {
  const m = /^(.+)\/(\d+)$/.exec(v);
  const ok = m && isIP(m[1] ?? '') !== 0 && Number(m[2]) <= (isIP(m[1] ?? '') === 6 ? 128 : 32);
  if (!ok) throw new Die(`value does not look like a valid CIDR network\n`);
}

/** Standard option fingerprint-sha256 (a pattern, not a format). */
export const FINGERPRINT_PATTERN = '([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}';

/** A `key=value,…` property string with one default key (PVE::JSONSchema::parse_property_string). */
export function parsePropertyString(
  v: string,
  defaultKey: string,
  keys: Record<string, (x: string) => void>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let k: string;
    let val: string;
    if (eq < 0) {
      if (out[defaultKey] !== undefined) throw new Die(`duplicate key in comma-separated list property: ${defaultKey}\n`);
      k = defaultKey;
      val = part;
    } else {
      k = part.slice(0, eq);
      val = part.slice(eq + 1);
    }
    const check = keys[k];
    if (!check) throw new Die(`invalid format - ${k}: property is not defined in schema and the schema does not allow additional properties\n`);
    if (out[k] !== undefined) throw new Die(`duplicate key in comma-separated list property: ${k}\n`);
    try {
      check(val);
    } catch (e) {
      throw new Die(`invalid format - ${k}: ${e instanceof Error ? e.message : String(e)}`);
    }
    out[k] = val;
  }
  return out;
}

/** Format of a corosync link (`[address=]<IP>[,priority=<0-255>]`). */
export function fmtCorosyncLink(v: string): void {
  parseCorosyncLink(v);
}

/** Parse a corosync link property string. */
export function parseCorosyncLink(v: string): { address: string; priority?: number } {
  const p = parsePropertyString(v, 'address', {
    address: (x) => {
      try {
        fmtAddress(x);
      } catch {
        throw new Die(`invalid format - value does not look like a valid address: ${x}\n`);
      }
    },
    priority: (x) => {
      if (!isInteger(x)) throw new Die(`type check ('integer') failed - got '${x}'\n`);
      if (Number(x) < 0 || Number(x) > 255) throw new Die(`value must have a maximum value of 255\n`);
    },
  });
  if (p['address'] === undefined) throw new Die('invalid format - address: property is missing and it is not optional\n');
  const out: { address: string; priority?: number } = { address: p['address'] };
  if (p['priority'] !== undefined) out.priority = Number(p['priority']);
  return out;
}

/** The eight corosync link options (link0..link7) of create/add/addnode. */
export function corosyncLinkParams(): Record<string, Param> {
  const out: Record<string, Param> = {};
  for (let i = 0; i <= 7; i++) out[`link${i}`] = { type: 'string', optional: true, format: fmtCorosyncLink };
  return out;
}

/** Standard output options of `[FORMAT_OPTIONS]` (PVE::RESTHandler::standard_output_options). */
export const FORMAT_PARAMS: Record<string, Param> = {
  'output-format': { type: 'string', optional: true, enum: ['text', 'json', 'json-pretty', 'yaml'] },
  noheader: { type: 'boolean', optional: true },
  noborder: { type: 'boolean', optional: true },
  quiet: { type: 'boolean', optional: true },
  'human-readable': { type: 'boolean', optional: true },
};

function checkValue(name: string, p: Param, raw: string | number | string[], errors: Record<string, string>): void {
  if (Array.isArray(raw)) return;
  const v = String(raw);
  if (p.type === 'integer' && !isInteger(v)) {
    errors[name] = `type check ('integer') failed - got '${v}'`;
    return;
  }
  if (p.type === 'number' && !isNumber(v)) {
    errors[name] = `type check ('number') failed - got '${v}'`;
    return;
  }
  if (p.type === 'boolean' && v !== '0' && v !== '1') {
    errors[name] = `type check ('boolean') failed - got '${v}'`;
    return;
  }
  if (p.format) {
    try {
      p.format(v);
    } catch (e) {
      errors[name] = `invalid format - ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
  }
  if (p.pattern && !new RegExp(`^${p.pattern}$`).test(v)) {
    errors[name] = 'value does not match the regex pattern';
    return;
  }
  if (p.maxLength !== undefined && v.length > p.maxLength) {
    errors[name] = `value may only be ${p.maxLength} characters long`;
    return;
  }
  if (isNumber(v)) {
    if (p.maximum !== undefined && Number(v) > p.maximum) {
      errors[name] = `value must have a maximum value of ${p.maximum}`;
      return;
    }
    if (p.minimum !== undefined && Number(v) < p.minimum) {
      errors[name] = `value must have a minimum value of ${p.minimum}`;
      return;
    }
  }
  if (p.enum && !p.enum.includes(v)) {
    errors[name] = `value '${v}' does not have a value in the enumeration '${p.enum.join(', ')}'`;
  }
}

/** PVE::JSONSchema::validate of a parameter set; throws the 400 exception listing every bad parameter. */
export function validateParams(params: Record<string, Param>, values: Values): void {
  const errors: Record<string, string> = {};
  for (const [name, p] of Object.entries(params)) {
    const v = values[name];
    if (v === undefined) {
      if (!p.optional) errors[name] = 'property is missing and it is not optional';
      continue;
    }
    checkValue(name, p, v, errors);
  }
  if (Object.keys(errors).length > 0) throw paramError(errors);
}
