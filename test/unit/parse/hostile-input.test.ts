/**
 * Every parser, fed empty, random, truncated and mistyped input, must either return a result or throw
 * a ParseError; a TypeError or RangeError from inside a parser is a bug.
 */
import { describe, expect, it } from 'vitest';
import * as parse from '../../../src/pve/parse/index.js';
import { ParseError } from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

type TextParser = (text: string) => unknown;

/** Each text parser with the fixtures that exercise it. */
const PARSERS: Array<[string, TextParser, string[]]> = [
  ['parsePvecmStatus', parse.parsePvecmStatus, [
    'pvecm-status/pve-docs-4node-quorate.tilde.txt',
    'pvecm-status/pve9.2.9-2node-qdevice-krnn.txt',
    'pvecm-status/pve8-single-node-after-create.partial.txt',
    'pvecm-status/non-quorate-shape.partial.txt',
  ]],
  ['parsePvecmNodes', parse.parsePvecmNodes, ['pvecm-nodes/pve9-3node-cluster-validation.txt']],
  ['parseQuorumtoolStatus', parse.parseQuorumtoolStatus, ['pvecm-status/pve9-3node-cluster-validation.txt']],
  ['parseMembership', (t) => parse.parseMembership(t), ['pvecm-status/pve9.2.9-2node-qdevice-krnn.txt']],
  ['parseCfgtoolStatus', parse.parseCfgtoolStatus, ['corosync-cfgtool/two-links-corosync-source.txt']],
  ['parseCorosyncConf', parse.parseCorosyncConf, ['corosync-conf/pve-create-illustrative.conf']],
  ['summarizeCorosyncConf', (t) => parse.summarizeCorosyncConf(parse.parseCorosyncConf(t)), ['corosync-conf/pve-create-illustrative.conf']],
  ['parseClusterStatus', parse.parseClusterStatus, ['pvesh/cluster-status-go-proxmox-pve9x.json']],
  ['parseJoinInfo', parse.parseJoinInfo, ['pvesh/cluster-config-join-community-proxmox.reformatted.json']],
  ['parseClusterResources', parse.parseClusterResources, ['pvesh/cluster-status-go-proxmox-pve9x.json']],
  ['parseHaStatusCurrent', parse.parseHaStatusCurrent, ['pvesh/ha-status-current-standalone-pve9.2.2.json']],
  ['parsePveversion', parse.parsePveversion, ['pveversion/pve9.1.7-verbose.txt', 'pveversion/pve9.0.6-oneliner.txt']],
  ['parseChronyTracking', (t) => parse.parseChronyTracking(t), ['chrony/tracking-synchronised.txt']],
  ['parseNtpSynchronized', parse.parseNtpSynchronized, []],
  ['parseTimedatectlStatus', parse.parseTimedatectlStatus, []],
  ['parseHaManagerStatus', parse.parseHaManagerStatus, [
    'ha-manager-status/pve8-2node-lab.txt',
    'ha-manager-status/pve9.2-dynamic-crs-3node.txt',
  ]],
  ['parseHaSections', (t) => parse.parseHaSections(t), ['ha-config/section-config-files-doc.txt']],
  ['parseHaResourcesConfig', parse.parseHaResourcesConfig, ['ha-config/ha-manager-config-doc.txt']],
  ['parseHaGroupConfig', parse.parseHaGroupConfig, []],
  ['parseQmList', parse.parseQmList, ['guest-list/qm-list-backup-info-fixture.txt']],
  ['parsePctList', parse.parsePctList, ['guest-list/pct-list-backup-info-fixture.txt']],
  ['parseMigrationLog', (t) => parse.parseMigrationLog(t), [
    'migration/pve8-ha-live-success-taskviewer.log',
    'migration/host-key-failure-taskviewer.log',
  ]],
  ['parseUpid', parse.parseUpid, []],
  ['parsePvesmStatus', parse.parsePvesmStatus, ['pvesm-status/pve9-3node-cluster-validation.txt']],
  ['parsePvesrList', parse.parsePvesrList, ['pvesr/list-hetzner.txt']],
  ['parsePvesrStatus', parse.parsePvesrStatus, ['pvesr/status-replication-and-ha.txt']],
];

type Classifier = (out: parse.CommandOutput) => unknown;

const CLASSIFIERS: Array<[string, Classifier]> = [
  ['classifyPvecmStatus', parse.classifyPvecmStatus],
  ['classifyPvecmAdd', parse.classifyPvecmAdd],
  ['classifyPvecmCreate', parse.classifyPvecmCreate],
  ['classifyPvecmDelnode', parse.classifyPvecmDelnode],
  ['classifyMigration', parse.classifyMigration],
];

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'abcXYZ0189 :.,-_()[]{}"\'#*/\\\t\n\n\n~|=%!?x\u00a0\u00e9\u{1F600}\u0000\u001b';

