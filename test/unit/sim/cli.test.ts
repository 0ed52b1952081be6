import { describe, expect, it } from 'vitest';
import { getOptions, runCli, usageLine, usageShort, type CommandSpec, type CommandTree } from '../../../src/lab/sim/core/cli.js';
import { fmtNode, type Values } from '../../../src/lab/sim/core/schema.js';
import { recordingCtx } from './ctx.js';

const seen: Values[] = [];
const spec = (params: CommandSpec['params'], args: string[] = [], group = 'PVE::CLI::t'): CommandSpec => ({
  group,
  params,
  args,
  run: async (v) => {
    seen.push(v);
    return 0;
  },
});

const migrate = spec(
  {
    vmid: { type: 'integer' },
    target: { type: 'string', format: fmtNode },
    online: { type: 'boolean', optional: true },
    bwlimit: { type: 'integer', minimum: 0, optional: true },
    'with-local-disks': { type: 'boolean', optional: true },
  },
  ['vmid', 'target'],
  'PVE::API2::Qemu',
);

const tree: CommandTree = {
  status: spec({}),
  delnode: spec({ node: { type: 'string', format: fmtNode } }, ['node'], 'PVE::API2::ClusterConfig'),
  add: spec({ hostname: { type: 'string' }, force: { type: 'boolean', optional: true }, fingerprint: { type: 'string', optional: true } }, ['hostname']),
  qdevice: { setup: spec({ address: { type: 'string' } }, ['address']), remove: spec({}) },
  migrate,
  move: { alias: 'migrate' },
};

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string; values: Values | undefined }> {
  const r = recordingCtx();
  seen.length = 0;
  const code = await runCli('pvecm', tree, argv, r.ctx);
  return { code, out: r.out(), err: r.err(), values: seen[0] };
}

describe('option parsing (Getopt::Long as PVE configures it)', () => {
  const warn = (): void => undefined;

  it('accepts --x v, --x=v and -x v', () => {
    expect(getOptions(migrate, ['100', 'pve2', '--bwlimit', '10'], warn)['bwlimit']).toBe('10');
    expect(getOptions(migrate, ['100', 'pve2', '--bwlimit=20'], warn)['bwlimit']).toBe('20');
    expect(getOptions(migrate, ['-bwlimit', '30', '100', 'pve2'], warn)['bwlimit']).toBe('30');
  });

  it('reads every boolean spelling, case-insensitively, and a bare flag as 1', () => {
    for (const [word, want] of [['1', 1], ['yes', 1], ['TRUE', 1], ['on', 1], ['0', 0], ['no', 0], ['False', 0], ['OFF', 0]] as const) {
      expect(getOptions(migrate, ['100', 'pve2', '--online', word], warn)['online']).toBe(want);
    }
    expect(getOptions(migrate, ['100', 'pve2', '--online'], warn)['online']).toBe(1);
    expect(getOptions(migrate, ['100', 'pve2', '--online', '--bwlimit', '5'], warn)['online']).toBe(1);
  });

  it('lets a boolean swallow the next word, as Getopt does with an optional value', async () => {
    // the flag takes "100", leaving one positional for two parameters
    const r = await cli(['migrate', '--online', '100', 'pve2']);
    expect(r.code).toBe(255);
    expect(r.err).toBe('400 not enough arguments\npvecm migrate <vmid> <target> [OPTIONS]\n');
    const bad = await cli(['migrate', '100', 'pve2', '--online', 'maybe']);
    expect(bad.err).toBe('400 unable to parse boolean option\npvecm migrate <vmid> <target> [OPTIONS]\n');
  });

  it('expands unique option prefixes and rejects ambiguous or unknown ones', async () => {
    expect(getOptions(migrate, ['100', 'pve2', '--with', '1'], warn)['with-local-disks']).toBe(1);
    const amb = await cli(['add', 'pve1', '--f', '1']);
    expect(amb.err).toBe('Option f is ambiguous (fingerprint, force)\n400 unable to parse option\npvecm add <hostname> [OPTIONS]\n');
    const unknown = await cli(['add', 'pve1', '--password', 'x']);
    expect(unknown.err).toBe('Unknown option: password\n400 unable to parse option\npvecm add <hostname> [OPTIONS]\n');
  });

  it('reports too many arguments with the command usage (reference 0.1)', async () => {
    const r = await cli(['add', 'qdevice', '10.0.0.1']);
    expect(r.err).toBe('400 too many arguments\npvecm add <hostname> [OPTIONS]\n');
  });

  it('prints parameter verification failures like the reference delnode sample', async () => {
    const r = await cli(['delnode', '10.0.0.5']);
    expect(r.code).toBe(255);
    expect(r.err).toBe('400 Parameter verification failed.\nnode: invalid format - value does not look like a valid node name\n\npvecm delnode <node>\n');
  });
});

describe('sub-command resolution', () => {
  it('runs a command from a unique prefix', async () => {
    const r = await cli(['stat']);
    expect(r.code).toBe(0);
    expect(r.values).toEqual({});
  });

  it('rejects an unknown command with the usage list on stderr and exit 255', async () => {
    const r = await cli(['foo']);
    expect(r.code).toBe(255);
    expect(r.err.split('\n').slice(0, 2)).toEqual(["ERROR: unknown command 'pvecm foo'", 'USAGE: pvecm <COMMAND> [ARGS] [OPTIONS]']);
    // sub-command groups first, then commands grouped by handler class
    expect(r.err).toContain('       pvecm qdevice remove \n       pvecm qdevice setup <address>\n\n       pvecm delnode <node>\n');
  });

  it('reports an incomplete nested command', async () => {
    const r = await cli(['qdevice']);
    expect(r.code).toBe(255);
    expect(r.err).toBe("ERROR: incomplete command 'pvecm qdevice'\nUSAGE: pvecm <COMMAND> [ARGS] [OPTIONS]\n\n       pvecm qdevice remove \n       pvecm qdevice setup <address>\n");
  });

  it('follows aliases but does not expand prefixes of them', async () => {
    expect((await cli(['move', '100', 'pve2'])).code).toBe(0);
    expect((await cli(['mov', '100', 'pve2'])).err).toContain("ERROR: unknown command 'pvecm mov'");
  });

  it('writes usage lines as getopt_usage does (trailing blank when there are no arguments)', () => {
    expect(usageLine('pvecm status', tree['status'] as CommandSpec)).toBe('pvecm status \n');
    expect(usageShort('pvecm', tree)).toMatch(/^USAGE: pvecm <COMMAND> \[ARGS\] \[OPTIONS\]\n\n/);
  });
});
