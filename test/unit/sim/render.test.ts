import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { totem, writeConf } from '../../../src/lab/sim/core/corosync-conf.js';
import { parsePctList, parseQmList, parsePvesmStatus, parsePvecmStatus, parsePveversion } from '../../../src/pve/parse/index.js';
import { createConf } from '../../../src/lab/sim/tools/pvecm-create.js';
import { statusHeader } from '../../../src/lab/sim/tools/pvecm.js';
import { renderPveversion } from '../../../src/lab/sim/tools/pveversion.js';
import { renderPctList, renderQmList } from '../../../src/lab/sim/render/guest-list.js';
import { renderPvesmStatus } from '../../../src/lab/sim/render/pvesm.js';
import { renderPvesrList, renderPvesrStatus } from '../../../src/lab/sim/tools/pvesr.js';
import { perlJson, perlJsonPretty } from '../../../src/lab/sim/render/json.js';
import { apiResult } from '../../../src/lab/sim/render/api-result.js';

const ref = (p: string): string => readFileSync(fileURLToPath(new URL(`../../fixtures/pve/${p}`, import.meta.url)), 'utf8');
const trimLines = (t: string): string => t.split('\n').map((l) => l.trimEnd()).join('\n');

describe('corosync.conf writer', () => {
  it('writes PVE 9.1+ create output in the reference layout, byte for byte', () => {
    const conf = createConf('pve1', 'lab', '10.0.0.1', { tokenCoefficient: 125 });
    // atomic_write_conf bumps 0 to 1 before the first write
    totem(conf)['config_version'] = '1';
    // write_conf ends every top-level block with a blank line, the last one too; the reference's
    // code block drops that final empty line
    expect(writeConf(conf)).toBe(`${ref('corosync-conf/pve-create-illustrative.conf')}\n`);
  });

  it('omits token_coefficient before PVE 9.1 and records link priorities in the interface block', () => {
    const conf = createConf('pve1', 'lab', '10.0.0.1', { links: new Map([[0, { address: '10.1.0.1', priority: 20 }]]), nodeid: 4, votes: 2 });
    const text = writeConf(conf);
    expect(text).not.toContain('token_coefficient');
    expect(text).toContain('  interface {\n    knet_link_priority: 20\n    linknumber: 0\n  }\n');
    expect(text).toContain('    nodeid: 4\n    quorum_votes: 2\n    ring0_addr: 10.1.0.1\n');
  });
});

describe('qm list / pct list', () => {
  const GiB = 1024 ** 3;
  const MiB = 1024 ** 2;
  it('lays out qm list like the reference rows (the real command pads PID to 10)', () => {
    const text = renderQmList([
      { vmid: 122, name: 'mikrotik-chr', status: 'running', maxmem: 512 * MiB, maxdisk: 8 * GiB, pid: 2324 },
      { vmid: 100, name: 'home-assistant', status: 'running', maxmem: 8192 * MiB, maxdisk: 60 * GiB, pid: 1790 },
    ]);
    expect(trimLines(text)).toBe(ref('guest-list/qm-list-backup-info-fixture.txt'));
    for (const l of text.split('\n').slice(0, -1)) expect(l.length).toBe(10 + 1 + 20 + 1 + 10 + 1 + 10 + 1 + 12 + 1 + 10);
    expect(parseQmList(text)).toEqual(parseQmList(ref('guest-list/qm-list-backup-info-fixture.txt')));
  });

  it('prints nothing at all without guests', () => {
    expect(renderQmList([])).toBe('');
    expect(renderPctList([])).toBe('');
  });

  it('lays out pct list like the reference rows (Name padded to 20)', () => {
    const text = renderPctList([
      { vmid: 124, status: 'stopped', name: 'games' },
      { vmid: 113, status: 'running', name: 'proxmox-backup' },
    ]);
    expect(trimLines(text)).toBe(ref('guest-list/pct-list-backup-info-fixture.txt'));
    expect(parsePctList(text)).toEqual(parsePctList(ref('guest-list/pct-list-backup-info-fixture.txt')));
  });
});

describe('pvesm status', () => {
  it('reproduces the reference table from the same numbers', () => {
    const row = (storage: string, type: string, totalK: number, usedK: number, availK: number) => ({
      storage,
      type,
      active: 1,
      enabled: 1,
      total: totalK * 1024,
      used: usedK * 1024,
      avail: availK * 1024,
    });
    const text = renderPvesmStatus([
      row('truenas', 'nfs', 934724608, 96884736, 837839872),
      row('local', 'dir', 67169672, 48329328, 15382504),
      row('local-lvm', 'lvmthin', 153374720, 109233475, 44141244),
    ]);
    expect(text).toBe(ref('pvesm-status/pve9-3node-cluster-validation.txt'));
    expect(parsePvesmStatus(text)).toEqual(parsePvesmStatus(ref('pvesm-status/pve9-3node-cluster-validation.txt')));
  });

  it('shows a disabled storage with N/A', () => {
    const text = renderPvesmStatus([{ storage: 'nas', type: 'nfs', active: 0, enabled: 0, total: 0, used: 0, avail: 0 }]);
    expect(text.split('\n')[1]).toBe('nas         nfs   disabled               0               0               0      N/A');
  });
});

