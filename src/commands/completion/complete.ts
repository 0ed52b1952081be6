/**
 * `pvx __complete -- <words…>`: the candidates for the last word, found by walking the commander tree
 * (so a new command or option completes without changes here) and, for values, the sources that
 * values.ts picks by the option's flag and placeholder or the argument's name.
 */
import type { Argument, Command, Option } from 'commander';
import type { Candidate, Completion, Query } from './sources.js';

/** Where the command line stands after the words before the cursor. */
interface Walk {
  cmd: Command;
  /** the option whose value the cursor is on */
  pending?: Option;
  positionals: string[];
  options: Map<string, string>;
  /** after `--`: only operands follow */
  operandsOnly: boolean;
  /** set on commander's implicit `help` command: the command whose subcommands it takes */
  helpFor?: Command;
}

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function lineage(cmd: Command): Command[] {
  const out: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) out.push(c);
  return out;
}

/** An option of the command or of any command above it (commander accepts those anywhere). */
function findOption(cmd: Command, flag: string): Option | undefined {
  for (const c of lineage(cmd)) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

function findSubcommand(cmd: Command, word: string): Command | undefined {
  return cmd.createHelp().visibleCommands(cmd).find((c) => c.name() === word || c.aliases().includes(word));
}

/** Follow the completed words through the tree. */
function walk(program: Command, words: readonly string[]): Walk {
  const w: Walk = { cmd: program, positionals: [], options: new Map(), operandsOnly: false };
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (w.pending) {
      const o = w.pending;
      delete w.pending;
      // an optional value is only taken when it does not look like an option
      if (!(o.optional && word.startsWith('-'))) {
        w.options.set(o.attributeName(), word);
        continue;
      }
    }
    if (w.operandsOnly) {
      w.positionals.push(word);
      continue;
    }
    if (word === '--') {
      w.operandsOnly = true;
      continue;
    }
    if (word.length > 1 && word.startsWith('-')) {
      const eq = word.startsWith('--') ? word.indexOf('=') : -1;
      const o = findOption(w.cmd, eq > 0 ? word.slice(0, eq) : word);
      if (o && eq > 0) w.options.set(o.attributeName(), word.slice(eq + 1));
      else if (o && takesValue(o)) w.pending = o;
      else if (o) w.options.set(o.attributeName(), '');
      else {
        // -ifile: a short option with its value attached
        const short = findOption(w.cmd, word.slice(0, 2));
        if (short && takesValue(short)) w.options.set(short.attributeName(), word.slice(2));
      }
      continue;
    }
    const sub = w.positionals.length === 0 ? findSubcommand(w.cmd, word) : undefined;
    if (sub && !w.cmd.commands.includes(sub)) w.helpFor = w.cmd;
    if (sub) w.cmd = sub;
    else w.positionals.push(word);
  }
  return w;
}

/** The first line of a description (shells show one line). */
function oneLine(text: string): string | undefined {
  const t = text.split('\n')[0]?.trim();
  return t ? t : undefined;
}

function withDescription(value: string, description: string): Candidate {
  const d = oneLine(description);
  return d ? { value, description: d } : { value };
}

/** Options valid here that were not given yet (the command's own, its help, and those above it). */
function optionCandidates(w: Walk): Candidate[] {
  const own = w.cmd.createHelp().visibleOptions(w.cmd);
  const above = lineage(w.cmd).slice(1).flatMap((c) => c.options.filter((o) => !o.hidden));
  return [...own, ...above]
    .filter((o) => !w.options.has(o.attributeName()) || o.variadic)
    .map((o) => withDescription(o.long ?? o.short ?? o.flags, o.description));
}

/** The argument a new operand would fill, if any. */
function nextArgument(cmd: Command, given: number): Argument | undefined {
  const args = cmd.registeredArguments;
  const last = args[args.length - 1];
  return args[given] ?? (last?.variadic ? last : undefined);
}

function filtered(c: Completion, cur: string): Completion {
  return { ...c, candidates: c.candidates.filter((x) => x.value.startsWith(cur)) };
}

/** Candidates for the last of `words` (the word under the cursor; '' after a space). */
export async function complete(program: Command, words: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Completion> {
  const cur = words[words.length - 1] ?? '';
  const w = walk(program, words.slice(0, -1));
  const path = pathOf(w.cmd);
  const query = (value: string): Query => ({ cur: value, path, positionals: w.positionals, options: w.options, env, cwd });

  // value sources (and the files they read) are loaded only when a value is completed
  const values = () => import('./values.js');
  if (w.pending) return filtered(await (await values()).optionSource(path, w.pending)(query(cur)), cur);
  if (!w.operandsOnly && cur.startsWith('-')) {
    const eq = cur.startsWith('--') ? cur.indexOf('=') : -1;
    const o = eq > 0 ? findOption(w.cmd, cur.slice(0, eq)) : undefined;
    if (o && takesValue(o)) {
      const head = cur.slice(0, eq + 1);
      const r = filtered(await (await values()).optionSource(path, o)(query(cur.slice(eq + 1))), cur.slice(eq + 1));
      return { ...r, candidates: r.candidates.map((c) => ({ ...c, value: head + c.value })) };
    }
    return filtered({ candidates: optionCandidates(w), fallback: 'none' }, cur);
  }
  const help = w.cmd.createHelp();
  // `pvx help <command>` and `pvx cluster help <command>` take the names of their siblings
  if (w.helpFor) {
    const siblings = help.visibleCommands(w.helpFor).filter((c) => c !== w.cmd);
    return filtered({ candidates: w.positionals.length === 0 ? siblings.map((c) => withDescription(c.name(), c.description())) : [], fallback: 'none' }, cur);
  }
  const subs = help.visibleCommands(w.cmd);
  if (!w.operandsOnly && w.positionals.length === 0 && subs.length > 0) {
    return filtered({ candidates: subs.map((c) => withDescription(c.name(), c.description())), fallback: 'none' }, cur);
  }
  const arg = nextArgument(w.cmd, w.positionals.length);
  // after `--` (lab exec's command) the shell's own completion is the right one
  if (w.operandsOnly) return { candidates: [], fallback: 'files' };
  if (arg) return filtered(await (await values()).argumentSource(path, arg)(query(cur)), cur);
  // nothing left to fill: offer the options, which may still be missing (--to, --via)
  return filtered({ candidates: optionCandidates(w), fallback: 'none' }, cur);
}

/**
 * The answer as the completion scripts read it: one `value<TAB>description` line per candidate,
 * then `:none`, `:files` or `:dirs`.
 */
export function formatCompletion(c: Completion): string {
  const clean = (s: string) => s.replace(/[\t\n\r]+/g, ' ');
  const lines = c.candidates.map((x) => (x.description ? `${clean(x.value)}\t${clean(x.description)}` : clean(x.value)));
  return [...lines, `:${c.fallback}`].join('\n') + '\n';
}
