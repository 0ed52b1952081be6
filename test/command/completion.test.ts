/**
 * `pvx __complete -- <words…>` in-process: what the completion scripts are told for each kind of word.
 * Expectations are written by hand from the command tree, the inventory and the lab files the test
 * makes. No node is ever asked: the transport factory fails the run if it is called.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import { complete } from '../../src/commands/completion/complete.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

interface World {
  home: string;
  labs: string;
  state: string;
  cwd: string;
  env: Record<string, string>;
}

function world(extra: Record<string, string> = {}): World {
  const home = tmpDir('pvx-home-');
  const labs = tmpDir('pvx-labs-');
  const state = tmpDir('pvx-state-');
  const cwd = tmpDir('pvx-cwd-');
  return { home, labs, state, cwd, env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), PVX_LAB_ROOT: labs, PVX_STATE_DIR: state, ...extra } };
}

function inventoryFile(dir: string, names: string[], file = 'pvx.yaml'): string {
  mkdirSync(dir, { recursive: true });
  const p = path.join(dir, file);
  writeFileSync(p, `ssh:\n  user: root\nnodes:\n${names.map((n, i) => `  - name: ${n}\n    host: 192.0.2.${i + 1}\n`).join('')}`);
  return p;
}

/** A lab as `lab up` leaves it on disk: lab.json, its inventory, and guest configs in its databases. */
function lab(w: World, name: string, nodes: string[], guests: Record<string, string[]> = {}): string {
  const root = path.join(w.labs, name);
  mkdirSync(root, { recursive: true });
  const state = {
    version: 1,
    name,
    subnet: '10.77.0.0/24',
    bridge: `pvxbr-${name}`,
    hostAddress: '10.77.0.1',
    appDir: '/opt/pvx',
    nodes: nodes.map((n, i) => ({ name: n, index: i + 1, address: `10.77.0.${11 + i}`, netns: `pvx-${name}-${n}`, veth: `pvx-${name}-${i + 1}`, pveVersion: '8.4.11' })),
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
  };
  writeFileSync(path.join(root, 'lab.json'), JSON.stringify(state));
  // each node's pmxcfs database, /var/lib/pve-cluster/config.db, as the sqlite3 shell writes it
  for (const [node, files] of Object.entries(guests)) {
    const file = path.join(root, 'nodes', node, 'var-lib-pve-cluster', 'config.db');
    mkdirSync(path.dirname(file), { recursive: true });
    const inodes = new Map<string, number>([['', 0]]);
    let sql = "CREATE TABLE tree (inode INTEGER PRIMARY KEY NOT NULL, parent INTEGER NOT NULL, version INTEGER NOT NULL, writer INTEGER NOT NULL, mtime INTEGER NOT NULL, type INTEGER NOT NULL, name TEXT NOT NULL, data BLOB);\n";
    sql += "INSERT INTO tree VALUES (0, 0, 0, 0, 0, 8, '__version__', NULL);\n";
    for (const f of files) {
      const parts = f.split('/');
      parts.forEach((name, i) => {
        const p = parts.slice(0, i + 1).join('/');
        if (inodes.has(p)) return;
        const inode = inodes.size;
        inodes.set(p, inode);
        const isFile = i === parts.length - 1;
        sql += `INSERT INTO tree VALUES (${inode}, ${inodes.get(parts.slice(0, i).join('/')) ?? 0}, ${inode}, 0, 0, ${isFile ? 8 : 4}, '${name}', ${isFile ? "X'6D656D6F72793A203531320A'" : 'NULL'});\n`;
      });
    }
    execFileSync('sqlite3', [file], { input: sql });
  }
  return inventoryFile(root, nodes, 'inventory.yaml');
}

/** The answer lines of `pvx __complete -- <words…>`: values (descriptions dropped) and the closing directive. */
async function ask(w: World, words: string[]): Promise<{ values: string[]; directive: string; raw: string }> {
  const io = testIO();
  const code = await run(['__complete', '--', ...words], {
    io,
    env: w.env,
    cwd: w.cwd,
    transportFactory: () => {
      throw new Error('completion must never reach a node');
    },
  });
  expect(code, io.stderrText()).toBe(0);
  expect(io.stderrText()).toBe('');
  const lines = io.stdoutText().split('\n').filter(Boolean);
  const directive = lines.pop() ?? '';
  return { values: lines.map((l) => l.split('\t')[0] as string), directive, raw: io.stdoutText() };
}

