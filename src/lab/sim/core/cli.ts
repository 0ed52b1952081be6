/**
 * The command-line layer every PVE Perl tool shares (PVE::CLIHandler + Getopt::Long + the
 * schema check): sub-command resolution with unique prefixes, options, usage and error texts.
 */
import type { SimContext } from '../types.js';
import { Die, PveException, errorText } from './errors.js';
import { FORMAT_PARAMS, parseBoolean, validateParams, type Param, type Values } from './schema.js';

/** One runnable command (a `[class, method, arg_param, fixed_param, outsub]` entry of a cmddef). */
export interface CommandSpec {
  /** Perl class of the handler: PVE groups and orders the usage list by it */
  group: string;
  params: Record<string, Param>;
  /** positional parameters (arg_param), in order */
  args?: string[];
  /** parameters pre-set by the tool, not accepted as options */
  fixed?: Record<string, string>;
  /** the command takes the standard output options (`[FORMAT_OPTIONS]`) */
  formatOptions?: boolean;
  run(values: Values, ctx: SimContext): Promise<number>;
}

/** `{ alias => 'crm-command migrate' }`. */
export interface AliasSpec {
  alias: string;
}

/** A cmddef: commands, nested command groups and aliases. */
export interface CommandTree {
  [name: string]: CommandSpec | CommandTree | AliasSpec;
}

type Def = CommandSpec | CommandTree | AliasSpec;

function isSpec(d: Def | undefined): d is CommandSpec {
  return typeof d === 'object' && d !== null && typeof (d as CommandSpec).run === 'function';
}

function isAlias(d: Def | undefined): d is AliasSpec {
  return typeof d === 'object' && d !== null && typeof (d as AliasSpec).alias === 'string';
}

function subtree(d: Def | undefined): CommandTree | undefined {
  return d && !isSpec(d) && !isAlias(d) ? (d as CommandTree) : undefined;
}

/** Options of runCli. */
export interface CliOptions {
  /** runs after the command was resolved and before it runs (or is reported unknown), like `prepare` */
  prepare?: () => Promise<void>;
}

function expand(def: CommandTree, cmd: string): string | undefined {
  if (Object.hasOwn(def, cmd)) return cmd;
  const hits = Object.keys(def).filter((k) => k.startsWith(cmd) && !isAlias(def[k]));
  return hits.length === 1 ? hits[0] : undefined;
}

interface Resolved {
  cmd: string | undefined;
  def: Def | undefined;
  args: string[];
  cmdstr: string;
}

function resolve(exe: string, tree: CommandTree, argv: string[], isAliasPass = false): Resolved {
  let def: Def | undefined = tree;
  let cmdstr = exe;
  for (let i = 0; i < argv.length; i++) {
    const cur = subtree(def);
    if (!cur) break;
    const arg = argv[i] ?? '';
    const cmd = expand(cur, arg) ?? arg;
    cmdstr += ` ${cmd}`;
    const next: Def | undefined = Object.hasOwn(cur, cmd) ? cur[cmd] : undefined;
    if (next === undefined) {
      return { cmd: argv[0], def: undefined, args: argv.slice(1), cmdstr };
    }
    if (isSpec(next)) return { cmd, def: next, args: argv.slice(i + 1), cmdstr };
    if (isAlias(next)) {
      if (isAliasPass) throw new Error(`alias loop detected for '${cmd}'`);
      const re = [...argv.slice(0, i), ...next.alias.split(/ +/), ...argv.slice(i + 1)];
      return resolve(exe, tree, re, true);
    }
    def = next;
  }
  return { cmd: argv[0], def: argv.length ? def : tree, args: argv.slice(1), cmdstr };
}

function paramText(name: string, p: Param): string {
  if (p.list) return `{<${name}>}`;
  return p.optional ? `[<${name}>]` : `<${name}>`;
}

/** The short usage line of one command (getopt_usage in 'short' format). */
export function usageLine(prefix: string, spec: CommandSpec): string {
  const argNames = spec.args ?? [];
  let args = argNames
    .filter((a) => spec.params[a])
    .map((a) => paramText(a, spec.params[a] as Param))
    .join(' ');
  const seenIdx = new Set<string>();
  let hasOptions = false;
  for (const name of Object.keys(spec.params).sort()) {
    if (argNames.includes(name) || spec.fixed?.[name] !== undefined) continue;
    const p = spec.params[name] as Param;
    hasOptions = true;
    let base = name;
    const m = /^([a-z]+)(\d+)$/.exec(name);
    if (m) {
      if (seenIdx.has(m[1] ?? '')) continue;
      if (m[2] === '0' && spec.params[`${m[1]}1`]) {
        seenIdx.add(m[1] ?? '');
        base = `${m[1]}[n]`;
      }
    }
    if (!p.optional) {
      if (args) args += ' ';
      args += `--${base} <${p.type}>`;
    }
  }
  let out = `${prefix} ${args}`;
  if (hasOptions) out += ' [OPTIONS]';
  if (spec.formatOptions) out += ' [FORMAT_OPTIONS]';
  return `${out}\n`;
}

