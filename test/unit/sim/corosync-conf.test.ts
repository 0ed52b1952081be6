/**
 * The simulator's own corosync.conf reader/writer (PVE::Corosync parse_conf/write_conf), its reading
 * of corosync's cmap, and /cluster/status built from them. Expected texts are written by hand from
 * pve-cluster src/PVE/Corosync.pm, src/pmxcfs/confdb.c, status.c and corosync tools/corosync-cmapctl.c.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCmapClinfo, parseMembershipList, readClusterConf } from '../../../src/lab/sim/core/cluster.js';
import { nodelist, parseConf, totem, writeConf } from '../../../src/lab/sim/core/corosync-conf.js';
import { mountPve } from '../../../src/lab/sim/core/mount.js';
import { simPaths, type SimPaths } from '../../../src/lab/sim/core/paths.js';
import { ensureBaseFiles } from '../../../src/lab/sim/core/pvedb.js';
import { SIM_TOOLS } from '../../../src/lab/sim/registry.js';
import { tmpDir } from '../../helpers/tmp.js';
import { recordingCtx } from './ctx.js';
import { viewFromPoll } from '../../../src/lab/sim/cfs/daemon.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures', 'pve');

// a file as an administrator might have edited it: tabs, comments, a node without `name`, unsorted keys
const EDITED = `# cluster of three
totem {
\tversion: 2
\tcluster_name: lab   # the name
\tconfig_version: 7
\tinterface {
\t\tlinknumber: 1
\t}
\tinterface {
\t\tlinknumber: 0
\t}
}
nodelist {
  node {
    nodeid: 3
    name: pve3
    ring0_addr: 10.99.0.13
    ring1_addr: 10.98.0.13
  }
  node {
    nodeid: 2
    ring0_addr: 10.99.0.12
    ring1_addr: 10.98.0.12
  }
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.99.0.11
    ring1_addr: 10.98.0.11
  }
}
quorum {
  provider: corosync_votequorum
}
`;

describe('parse_conf / write_conf', () => {
  it('keys nodes by name, else ring0_addr, and interfaces by link number', () => {
    const conf = parseConf(EDITED);
    expect(conf).toBeDefined();
    if (!conf) return;
    expect(Object.keys(nodelist(conf)).sort()).toEqual(['10.99.0.12', 'pve1', 'pve3']);
    expect(nodelist(conf)['pve3']).toEqual({ nodeid: '3', name: 'pve3', ring0_addr: '10.99.0.13', ring1_addr: '10.98.0.13' });
    expect(totem(conf)['cluster_name']).toBe('lab');
    expect(totem(conf)['interface']).toEqual({ '0': { linknumber: '0' }, '1': { linknumber: '1' } });
    // sha1 of the raw text, as config_digest reports it
    expect(conf.digest).toMatch(/^[0-9a-f]{40}$/);
  });

  it('writes sorted keys, nodes and interfaces in key order, a blank line after each top-level block', () => {
    const conf = parseConf(EDITED);
    if (!conf) throw new Error('no conf');
    expect(writeConf(conf)).toBe(
      [
        'nodelist {',
        '  node {',
        '    nodeid: 2',
        '    ring0_addr: 10.99.0.12',
        '    ring1_addr: 10.98.0.12',
        '  }',
        '  node {',
        '    name: pve1',
        '    nodeid: 1',
        '    quorum_votes: 1',
        '    ring0_addr: 10.99.0.11',
        '    ring1_addr: 10.98.0.11',
        '  }',
        '  node {',
        '    name: pve3',
        '    nodeid: 3',
        '    ring0_addr: 10.99.0.13',
        '    ring1_addr: 10.98.0.13',
        '  }',
        '}',
        '',
        'quorum {',
        '  provider: corosync_votequorum',
        '}',
        '',
        'totem {',
        '  cluster_name: lab',
        '  config_version: 7',
        '  interface {',
        '    linknumber: 0',
        '  }',
        '  interface {',
        '    linknumber: 1',
        '  }',
        '  version: 2',
        '}',
        '',
        '',
      ].join('\n'),
    );
  });

  it('fails with parse_conf\'s own messages', () => {
    expect(() => parseConf('totem {\n  version 2\n}\n')).toThrow("missing ':' after key 'version'\n");
    expect(() => parseConf('totem {\n  version:\n')).toThrow("parse error - no value for 'version'\n");
    expect(() => parseConf('}\n')).toThrow("parse error - uncexpected '}'\n");
    expect(() => parseConf('quorum {\n}\nquorum {\n}\n')).toThrow("section 'quorum' already exists and not marked as array!\n");
  });

  it('reads an empty file as no cluster', () => {
    expect(parseConf('')).toBeUndefined();
  });
});

describe('cluster info from corosync-cmapctl', () => {
  it('takes name over ring0_addr and skips entries without a nodeid, as confdb.c does', () => {
    const out = [
      'nodelist.node.0.name (str) = pve1',
      'nodelist.node.0.nodeid (u32) = 1',
      'nodelist.node.0.quorum_votes (u32) = 1',
      'nodelist.node.0.ring0_addr (str) = 10.99.0.11',
      'nodelist.node.1.nodeid (u32) = 2',
      'nodelist.node.1.quorum_votes (u32) = 2',
      'nodelist.node.1.ring0_addr (str) = 10.99.0.12',
      'nodelist.node.2.name (str) = pve3',
      'nodelist.node.2.ring0_addr (str) = 10.99.0.13',
      'totem.cluster_name (str) = lab',
      'totem.config_version (u64) = 9',
      '',
    ].join('\n');
    expect(parseCmapClinfo(out)).toEqual({
      clusterName: 'lab',
      configVersion: 9,
      nodes: [
        { name: 'pve1', nodeid: 1, votes: 1 },
        { name: '10.99.0.12', nodeid: 2, votes: 2 },
      ],
    });
  });

  it('has no cluster info without a cluster name', () => {
    expect(parseCmapClinfo('nodelist.node.0.name (str) = pve1\nnodelist.node.0.nodeid (u32) = 1\n')).toBeUndefined();
  });
});

describe('/cluster/status of a member whose corosync does not answer', () => {
  let dir: string;
  let root: string;
  let paths: SimPaths;

  const conf = (version: number): string =>
    `totem {\n  cluster_name: lab\n  config_version: ${version}\n  version: 2\n}\n\nnodelist {\n` +
    [1, 2, 3].map((i) => `  node {\n    name: pve${i}\n    nodeid: ${i}\n    quorum_votes: 1\n    ring0_addr: 10.77.0.1${i}\n  }\n`).join('') +
    '}\n';

  beforeEach(async () => {
    dir = tmpDir('pvx-sim-cc-');
    root = path.join(dir, 'root');
    const labRoot = path.join(dir, 'labs', 'unit');
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    mkdirSync(labRoot, { recursive: true });
    // names resolve to other addresses than the corosync links: the status shows the resolved ones
    writeFileSync(path.join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n10.99.0.11 pve1\n10.99.0.12 pve2\n10.99.0.13 pve3\n');
    const r = recordingCtx({ labRoot, root });
    paths = simPaths(r.ctx.node, { PVX_SIM_ROOT: root });
    await ensureBaseFiles(paths.localDb, r.ctx.node);
    await mountPve(paths, paths.localDb, 'pve1');
    writeFileSync(path.join(paths.etcPve, 'corosync.conf'), conf(5));
    mkdirSync(paths.etcCorosync, { recursive: true });
    writeFileSync(paths.corosyncConf, conf(4));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every node with the address its name resolves to, offline ones too', async () => {
    const r = recordingCtx({ labRoot: path.join(dir, 'labs', 'unit'), root });
    const load = SIM_TOOLS['pvesh'];
    if (!load) throw new Error('no pvesh');
    const code = await (await load()).run(['get', '/cluster/status', '--output-format', 'json'], r.ctx);
    expect({ code, err: r.err() }).toEqual({ code: 0, err: '' });
    const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : 1);
    expect((JSON.parse(r.out()) as Array<{ id: string }>).sort(byId)).toEqual([
      // the version corosync last ran with, not /etc/pve's newer one
      { type: 'cluster', id: 'cluster', name: 'lab', nodes: 3, version: 4, quorate: 1 },
      { type: 'node', id: 'node/pve1', name: 'pve1', nodeid: 1, local: 1, online: 1, ip: '10.99.0.11', level: '' },
      { type: 'node', id: 'node/pve2', name: 'pve2', nodeid: 2, local: 0, online: 0, ip: '10.99.0.12' },
      { type: 'node', id: 'node/pve3', name: 'pve3', nodeid: 3, local: 0, online: 0, ip: '10.99.0.13' },
    ]);
  });

  it('reads the cluster configuration /etc/pve serves', () => {
    expect(readClusterConf(path.join(paths.etcPve, 'corosync.conf'))?.summary).toEqual({
      clusterName: 'lab',
      configVersion: 5,
      nodes: [1, 2, 3].map((i) => ({ name: `pve${i}`, nodeid: i, quorumVotes: 1, links: { 0: `10.77.0.1${i}` } })),
    });
  });
});

describe('membership from corosync-quorumtool -l', () => {
  it('finds the local node and the members without a QDevice', () => {
    const text = '\nMembership information\n----------------------\n    Nodeid      Votes Name\n         1          1 pve1 (local)\n         3          1 pve3\n';
    const m = parseMembershipList(text);
    expect(m.localId).toBe(1);
    expect([...m.online].sort()).toEqual([1, 3]);
  });

  // the reference's pvecm status sample with a QDevice: a flags column before the name, the device as id 0
  it('finds them with the Qdevice column and leaves out the device row', () => {
    const text = [
      'Membership information',
      '----------------------',
      '    Nodeid      Votes    Qdevice Name',
      '0x00000001          1    A,V,NMW 192.168.202.121 (local)',
      '0x00000002          1    A,V,NMW 192.168.202.179',
      '0x00000000          1            Qdevice',
      '',
    ].join('\n');
    const m = parseMembershipList(text);
    expect(m.localId).toBe(1);
    expect([...m.online].sort()).toEqual([1, 2]);
  });

  it('knows no local node when none is marked', () => {
    const m = parseMembershipList('         2          1    NA,NV,NMW pve2\n         0          0            Qdevice (votes 1)\n');
    expect(m.localId).toBeUndefined();
    expect([...m.online]).toEqual([2]);
  });
});

describe("a pmxcfs daemon's view from one poll of corosync-quorumtool -s", () => {
  // the real tool's text (the reference's sample), as `-s` prints it with decimal node ids
  const SAMPLE = readFileSync(path.join(FIXTURES, 'corosync-quorumtool', 'pve9-3node-cluster-validation-siH.txt'), 'utf8');
  const status = (exitCode: number, stdout: string, extra: { stderr?: string; timedOut?: boolean } = {}) => ({ status: { exitCode, stdout, ...extra } });
  const head = (quorate: boolean) =>
    `Quorum information\n------------------\nDate:             Wed Aug 19 17:22:53 2026\nQuorum provider:  corosync_votequorum\nNodes:            2\nNode ID:          1\nRing ID:          1.8\nQuorate:          ${quorate ? 'Yes' : 'No'}\n\nVotequorum information\n----------------------\nExpected votes:   3\nHighest expected: 3\nTotal votes:      2\nQuorum:           2 ${quorate ? ' ' : 'Activity blocked'}\nFlags:            ${quorate ? 'Quorate ' : ''}\n`;
  const MEMBERS = '\nMembership information\n----------------------\n    Nodeid      Votes Name\n         1          1 pve1 (local)\n         2          1 pve2\n';
  it('reads the real sample: its members, its local node, quorate', () => {
    expect(viewFromPoll(status(0, SAMPLE))).toEqual({ localId: 1, online: [1, 2, 3], quorate: true });
  });
  it('quorate with exit 0, not quorate with exit 2 (the members stay)', () => {
    expect(viewFromPoll(status(0, head(true) + MEMBERS))).toEqual({ localId: 1, online: [1, 2], quorate: true });
    expect(viewFromPoll(status(2, head(false) + MEMBERS))).toEqual({ localId: 1, online: [1, 2], quorate: false });
  });
  it('no view when corosync does not answer, or the members name no local node', () => {
    expect(viewFromPoll(status(1, '', { stderr: 'Cannot initialize CMAP service\n' }))).toBeUndefined();
    expect(viewFromPoll(status(1, '', { stderr: 'Cannot initialise VOTEQUORUM service\n' }))).toBeUndefined();
    expect(viewFromPoll(status(0, head(true) + MEMBERS.replace(' (local)', '')))).toBeUndefined();
  });
  it('a membership that changed between the two quorum reads is no view yet: one configuration`s members with another`s quorum', () => {
    // quorate when first asked, then a member list that no longer holds a quorum (votequorum says so last)
    expect(viewFromPoll(status(0, head(false) + MEMBERS))).toBe('unchanged');
    // a joining node: not quorate when first asked, then listed with the cluster that counts it
    expect(viewFromPoll(status(2, head(true) + MEMBERS))).toBe('unchanged');
  });
  it('a slow or failing tool changes nothing: pmxcfs hears quorum from corosync, not from a tool', () => {
    expect(viewFromPoll(status(124, '', { timedOut: true }))).toBe('unchanged');
    expect(viewFromPoll(status(1, head(true), { stderr: 'Unable to get node info: CS_ERR_TRY_AGAIN\n' }))).toBe('unchanged');
    // the status printed, the member list not (the tool stopped part-way)
    expect(viewFromPoll(status(0, head(true)))).toBe('unchanged');
  });
});