describe('pvx __complete: commands and options from the command tree', () => {
  it('top level: every visible command with its description, never the hidden one', async () => {
    const r = await ask(world(), ['']);
    expect(r.values).toEqual(['preflight', 'cluster', 'migrate', 'node', 'ha', 'replication', 'lab', 'completion', 'schema', 'help']);
    expect(r.directive).toBe(':none');
    expect(r.raw).toContain('cluster\tcluster membership: create, join, status, remove-node, expected, qdevice, teardown, restore\n');
  });

  it('subcommands of a group, filtered by what is typed', async () => {
    expect((await ask(world(), ['cluster', ''])).values).toEqual(['status', 'create', 'join', 'remove-node', 'expected', 'qdevice', 'teardown', 'restore', 'help']);
    expect((await ask(world(), ['cluster', 're'])).values).toEqual(['remove-node', 'restore']);
    expect((await ask(world(), ['-i', 'x.yaml', '--json', 'ha', 's'])).values).toEqual(['set', 'status']);
  });

  it("options: the command's own, its help, and the global ones; given ones are not offered again", async () => {
    const r = await ask(world(), ['preflight', '--for', 'ha', '--']);
    expect(r.values).toEqual(expect.arrayContaining(['--nodes', '--cluster-name', '--via', '--skew-warn', '--help', '--inventory', '--json', '--dry-run', '--no-color', '--connect-timeout']));
    expect(r.values).not.toContain('--for');
    expect((await ask(world(), ['cluster', 'status', '--n'])).values).toEqual(['--node', '--no-color']);
  });

  it('option values from fixed lists: --for, --state, --pve (a list: the same version may come again)', async () => {
    expect((await ask(world(), ['preflight', '--for', ''])).values).toEqual(['general', 'create', 'join', 'migrate', 'ha']);
    expect((await ask(world(), ['ha', 'add', '100', '--state', ''])).values).toEqual(['started', 'stopped', 'disabled', 'ignored']);
    expect((await ask(world(), ['ha', 'set', '100', '--state', 'dis'])).values).toEqual(['disabled']);
    expect((await ask(world(), ['lab', 'up', '--pve', ''])).values).toEqual(['8.4.11', '9.0.6', '9.1.7']);
    expect((await ask(world(), ['lab', 'up', '--pve', '8.4.11,9.'])).values).toEqual(['8.4.11,9.0.6', '8.4.11,9.1.7']);
    // a count takes no suggestion and no file names
    expect(await ask(world(), ['lab', 'up', '--nodes', ''])).toMatchObject({ values: [], directive: ':none' });
  });

  it('--flag=value: the candidates keep the flag, as the shell word does', async () => {
    expect((await ask(world(), ['preflight', '--for=c'])).values).toEqual(['--for=create']);
    expect((await ask(world(), ['ha', 'add', '1', '--state='])).values).toEqual(['--state=started', '--state=stopped', '--state=disabled', '--state=ignored']);
  });

  it('files and directories are left to the shell', async () => {
    expect((await ask(world(), ['-i', ''])).directive).toBe(':files');
    expect((await ask(world(), ['--inventory='])).directive).toBe(':files');
    expect((await ask(world(), ['cluster', 'create', 'x', '--password-file', ''])).directive).toBe(':files');
    expect((await ask(world(), ['cluster', 'teardown', '--backup-dir', ''])).directive).toBe(':dirs');
    // after `--` the command run in a lab node is the shell's to complete
    expect((await ask(world(), ['lab', 'exec', 'pve1', '--', ''])).directive).toBe(':files');
  });

  it('completion, schema and help arguments', async () => {
    expect((await ask(world(), ['completion', ''])).values).toEqual(['bash', 'zsh', 'fish']);
    expect((await ask(world(), ['schema', ''])).values).toEqual(['preflight', 'cluster', 'migrate', 'node', 'ha', 'replication', 'lab']);
    expect((await ask(world(), ['schema', 'node', ''])).values).toEqual(['drain', 'maintenance']);
    expect((await ask(world(), ['node', 'maintenance', ''])).values).toEqual(['enable', 'disable', 'help']);
    expect((await ask(world(), ['schema', 'ha', ''])).values).toEqual(['add', 'set', 'remove', 'status', 'budget']);
    expect((await ask(world(), ['schema', 'replication', ''])).values).toEqual(['add', 'list', 'status', 'remove', 'run']);
    expect((await ask(world(), ['help', 'c'])).values).toEqual(['cluster', 'completion']);
    expect((await ask(world(), ['lab', 'help', ''])).values).toEqual(['up', 'down', 'status', 'inventory', 'exec', 'fault']);
  });

  it('when no operand is left, the options that may still be missing', async () => {
    expect((await ask(world(), ['cluster', 'join', 'pve4', ''])).values).toEqual(expect.arrayContaining(['--via', '--link0', '--use-ssh']));
  });
});

