/**
 * The package as a user installs it: test/pack-install.sh packs it, installs the tarball into a fresh
 * prefix and runs the installed pvx; then the installed completion scripts complete for real through
 * the installed pvx, and a real `--json` run passes the JSON Schema the package ships. Needs a built
 * dist/ and the npm registry (for the dependencies).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const prefix = path.join(tmpDir('pvx-pack-'), 'prefix');
const bin = path.join(prefix, 'bin');
const pkg = path.join(prefix, 'lib', 'node_modules', 'pvx');
const env = { PATH: `${bin}:${process.env['PATH']}`, HOME: tmpDir('pvx-home-'), NO_COLOR: '1' };
let packed: ReturnType<typeof spawnSync>;

function run(file: string, args: string[]) {
  const r = spawnSync(file, args, { encoding: 'utf8', env, cwd: env.HOME, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the installed package', () => {
  beforeAll(() => {
    packed = spawnSync('bash', [path.join(ROOT, 'test', 'pack-install.sh'), prefix], { encoding: 'utf8', timeout: 230_000 });
  }, 240_000);
  afterAll(() => rmSync(path.dirname(prefix), { recursive: true, force: true }));

  it('packs, installs with npm install -g --prefix, and answers --version, completion, schema and lab up --help', () => {
    expect(packed.status, `${packed.stdout}\n${packed.stderr}`).toBe(0);
    expect(packed.stdout).toContain('installs from its tarball and runs');
  });

  it('bash: the installed script completes through the installed pvx', () => {
    const script = `source <(pvx completion bash)\nCOMP_WORDS=(pvx cluster st)\nCOMP_CWORD=2\nCOMP_LINE='pvx cluster st'\n_pvx\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = run('bash', ['--norc', '--noprofile', '-c', script]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'status\n', '']);
  });

  // CI installs fish (.ci/run); elsewhere it may be missing
  it.skipIf(spawnSync('fish', ['-c', 'exit 0']).status !== 0 && process.env['CI'] !== 'true')('fish: the installed script completes through the installed pvx', () => {
    const r = run('fish', ['--no-config', '-c', 'pvx completion fish | source; complete -C "pvx completion "']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'bash\nzsh\nfish\n', '']);
  });

  it("a real --json run passes the JSON Schema shipped in the package's schemas/", () => {
    const r = run(path.join(bin, 'pvx'), ['--json', 'ha', 'budget', '99.95']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(readFileSync(path.join(pkg, 'schemas', 'ha-budget.json'), 'utf8'));
    const validate = new Ajv2020({ strict: true }).compile(schema);
    expect(validate(JSON.parse(r.stdout)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...JSON.parse(r.stdout), unexpected: 1 })).toBe(false);
  });
});
