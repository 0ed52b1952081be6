/** `pvx schema` and `pvx completion` in-process, and the rule that every command with a `--json` result has a schema. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import { buildProgram } from '../../src/program.js';
import { RESULT_COMMANDS } from '../../src/schema/names.js';
import { jsonSchemaOf } from '../../src/schema/json-schema.js';
import { validEnvelope } from '../helpers/json-schema.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);

async function pvx(args: string[]) {
  const io = testIO();
  const code = await run(args, { io, env: { HOME: tmpDir('pvx-home-') }, cwd: tmpDir('pvx-cwd-'), transportFactory: () => { throw new Error('no node may be asked'); } });
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('pvx schema', () => {
  it("prints a command's JSON Schema: the envelope with that command's result", async () => {
    const r = await pvx(['schema', 'cluster', 'status']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.title).toBe('pvx cluster status --json');
    expect(s.properties.command).toEqual({ type: 'string', const: 'cluster status' });
    expect(s.properties.result.required).toEqual(['cluster', 'quorum', 'nodes', 'standalone', 'unreachable', 'unreadable', 'source']);
    expect(s.properties.result.additionalProperties).toBe(false);
  });

  it('without a command: the envelope every command prints', async () => {
    const s = JSON.parse((await pvx(['schema'])).stdout);
    expect(s.title).toBe('pvx --json envelope');
    expect(s.required).toEqual(['schemaVersion', 'command', 'ok', 'warnings']);
  });

  it('--list names the commands that have one', async () => {
    const r = await pvx(['schema', '--list']);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'preflight', 'cluster status', 'cluster create', 'cluster join', 'cluster remove-node', 'cluster expected', 'cluster teardown',
      'cluster restore', 'cluster qdevice add', 'cluster qdevice remove', 'migrate', 'node drain', 'node maintenance enable', 'node maintenance disable', 'ha add', 'ha set', 'ha remove', 'ha status', 'ha budget',
      'replication add', 'replication list', 'replication status', 'replication remove', 'replication run', 'lab up', 'lab down', 'lab status',
      'lab inventory', 'lab exec', 'lab fault',
    ]);
  });

  it('an unknown command is bad input (exit 2), also as a --json envelope', async () => {
    const r = await pvx(['schema', 'cluster', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no command 'cluster nope' has a JSON result");
    const j = await pvx(['--json', 'schema', 'nope']);
    expect(validEnvelope(j.stdout)).toMatchObject({ command: 'schema', ok: false, error: { code: 'USAGE', exitCode: 2 } });
  });

  it('every schema is valid JSON Schema (2020-12, strict)', () => {
    const ajv = new Ajv2020({ strict: true });
    for (const name of [undefined, ...RESULT_COMMANDS]) expect(() => ajv.compile(jsonSchemaOf(name)), String(name)).not.toThrow();
  });

  it('every command that prints a --json result has a schema, and no schema lacks its command', () => {
    const program = buildProgram('0.0.0', async () => undefined, { env: {}, cwd: '/', out: () => undefined });
    const leaves: string[] = [];
    const walk = (c: Command, words: string[]) => {
      for (const sub of c.commands) {
        const w = [...words, sub.name()];
        if (sub.commands.length > 0) walk(sub, w);
        else leaves.push(w.join(' '));
      }
    };
    walk(program, []);
    // these print text (a script, a schema, completion candidates), never an envelope with a result
    const printing = ['completion', 'schema', '__complete'];
    expect(leaves.filter((l) => !printing.includes(l)).sort()).toEqual([...RESULT_COMMANDS].sort());
  });
});

describe('pvx completion', () => {
  it('prints the shipped script of each shell', async () => {
    for (const [shell, file] of [['bash', 'pvx.bash'], ['zsh', '_pvx'], ['fish', 'pvx.fish']]) {
      const r = await pvx(['completion', shell as string]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(readFileSync(path.join(ROOT, 'completions', file as string), 'utf8'));
    }
  });

  it('an unknown shell is bad input (exit 2) naming the ones there are', async () => {
    const r = await pvx(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pvx has no completion for the shell 'tcsh'");
    expect(r.stderr).toContain('bash, zsh, fish');
  });

  it('--help says how to install each script', async () => {
    const r = await pvx(['completion', '--help']);
    expect(r.stdout).toContain("echo 'source <(pvx completion bash)' >> ~/.bashrc");
    expect(r.stdout).toContain('pvx completion zsh > "${fpath[1]}/_pvx"');
    expect(r.stdout).toContain('pvx completion fish > ~/.config/fish/completions/pvx.fish');
  });
});