describe('pvx __complete: node names from the inventory the command would use', () => {
  it('-i, --inventory=, PVX_INVENTORY, ./pvx.yaml and the config dir, in that order', async () => {
    const w = world();
    const a = inventoryFile(path.join(w.home, 'a'), ['alpha1', 'alpha2']);
    const b = inventoryFile(path.join(w.home, 'b'), ['beta1']);
    inventoryFile(w.cwd, ['cwd1']);
    inventoryFile(path.join(w.home, '.config', 'pvx'), ['conf1'], 'inventory.yaml');
    expect((await ask(w, ['-i', a, 'cluster', 'join', ''])).values).toEqual(['alpha1', 'alpha2']);
    expect((await ask(w, [`--inventory=${a}`, 'cluster', 'status', '--node', ''])).values).toEqual(['alpha1', 'alpha2']);
    expect((await ask({ ...w, env: { ...w.env, PVX_INVENTORY: b } }, ['cluster', 'remove-node', ''])).values).toEqual(['beta1']);
    expect((await ask(w, ['migrate', '100', '--to', ''])).values).toEqual(['cwd1']);
    expect((await ask({ ...w, cwd: w.home }, ['ha', 'status', '--node', ''])).values).toEqual(['conf1']);
  });

  it('comma lists: --nodes and ha --nodes n1:prio offer the nodes not named yet', async () => {
    const w = world();
    const inv = inventoryFile(w.home, ['pve1', 'pve2', 'pve3']);
    expect((await ask(w, ['-i', inv, 'preflight', '--nodes', 'pve1,'])).values).toEqual(['pve1,pve2', 'pve1,pve3']);
    expect((await ask(w, ['-i', inv, 'ha', 'add', '100', '--nodes', 'pve2:2,pve1:1,p'])).values).toEqual(['pve2:2,pve1:1,pve3']);
    expect((await ask(w, ['-i', inv, 'cluster', 'create', 'prod', '--nodes', ''])).values).toEqual(['pve1', 'pve2', 'pve3']);
  });

  it('a missing or broken inventory offers nothing and fails nothing', async () => {
    const w = world();
    expect((await ask(w, ['-i', path.join(w.home, 'nope.yaml'), 'cluster', 'join', ''])).values).toEqual([]);
    const broken = path.join(w.home, 'broken.yaml');
    writeFileSync(broken, 'nodes: [ {name: pve1\n');
    expect((await ask(w, ['-i', broken, 'cluster', 'join', ''])).values).toEqual([]);
  });
});