function randomText(next: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)] ?? '';
  return s;
}

/** Run `fn` and fail unless it returns or throws a ParseError. */
function expectControlled(name: string, input: unknown, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) {
      expect(err.message.length).toBeGreaterThan(0);
      expect(err.tool.length).toBeGreaterThan(0);
      expect(err.excerpt.length).toBeLessThanOrEqual(121);
      return;
    }
    throw new Error(`${name} threw ${String(err)} for input ${JSON.stringify(input)?.slice(0, 200)}`, { cause: err });
  }
}

function inputsFor(files: string[], seed: number): string[] {
  const next = rng(seed);
  const out = ['', ' ', '\n', '\n\n\n', '\r\n', '\t', 'null', '[]', '{}', '0', '-', '{"type":"node"}', '[null]', '[[]]', '[{"type":5}]'];
  for (let i = 0; i < 30; i++) out.push(randomText(next, Math.floor(next() * 400)));
  out.push('x'.repeat(100_000), `${'\n'.repeat(10_000)}a`);
  for (const f of files) {
    const text = fixture(f);
    const lines = text.split('\n');
    for (let i = 0; i <= 40; i++) out.push(text.slice(0, Math.floor((text.length * i) / 40)));
    for (let i = 0; i < lines.length; i++) out.push(lines.slice(0, i).join('\n'), lines.slice(i).join('\n'));
    for (let i = 0; i < 10; i++) {
      const shuffled = [...lines].sort(() => next() - 0.5);
      out.push(shuffled.join('\n'));
      const pos = Math.floor(next() * text.length);
      out.push(text.slice(0, pos) + randomText(next, 5) + text.slice(pos));
    }
    out.push(text.toUpperCase(), text.replace(/\d/g, '9'.repeat(30)), text.replace(/ +/g, ' '), text.replace(/:/g, ''));
  }
  return out;
}

describe('hostile input', () => {
  PARSERS.forEach(([name, fn, files], idx) => {
    it(`${name} returns or throws ParseError on empty, random and truncated input`, () => {
      for (const input of inputsFor(files, 1000 + idx)) expectControlled(name, input, () => fn(input));
    });

    it(`${name} throws ParseError for values that are not strings`, () => {
      for (const input of [undefined, null, 42, {}, [], Symbol.for('x')]) {
        expectControlled(name, input, () => fn(input as unknown as string));
      }
    });
  });

  CLASSIFIERS.forEach(([name, fn], idx) => {
    it(`${name} copes with odd command output`, () => {
      const next = rng(2000 + idx);
      const outputs: unknown[] = [
        { stdout: '', stderr: '' },
        { stdout: '', stderr: '', exitCode: 255 },
        { stdout: undefined, stderr: undefined },
        { stdout: 5, stderr: null, exitCode: 0 },
        { stdout: fixture('pvecm-status/pve9-3node-cluster-validation.txt').slice(0, 300), stderr: '' },
      ];
      for (let i = 0; i < 30; i++) outputs.push({ stdout: randomText(next, 300), stderr: randomText(next, 100), exitCode: i % 3 });
      for (const out of outputs) expectControlled(name, out, () => fn(out as parse.CommandOutput));
    });
  });

  it('gives well-defined empty results where "no output" is a valid answer', () => {
    expect(parse.parseQmList('')).toEqual([]);
    expect(parse.parsePctList('')).toEqual([]);
    expect(parse.parsePvesmStatus('')).toEqual([]);
    expect(parse.parsePvesrList('')).toEqual([]);
    expect(parse.parsePvesrStatus('')).toEqual([]);
    expect(parse.parseHaSections('')).toEqual([]);
    expect(parse.parseMigrationLog('').outcome).toBe('unknown');
    expect(parse.classifyPvecmAdd({ stdout: '', stderr: '' })).toEqual({ kind: 'unknown' });
  });

  it('ParseError names the tool and carries a printable excerpt', () => {
    try {
      parse.parsePvecmStatus('\u001b[31mgarbage\u0000\nmore');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ParseError);
      const e = err as ParseError;
      expect(e.tool).toBe('pvecm status');
      expect(e.name).toBe('ParseError');
      expect(e.message.startsWith('pvecm status: ')).toBe(true);
      expect(e.excerpt).toBe('\\x1b[31mgarbage\\x00\\nmore');
    }
    expect(parse.excerptOf('y'.repeat(500)).length).toBe(121);
  });
});