function shortSort(h: CommandTree): string[] {
  return Object.keys(h).sort((a, b) => {
    const da = h[a];
    const db = h[b];
    const ra = isSpec(da);
    const rb = isSpec(db);
    if (ra && rb) {
      const g = da.group < db.group ? -1 : da.group > db.group ? 1 : 0;
      return g || (a < b ? -1 : a > b ? 1 : 0);
    }
    if (ra !== rb) return rb ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

function generate(indent: string, separator: string, def: Def, prefix: string, sorted: boolean): string {
  if (isSpec(def)) return indent + usageLine(prefix, def);
  const tree = subtree(def);
  if (!tree) return '';
  let str = '';
  let oldGroup: string | undefined;
  const keys = sorted ? shortSort(tree) : Object.keys(tree).sort();
  for (const cmd of keys) {
    const d = tree[cmd];
    if (isSpec(d)) {
      if (oldGroup !== undefined && oldGroup !== d.group) str += separator;
      str += indent + usageLine(`${prefix} ${cmd}`, d);
      oldGroup = d.group;
    } else if (d && !isAlias(d)) {
      let sub = generate(indent, '', d, `${prefix} ${cmd}`, sorted);
      if (sub) {
        if (separator !== '' && !sub.includes(separator.repeat(2))) sub += separator;
        str += sub;
      }
    }
  }
  return str;
}

/** print_usage_short: optional `ERROR:` line, the generic USAGE line and the list of commands. */
export function usageShort(exe: string, tree: CommandTree, msg?: string, cmd?: string[]): string {
  let out = msg ? `ERROR: ${msg}\n` : '';
  out += `USAGE: ${exe} <COMMAND> [ARGS] [OPTIONS]\n\n`;
  if (cmd) {
    const r = resolve(exe, tree, cmd);
    if (r.def) out += generate(' '.repeat(7), '', r.def, r.cmdstr, true);
  } else {
    out += generate(' '.repeat(7), '\n', tree, exe, true);
  }
  return out;
}

/** Getopt::Long as PVE configures it: `--x v`, `--x=v`, `-x v`, unique prefixes, optional booleans. */
export function getOptions(
  spec: CommandSpec,
  argv: readonly string[],
  warn: (text: string) => void,
): Values {
  const params: Record<string, Param> = { ...spec.params, ...(spec.formatOptions ? FORMAT_PARAMS : {}) };
  const names = Object.keys(params).filter((n) => spec.fixed?.[n] === undefined);
  const opts: Record<string, string | string[]> = {};
  const rest: string[] = [];
  let failed = false;
  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--') {
      rest.push(...args);
      break;
    }
    const m = /^(--|-)([^=]+)(=([\s\S]*))?$/.exec(arg);
    if (!m || arg === '-') {
      rest.push(arg);
      continue;
    }
    const given = (m[2] ?? '').toLowerCase();
    let name = names.find((n) => n.toLowerCase() === given);
    if (!name) {
      const hits = names.filter((n) => n.toLowerCase().startsWith(given)).sort();
      if (hits.length > 1) {
        warn(`Option ${given} is ambiguous (${hits.join(', ')})\n`);
        failed = true;
        continue;
      }
      name = hits[0];
    }
    if (!name) {
      warn(`Unknown option: ${given}\n`);
      failed = true;
      continue;
    }
    const p = params[name] as Param;
    const optional = p.type === 'boolean' || p.interactive === true;
    let value: string | undefined = m[3] !== undefined ? (m[4] ?? '') : undefined;
    if (value === undefined) {
      if (optional) {
        const next = args[0];
        value = next !== undefined && next !== '--' && !/^(--|-)./.test(next) ? (args.shift() as string) : '';
      } else if (args.length > 0) {
        value = args.shift() as string;
      } else {
        warn(`Option ${name} requires an argument\n`);
        failed = true;
        continue;
      }
    }
    if (p.type === 'array' || p.list) {
      const prev = opts[name];
      opts[name] = [...(Array.isArray(prev) ? prev : prev !== undefined ? [prev] : []), value];
    } else {
      opts[name] = value;
    }
  }
  if (failed) throw new PveException('unable to parse option\n', { code: 400 });

  const values: Values = {};
  for (const [k, v] of Object.entries(opts)) values[k] = v;
  const argNames = spec.args ?? [];
  if (rest.length > 0) {
    for (let i = 0; i < argNames.length; i++) {
      const argName = argNames[i] as string;
      if (argName === 'extra-args') {
        values['extra-args'] = rest.splice(0);
        continue;
      }
      if (rest.length === 0) {
        for (; i < argNames.length; i++) {
          const p = params[argNames[i] as string];
          if (p && !p.optional) throw new PveException('not enough arguments\n', { code: 400 });
        }
        break;
      }
      values[argName] = rest.shift() as string;
    }
    if (rest.length > 0) throw new PveException('too many arguments\n', { code: 400 });
  } else {
    for (const argName of argNames) {
      if (argName === 'extra-args') values['extra-args'] = [];
      else if (params[argName] && !params[argName]?.optional) throw new PveException('not enough arguments\n', { code: 400 });
    }
  }

  for (const [k, v] of Object.entries(values)) {
    const p = params[k];
    if (!p || v === undefined) continue;
    if (p.type === 'boolean') {
      const s = String(v);
      const b = s === '' ? 1 : parseBoolean(s);
      if (b === undefined) throw new PveException('unable to parse boolean option\n', { code: 400 });
      values[k] = b;
    } else if (p.list && Array.isArray(v)) {
      values[k] = v.join(',');
    } else if (p.type !== 'array' && Array.isArray(v)) {
      values[k] = v[v.length - 1];
    } else if ((p.type === 'integer' || p.type === 'number') && typeof v === 'string' && /^[+-]?\d+(\.\d+)?$/.test(v)) {
      // keep the text for the schema check; handlers convert
      values[k] = v;
    }
  }
  for (const [k, v] of Object.entries(spec.fixed ?? {})) values[k] = v;
  return values;
}

/** Options and schema check of one command (cli_handler); parameter errors get the command's usage. */
export function parseCommand(cmdstr: string, spec: CommandSpec, argv: readonly string[], ctx: SimContext): Values {
  try {
    const values = getOptions(spec, argv, (t) => ctx.err(t));
    validateParams({ ...spec.params, ...(spec.formatOptions ? FORMAT_PARAMS : {}) }, values);
    return values;
  } catch (e) {
    if (e instanceof PveException && e.isParamError) {
      throw new PveException(e.msg, { ...e.opts, usage: usageLine(cmdstr, spec) });
    }
    throw e;
  }
}

/** Print an error the way a dying Perl tool does and return its exit code. */
export function reportError(ctx: SimContext, e: unknown): number {
  ctx.err(errorText(e));
  return e instanceof Die ? e.exitCode : 255;
}

function helpSpec(exe: string, tree: CommandTree): CommandSpec {
  return {
    group: 'PVE::CLIHandler',
    params: { 'extra-args': { type: 'array', optional: true }, verbose: { type: 'boolean', optional: true } },
    args: ['extra-args'],
    run: async (v, ctx) => {
      const cmd = v['extra-args'];
      if (!Array.isArray(cmd) || cmd.length === 0) {
        ctx.out(usageShort(exe, tree));
        return 0;
      }
      const r = resolve(exe, tree, cmd);
      if (!r.def) {
        ctx.err(usageShort(exe, tree, `unknown command '${cmd[0] ?? ''}'`));
        return 255;
      }
      const str = generate(' '.repeat(7), '', r.def, r.cmdstr, false).replace(/^\s+/, '');
      ctx.out(`USAGE: ${str}\n`);
      return 0;
    },
  };
}

/** handle_cmd: resolve the sub-command, prepare, parse options, run; every failure printed as PVE does. */
export async function runCli(exe: string, tree: CommandTree, argv: string[], ctx: SimContext, opts: CliOptions = {}): Promise<number> {
  const full: CommandTree = { ...tree, help: helpSpec(exe, tree) };
  try {
    const r = resolve(exe, full, argv);
    if (!r.cmd) {
      ctx.err(usageShort(exe, full, 'no command specified'));
      return 255;
    }
    if (subtree(r.def)) {
      ctx.err(usageShort(exe, full, `incomplete command '${r.cmdstr}'`, argv));
      return 255;
    }
    if (opts.prepare) await opts.prepare();
    if (!isSpec(r.def)) {
      ctx.err(usageShort(exe, full, `unknown command '${r.cmdstr}'`));
      return 255;
    }
    const values = parseCommand(r.cmdstr, r.def, r.args, ctx);
    return await r.def.run(values, ctx);
  } catch (e) {
    return reportError(ctx, e);
  }
}

/** Simple tools (pveversion, pmxcfs-like single commands) share option parsing without sub-commands. */
export async function runSimple(exe: string, spec: CommandSpec, argv: string[], ctx: SimContext): Promise<number> {
  try {
    const values = parseCommand(exe, spec, argv, ctx);
    return await spec.run(values, ctx);
  } catch (e) {
    return reportError(ctx, e);
  }
}
