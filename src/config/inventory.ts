/** The inventory file: which nodes pvx manages and how to reach them (YAML, validated with zod). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { hostProblem, isIpAddress, localPathProblem, nodeNameProblem } from '../pve/names.js';
import { expandHome } from './paths.js';

export { findInventory } from './inventory-path.js';

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

const inventorySchema = z
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

/** The inventory as written in the file. */
export type InventoryFile = z.infer<typeof inventorySchema>;

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
  const parsed = inventorySchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = formatPath(issue.path);
    throw new ConfigError(`${file}: ${where ? `${where}: ` : ''}${issue.message}`, {
      hint: fixFor(issue),
      details: { file, path: where, issues: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) },
    });
  }
  const inv = parsed.data;
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

function fixFor(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `remove or rename ${issue.keys.map((k) => `'${k}'`).join(', ')}; known keys are listed in the README (Inventory)`;
  }
  if (issue.code === 'invalid_type') return `give ${formatPath(issue.path) || 'the file'} a value of type ${issue.expected}`;
  const last = issue.path[issue.path.length - 1];
  if (last === 'name') return 'node names are the PVE node names (their short hostnames)';
  if (last === 'host') return 'host is what ssh connects to: an address or an ssh_config alias';
  return 'see the inventory format in the README';
}
