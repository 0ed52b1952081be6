/** The inventory file: which nodes pvx manages and how to reach them (YAML, validated with zod). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z as Zod } from 'zod';
import { ConfigError } from '../errors.js';
import { hostProblem, isIpAddress, localPathProblem, nodeNameProblem } from '../pve/names.js';
import { expandHome } from './paths.js';

export { findInventory } from './inventory-path.js';

/** The inventory's zod schema, built with the zod it is given. */
export function inventorySchemaOf(z: typeof Zod) {
  const port = z.number().int().min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535');
  const filePath = z.string().superRefine((v, ctx) => {
    const p = localPathProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: `must be a file path: ${p}` });
  });

  const sshDefaults = z
    .object({
      // Linux user names have at most 32 characters
      user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'must be a user name like root').optional(),
      port: port.optional(),
      identityFile: filePath.optional(),
      configFile: filePath.optional(),
      knownHostsFile: filePath.optional(),
      connectTimeout: z.number().int().min(1).max(300, 'must be seconds from 1 to 300').optional(),
    })
    .strict();

  const link = z.string().refine(isIpAddress, 'must be an IP address (corosync links use addresses)');

  const node = z
    .object({
      name: z.string().superRefine((v, ctx) => {
        const p = nodeNameProblem(v);
        if (p) ctx.addIssue({ code: 'custom', message: p });
      }),
      host: z.string().superRefine((v, ctx) => {
        const p = hostProblem(v);
        if (p) ctx.addIssue({ code: 'custom', message: p });
      }),
      link0: link.optional(),
      link1: link.optional(),
      port: port.optional(),
      user: sshDefaults.shape.user,
      identityFile: filePath.optional(),
    })
    .strict();

  return z
    .object({
      ssh: sshDefaults.optional(),
      nodes: z.array(node).min(1, 'must list at least one node'),
    })
    .strict()
    .superRefine((inv, ctx) => {
      const seen = new Map<string, number>();
      inv.nodes.forEach((n, i) => {
        const prev = seen.get(n.name);
        if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], message: `duplicate node name '${n.name}' (also nodes[${prev}])` });
        seen.set(n.name, i);
      });
    });
}

/** The inventory as written in the file. */
export type InventoryFile = Zod.infer<ReturnType<typeof inventorySchemaOf>>;

const TOP_KEYS = new Set(['ssh', 'nodes']);
const SSH_KEYS = new Set(['user', 'port', 'identityFile', 'configFile', 'knownHostsFile', 'connectTimeout']);
const NODE_KEYS = new Set(['name', 'host', 'link0', 'link1', 'port', 'user', 'identityFile']);
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const plainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const onlyKeys = (o: Record<string, unknown>, keys: ReadonlySet<string>) => Object.keys(o).every((k) => keys.has(k));
const intIn = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const isPort = intIn(1, 65535);
const isUser = (v: unknown) => typeof v === 'string' && USER.test(v);
const isPath = (v: unknown) => typeof v === 'string' && localPathProblem(v) === undefined;
const isLink = (v: unknown) => typeof v === 'string' && isIpAddress(v);
const absentOr = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);

/**
 * The document as the inventory it is, when it keeps every rule of the zod schema, else undefined
 * (zod then judges it and explains what is wrong). Loading zod costs a command more than the rest
 * of its start-up, and a well-formed inventory, the usual case, does not need it.
 */