describe('pvx __complete: guests, labs and backups from local files', () => {
  it("guests: all@<node> per inventory node; a lab's VMIDs when the inventory is the lab's (ha set: one VMID)", async () => {
    const w = world();
    const real = inventoryFile(w.home, ['pve1', 'pve2']);
    expect((await ask(w, ['-i', real, 'migrate', ''])).values).toEqual(['all@pve1', 'all@pve2']);
    const labInv = lab(w, 'pvx', ['pve1', 'pve2'], {
      pve1: ['nodes/pve1/qemu-server/100.conf', 'nodes/pve2/lxc/101.conf', 'nodes/pve2/qemu-server/notes.txt'],
      pve2: ['nodes/pve2/qemu-server/102.conf', 'nodes/pve2/lxc/101.conf'],
    });
    expect((await ask(w, ['-i', labInv, 'migrate', ''])).values).toEqual(['100', '101', '102', 'all@pve1', 'all@pve2']);
    expect((await ask(w, ['-i', labInv, 'ha', 'add', '100,'])).values).toEqual(['100,101', '100,102', '100,all@pve1', '100,all@pve2']);
    expect((await ask(w, ['-i', labInv, 'ha', 'set', ''])).values).toEqual(['100', '101', '102']);
    expect((await ask(w, ['-i', labInv, 'ha', 'remove', 'all@'])).values).toEqual(['all@pve1', 'all@pve2']);
  });

  it('lab names, the nodes of the lab named by --name (default pvx), faults and their arguments', async () => {
    const w = world();
    lab(w, 'pvx', ['pve1', 'pve2', 'pve3']);
    lab(w, 'e2e1', ['pve1']);
    mkdirSync(path.join(w.labs, 'notalab'));
    expect((await ask(w, ['lab', 'status', '--name', ''])).values).toEqual(['e2e1', 'pvx']);
    expect((await ask(w, ['lab', 'exec', ''])).values).toEqual(['pve1', 'pve2', 'pve3']);
    expect((await ask(w, ['lab', 'exec', '--name', 'e2e1', ''])).values).toEqual(['pve1']);
    expect((await ask(w, ['lab', 'fault', '--name=e2e1', ''])).values).toEqual(['pve1', 'all']);
    expect((await ask(w, ['lab', 'fault', 'pve2', ''])).values).toEqual(['block-udp', 'skew', 'stop-corosync', 'kill-corosync', 'down', 'pve-version', 'hosts-loopback', 'heal']);
    expect((await ask(w, ['lab', 'fault', 'pve2', 'pve-version', ''])).values).toEqual(['8.4.11', '9.0.6', '9.1.7']);
    expect((await ask(w, ['lab', 'fault', 'pve2', 'skew', ''])).values).toEqual([]);
    expect((await ask(w, ['lab', 'exec', '--name', 'gone', ''])).values).toEqual([]);
  });

  it('cluster restore: the backup sets in the state folder, newest first, and any directory', async () => {
    const w = world();
    for (const s of ['prod-20250101T120000Z', 'prod-20250301T120000Z']) mkdirSync(path.join(w.state, 'backups', s), { recursive: true });
    const r = await ask(w, ['cluster', 'restore', '']);
    expect(r.values).toEqual([path.join(w.state, 'backups', 'prod-20250301T120000Z'), path.join(w.state, 'backups', 'prod-20250101T120000Z')]);
    expect(r.directive).toBe(':dirs');
  });
});

describe('complete() on any command tree', () => {
  it('a command it has never seen completes from its definition alone', async () => {
    const program = new Command('pvx').option('-i, --inventory <file>', 'inventory');
    program.command('node').description('node work').command('drain').description('move every guest off').argument('<node>', 'the node').option('--to <a,b>', 'targets').option('--parallel <n>', 'at once');
    const w = world();
    const inv = inventoryFile(w.home, ['pve1', 'pve2']);
    const names = async (words: string[]) => (await complete(program, words, w.env, w.cwd)).candidates.map((c) => c.value);
    expect(await names(['n'])).toEqual(['node']);
    expect(await names(['node', ''])).toEqual(['drain', 'help']);
    expect(await names(['-i', inv, 'node', 'drain', ''])).toEqual(['pve1', 'pve2']);
    expect(await names(['-i', inv, 'node', 'drain', 'pve1', '--to', 'pve2,'])).toEqual(['pve2,pve1']);
    expect(await names(['node', 'drain', 'pve1', '--'])).toEqual(['--to', '--parallel', '--help', '--inventory']);
  });
});