describe('pvecm status header', () => {
  it('matches the reference header block', () => {
    const header = statusHeader({ cluster_name: 'labcluster', config_version: '3', secauth: 'on' });
    const sample = ref('pvecm-status/pve9-3node-cluster-validation.txt');
    expect(sample.startsWith(header)).toBe(true);
    expect(parsePvecmStatus(`${header}${sample.slice(header.length)}`).cluster).toEqual(parsePvecmStatus(sample).cluster);
  });

  it('uses the defaults of a sparse totem, typo included', () => {
    expect(statusHeader({ version: '2' })).toContain('Name:             UNKOWN?\nConfig Version:   -1\nTransport:        knet\nSecure auth:      off\n');
  });
});

describe('pveversion', () => {
  it('prints the PVE 8.4.11 package list of the reference', () => {
    expect(renderPveversion('8.4.11', true)).toBe(ref('pveversion/pve8.4.11-verbose.txt'));
  });

  it('prints the PVE 9.1.7 package list of the reference', () => {
    expect(renderPveversion('9.1.7', true)).toBe(ref('pveversion/pve9.1.7-verbose.txt'));
  });

  it('prints the one-line form', () => {
    expect(renderPveversion('9.0.6', false)).toBe(ref('pveversion/pve9.0.6-oneliner.txt'));
    expect(parsePveversion(renderPveversion('8.4.11', false)).manager).toMatchObject({ version: '8.4.11', major: 8, minor: 4 });
  });

  it('derives later releases from the version map', () => {
    const v = parsePveversion(renderPveversion('9.2.3', true));
    expect(v.manager.version).toBe('9.2.3');
    expect(v.packages['pve-ha-manager']).toBe('5.2.4');
    expect(v.packages['corosync']).toBe('3.1.10-pve2');
  });
});

describe('pvesr', () => {
  it('prints the headers of the reference samples when there are no jobs', () => {
    expect(renderPvesrList([])).toBe(`${ref('pvesr/list-hetzner.txt').split('\n')[0]}\n`);
    expect(renderPvesrStatus([]).trimEnd()).toBe(ref('pvesr/status-replication-and-ha.txt').split('\n')[0]?.trimEnd());
  });

  it('prints the jobs of the real samples byte for byte', () => {
    expect(renderPvesrList([{ id: '202-0', type: 'local', guest: 202, jobnum: 0, target: 'hetzner-03' }])).toBe(ref('pvesr/list-hetzner.txt'));
    // the sample's times are local times of its node: build them in this process's zone
    const t = (d: number, h: number, m: number, s: number): number => new Date(2024, 11, d, h, m, s).getTime() / 1000;
    const rows = [
      { id: '145-0', guest: 145, target: 'pve1', last_sync: t(18, 19, 30, 0), next_sync: t(18, 20, 0, 0), duration: 4.014435, fail_count: 0 },
      { id: '100-0', guest: 100, target: 'pve1', last_sync: t(18, 6, 0, 0), next_sync: t(19, 6, 0, 0), duration: 13.768198, fail_count: 0 },
      { id: '141-0', guest: 141, target: 'pve1', last_sync: t(18, 18, 0, 6), next_sync: t(18, 20, 0, 0), duration: 4.122741, fail_count: 0 },
    ];
    expect(renderPvesrStatus(rows, t(18, 19, 45, 0))).toBe(ref('pvesr/status-replication-and-ha.txt'));
  });

  it('shows pending for a due job, SYNCING for a running one and the error of a failed one (pvesr.pm $print_job_status)', () => {
    const out = renderPvesrStatus(
      [
        { id: '100-0', guest: 100, target: 'pve2', next_sync: 1000, fail_count: 0 },
        { id: '101-0', guest: 101, target: 'pve2', disable: '1', pid: 42, fail_count: 0 },
        { id: '102-0', guest: 102, target: 'pve3', fail_count: 2, error: 'no route' },
      ],
      2000,
    );
    expect(out.split('\n').slice(1)).toEqual([
      '100-0      Yes        local/pve2                              -              pending          -          0 OK',
      '101-0      No         local/pve2                              -                    -          -          0 SYNCING',
      '102-0      Yes        local/pve3                              -                    -          -          2 no route',
      '',
    ]);
  });
});

describe('JSON output (pvesh --output-format)', () => {
  it('writes one line with sorted keys', () => {
    expect(perlJson({ b: 1, a: { d: '2', c: [3] } })).toBe('{"a":{"c":[3],"d":"2"},"b":1}\n');
  });

  it('pretty-prints with 3-space indentation and spaced colons', () => {
    expect(perlJsonPretty([{ b: 1, a: 'x' }, []])).toBe('[\n   {\n      "a" : "x",\n      "b" : 1\n   },\n   []\n]\n');
  });

  it('prints nothing for an empty array in text mode and [] in json mode', () => {
    expect(apiResult([], { type: 'array', props: {} }, {}, { utf8: false })).toBe('');
    expect(apiResult([], { type: 'array', props: {} }, { 'output-format': 'json' }, { utf8: false })).toBe('[]\n');
  });

  it('draws text tables like print_text_table', () => {
    const schema = { type: 'array' as const, props: { name: { type: 'string' as const }, n: { type: 'integer' as const, optional: true } } };
    expect(apiResult([{ name: 'b', n: 10 }, { name: 'a', n: 2 }], schema, {}, { utf8: true })).toBe(
      '┌──────┬────┐\n│ name │  n │\n╞══════╪════╡\n│ a    │  2 │\n├──────┼────┤\n│ b    │ 10 │\n└──────┴────┘\n',
    );
    // without borders the last column is printed unaligned
    expect(apiResult([{ name: 'b', n: 10 }], schema, { noborder: 1 }, { utf8: false })).toBe('name n\nb    10\n');
  });
});