export function quickInventory(doc: unknown): InventoryFile | undefined {
  if (!plainObject(doc) || !onlyKeys(doc, TOP_KEYS)) return undefined;
  const { ssh, nodes } = doc;
  if (ssh !== undefined) {
    if (!plainObject(ssh) || !onlyKeys(ssh, SSH_KEYS)) return undefined;
    const ok =
      absentOr(ssh['user'], isUser) && absentOr(ssh['port'], isPort) && absentOr(ssh['identityFile'], isPath) && absentOr(ssh['configFile'], isPath) &&
      absentOr(ssh['knownHostsFile'], isPath) && absentOr(ssh['connectTimeout'], intIn(1, 300));
    if (!ok) return undefined;
  }
  if (!Array.isArray(nodes) || nodes.length === 0) return undefined;
  const names = new Set<string>();
  for (const n of nodes as unknown[]) {
    if (!plainObject(n) || !onlyKeys(n, NODE_KEYS)) return undefined;
    const { name, host } = n;
    if (typeof name !== 'string' || nodeNameProblem(name) !== undefined || names.has(name)) return undefined;
    names.add(name);
    if (typeof host !== 'string' || hostProblem(host) !== undefined) return undefined;
    const ok = absentOr(n['link0'], isLink) && absentOr(n['link1'], isLink) && absentOr(n['port'], isPort) && absentOr(n['user'], isUser) && absentOr(n['identityFile'], isPath);
    if (!ok) return undefined;
  }
  return doc as InventoryFile;
}

/** The document validated by zod, or a ConfigError naming the file, the path in it and the fix. */
function validatedByZod(doc: unknown, file: string): InventoryFile {
  // required, not imported: only an inventory the quick check did not accept needs zod
  const { z } = createRequire(import.meta.url)('zod') as { z: typeof Zod };
  const parsed = inventorySchemaOf(z).safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = formatPath(issue.path);
    throw new ConfigError(`${file}: ${where ? `${where}: ` : ''}${issue.message}`, {
      hint: fixFor(issue),
      details: { file, path: where, issues: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) },
    });
  }
  return parsed.data;
}

/** One node with every SSH setting resolved. */
export interface InventoryNode {
  name: string;
  host: string;
  port?: number;
  user?: string;
  identityFile?: string;
  configFile?: string;
  knownHostsFile?: string;
  link0?: string;
  link1?: string;
}

/** A loaded inventory. */
export interface Inventory {
  file: string;
  ssh: NonNullable<InventoryFile['ssh']>;
  nodes: InventoryNode[];
}

/** Read, parse and validate an inventory file; errors name the file, the path in it and the fix. */
export function loadInventory(file: string, env: NodeJS.ProcessEnv = process.env): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read inventory ${file}: ${(e as Error).message}`);
  }
  return parseInventory(text, file, env);
}

/** Parse and validate inventory text (file is only used in messages and to resolve relative paths). */
export function parseInventory(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Inventory {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax (indentation with spaces, "key: value" pairs)',
    });
  }
  const js: unknown = doc.toJS();
  const inv = quickInventory(js) ?? validatedByZod(js, file);
  const dir = path.dirname(file);
  const resolve = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, expandHome(p, env)));
  const ssh = inv.ssh ?? {};
  return {
    file,
    ssh,
    nodes: inv.nodes.map((n) => {
      const out: InventoryNode = { name: n.name, host: n.host };
      const portV = n.port ?? ssh.port;
      const userV = n.user ?? ssh.user;
      const id = resolve(n.identityFile ?? ssh.identityFile);
      const cfg = resolve(ssh.configFile);
      const kh = resolve(ssh.knownHostsFile);
      if (portV !== undefined) out.port = portV;
      if (userV !== undefined) out.user = userV;
      if (id) out.identityFile = id;
      if (cfg) out.configFile = cfg;
      if (kh) out.knownHostsFile = kh;
      if (n.link0) out.link0 = n.link0;
      if (n.link1) out.link1 = n.link1;
      return out;
    }),
  };
}

function formatPath(p: ReadonlyArray<PropertyKey>): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s;
}

function fixFor(issue: Zod.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `remove or rename ${issue.keys.map((k) => `'${k}'`).join(', ')}; known keys are listed in the README (Inventory)`;
  }
  if (issue.code === 'invalid_type') return `give ${formatPath(issue.path) || 'the file'} a value of type ${issue.expected}`;
  const last = issue.path[issue.path.length - 1];
  if (last === 'name') return 'node names are the PVE node names (their short hostnames)';
  if (last === 'host') return 'host is what ssh connects to: an address or an ssh_config alias';
  return 'see the inventory format in the README';
}
