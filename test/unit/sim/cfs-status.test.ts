/**
 * The status files of the lab's pmxcfs, with the texts written out from pve-cluster's sources:
 * `.members` (status.c cfs_create_memberlist_msg and the clinfo_version bumps in
 * cfs_status_set_clinfo, dfsm_confchg, nodeip_hash_set), `.clusterlog` (logger.c clog_dump_json,
 * clog_pack, clusterlog_insert, clusterlog_merge; cfs-utils.c utf8_to_ascii), `.rrd`
 * (status.c cfs_rrd_dump, rrd_entry_is_old) and the rows pvestatd sends (pve-manager pvestatd.pm).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cfsMembersOnline } from '../../../src/lab/sim/core/cfs.js';
import { tmpDir } from '../../helpers/tmp.js';
import { simPaths, type SimPaths } from '../../../src/lab/sim/core/paths.js';
import { MemDb, type CfsOp } from '../../../src/lab/sim/cfs/memdb.js';
import { guestRrd, localRrdUpdates, nodeRrd, rrdString, storageRrd, type NodeRrdFigures } from '../../../src/lab/sim/cfs/rrd-source.js';
import { recordingCtx } from './ctx.js';
import { CfsStatus, clogAscii, clusterlogJson, fnv64aBuf, memberlistText, rrdDumpText, type ClogEntry, type ClusterInfo } from '../../../src/lab/sim/cfs/status.js';

const T = 1_750_000_000;
const INFO: ClusterInfo = {
  name: 'lab',
  version: 3,
  nodes: [
    { name: 'pve1', nodeid: 1, votes: 1 },
    { name: 'pve2', nodeid: 2, votes: 1 },
  ],
};

describe('.members', () => {
  it('has only the node name and the version without a nodelist', () => {
    expect(memberlistText('pve1', 0, undefined, [], true, () => undefined)).toBe('{\n"nodename": "pve1",\n"version": 0\n}\n');
  });

  it('lists the cluster and every node, an address only where one was announced', () => {
    const ips: Record<string, string> = { pve1: '10.0.0.1' };
    expect(memberlistText('pve1', 7, INFO, [1], false, (n) => ips[n])).toBe(
      '{\n"nodename": "pve1",\n"version": 7,\n' +
        '"cluster": { "name": "lab", "version": 3, "nodes": 2, "quorate": 0 },\n' +
        '"nodelist": {\n' +
        '  "pve1": { "id": 1, "online": 1, "ip": "10.0.0.1"},\n' +
        '  "pve2": { "id": 2, "online": 0}\n' +
        '  }\n}\n',
    );
  });

  it('counts the cluster info, every change of the member list and every new or changed address', () => {
    const s = new CfsStatus('pve1', 100, T);
    expect(s.memberlistVersion).toBe(0);
    // no nodelist yet: a member list does not count (dfsm_confchg without clinfo)
    expect(s.confchg([1])).toBe(true);
    expect(s.memberlistVersion).toBe(0);
    s.setClusterInfo(INFO);
    expect(s.memberlistVersion).toBe(1);
    s.setClusterInfo({ ...INFO, nodes: [...INFO.nodes] });
    expect(s.memberlistVersion).toBe(1);
    expect(s.confchg([2, 1])).toBe(true);
    expect(s.memberlistVersion).toBe(2);
    expect(s.confchg([1, 2])).toBe(false);
    expect(s.memberlistVersion).toBe(2);
    s.setNodeIp('pve1', '10.0.0.1');
    s.setNodeIp('pve2', '10.0.0.2');
    s.setNodeIp('pve2', '10.0.0.2');
    expect(s.memberlistVersion).toBe(4);
    expect(s.confchg([1])).toBe(true);
    expect(s.memberlistVersion).toBe(5);
    // an address stays known after its node left
    expect(s.nodeIp('pve2')).toBe('10.0.0.2');
    s.setClusterInfo({ ...INFO, version: 4 });
    expect(s.memberlistVersion).toBe(6);
  });
});

describe('the members as the HA manager reads them (PVE::Cluster::get_members)', () => {
  const fixture = (name: string): string => path.join(import.meta.dirname, '../../fixtures/pve/pmxcfs', name);
  const node = (): SimPaths => {
    const dir = tmpDir('pvx-sim-members-');
    const paths = simPaths(recordingCtx({ labRoot: path.join(dir, 'lab'), root: path.join(dir, 'root') }).ctx.node, { PVX_SIM_ROOT: path.join(dir, 'root') });
    mkdirSync(paths.etcPve, { recursive: true });
    return paths;
  };

  it('gives each node of the nodelist its online flag', () => {
    const paths = node();
    copyFileSync(fixture('members-3node-constructed.json'), path.join(paths.etcPve, '.members'));
    expect(cfsMembersOnline(paths)).toEqual({ proxmox: true, pve2: true, pve3: true });
    writeFileSync(path.join(paths.etcPve, '.members'), memberlistText('pve1', 7, INFO, [1], true, () => undefined));
    expect(cfsMembersOnline(paths)).toEqual({ pve1: true, pve2: false });
  });

  it('has none without a nodelist, or without the file', () => {
    const paths = node();
    expect(cfsMembersOnline(paths)).toBeUndefined();
    copyFileSync(fixture('members-standalone-constructed.json'), path.join(paths.etcPve, '.members'));
    expect(cfsMembersOnline(paths)).toBeUndefined();
  });
});

describe('.clusterlog', () => {
  const e = (uid: number, time: number, node: string, msg: string): ClogEntry => ({ uid, time, pri: 6, tag: 'qm', pid: 77, node, user: 'root@pam', msg });

  it('starts with the daemon\'s own entry (cfs_status_init)', () => {
    expect(new CfsStatus('pve1', 4242, T).clusterlogDump()).toBe(
      `{\n"data": [\n{"uid": 1, "time": ${T}, "pri": 6, "tag": "cluster", "pid": 4242, "node": "pve1", "user": "root", "msg": "starting cluster log"}\n]\n}\n`,
    );
  });

  it('prints an empty log as an empty data array', () => {
    expect(clusterlogJson([])).toBe('{\n"data": [\n]\n}\n');
  });

  it('prints the newest entries first, at most the number asked for', () => {
    expect(clusterlogJson([e(1, T, 'pve1', 'a'), e(2, T + 1, 'pve1', 'b'), e(3, T + 2, 'pve1', 'c')], 2)).toBe(
      '{\n"data": [\n' +
        `{"uid": 3, "time": ${T + 2}, "pri": 6, "tag": "qm", "pid": 77, "node": "pve1", "user": "root@pam", "msg": "c"},\n` +
        `{"uid": 2, "time": ${T + 1}, "pri": 6, "tag": "qm", "pid": 77, "node": "pve1", "user": "root@pam", "msg": "b"}\n` +
        ']\n}\n',
    );
  });

  it('stores a message as utf8_to_ascii makes it: quotes escaped, control characters as #ddd, others as \\uXXXX', () => {
    expect(clogAscii('say "hi"\tto Zoë')).toBe('say \\"hi\\"#009to Zo\\u00eb');
    const s = new CfsStatus('pve1', 1, T);
    const added = s.logAdd('root@pam', 'qm', 55, 3, 'end task "x"', T + 1);
    expect(added).toEqual({ uid: 2, time: T + 1, pri: 3, tag: 'qm', pid: 55, node: 'pve1', user: 'root@pam', msg: 'end task \\"x\\"' });
  });

  it('takes an entry of a node only when it is newer than the newest one taken from it (dedup_lookup)', () => {
    const s = new CfsStatus('pve1', 1, T);
    expect(s.insert(e(5, T + 10, 'pve2', 'new'))).toBe(true);
    expect(s.insert(e(4, T + 10, 'pve2', 'older uid'))).toBe(false);
    expect(s.insert(e(9, T + 9, 'pve2', 'older time'))).toBe(false);
    expect(s.insert(e(6, T + 10, 'pve2', 'next'))).toBe(true);
    expect(s.logEntries().map((x) => x.msg)).toEqual(['starting cluster log', 'new', 'next']);
  });

  it('merges the members\' logs into one, each entry once, ordered by time', () => {
    const s = new CfsStatus('pve1', 1, T + 5);
    s.logAdd('root@pam', 'qm', 9, 6, 'later here', T + 20);
    const other = [e(1, T, 'pve2', 'starting cluster log'), e(2, T + 10, 'pve2', 'there'), e(3, T + 30, 'pve2', 'latest')];
    s.merge([other]);
    s.merge([other]);
    expect(s.logEntries().map((x) => `${x.node}:${x.msg}`)).toEqual(['pve2:starting cluster log', 'pve1:starting cluster log', 'pve2:there', 'pve1:later here', 'pve2:latest']);
    // the merged log's newest entry of pve2 is the mark for what comes from pve2 afterwards
    expect(s.insert(e(2, T + 10, 'pve2', 'there'))).toBe(false);
  });

  it('uses 64-bit FNV-1a for the node digest', () => {
    expect(fnv64aBuf(Buffer.from('a'))).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv64aBuf(Buffer.from('foobar'))).toBe(0x85944171f73967e8n);
  });
});

describe('.rrd', () => {
  it('dumps one key:data line per entry of the last five minutes, nothing when there is none', () => {
    expect(rrdDumpText([], T)).toBe('');
    expect(
      rrdDumpText(
        [
          { key: 'pve2-node/pve1', data: '1:2', time: T - 300 },
          { key: 'pve2-node/pve2', data: '3:4', time: T - 301 },
        ],
        T,
      ),
    ).toBe('pve2-node/pve1:1:2\n');
    const s = new CfsStatus('pve1', 1, T);
    s.setRrd('pve2-storage/pve1/local', `${T}:100:5`, T);
    s.setRrd('pve2-storage/pve1/local', `${T + 10}:100:6`, T + 10);
    expect(s.rrdDump(T + 20)).toBe(`pve2-storage/pve1/local:${T + 10}:100:6\n`);
    expect(s.rrdDump(T + 311)).toBe('');
  });

  const F: NodeRrdFigures = {
    uptime: 3600,
    sublevel: '',
    ctime: T,
    avg1: '0.15',
    maxcpu: 4,
    cpu: 0.0213,
    wait: 0,
    memtotal: 8000,
    memused: 3000,
    swaptotal: 0,
    swapused: 0,
    roottotal: 100,
    rootused: 6,
    netin: 11,
    netout: 22,
  };

  it('sends a node as pvestatd does: pve2-node on PVE 8, pve-node-9.0 with memavailable, arcsize and pressures on PVE 9', () => {
    expect(nodeRrd(8, 'pve1', F)).toEqual({ key: 'pve2-node/pve1', data: `3600::${T}:0.15:4:0.0213:0:8000:3000:0:0:100:6:11:22` });
    expect(nodeRrd(9, 'pve1', F)).toEqual({ key: 'pve-node-9.0/pve1', data: `3600::${T}:0.15:4:0.0213:0:8000:3000:0:0:100:6:11:22:5000:0:0.00:0.00:0.00:0.00:0.00` });
  });

  it('sends a stopped guest with U where only a running one has figures', () => {
    const r = { name: 'VM 120', status: 'stopped', cpus: 1, maxmem: 134217728, maxdisk: 0, disk: 0, cpu: 0, mem: 0, uptime: 0 };
    expect(guestRrd(8, 'qemu', 120, r, T)).toEqual({ key: 'pve2.3-vm/120', data: `0:VM 120:stopped:0:${T}:1:U:134217728:U:0:0:U:U:U:U` });
    expect(guestRrd(9, 'qemu', 120, r, T)).toEqual({ key: 'pve-vm-9.0/120', data: `0:VM 120:stopped:0:${T}:1:U:134217728:U:0:0:U:U:U:U:U:U:U:U:U:U:U` });
  });

  it('sends a running guest with its figures; on PVE 9 memhost only for a VM', () => {
    const r = { name: 'web', status: 'running', pid: 4711, template: 1, uptime: 50, cpus: 2, cpu: 0.5, maxmem: 1024, mem: 512, maxdisk: 4096, disk: 100, netin: 1, netout: 2, diskread: 3, diskwrite: 4 };
    expect(guestRrd(8, 'qemu', 101, r, T).data).toBe(`50:web:running:1:${T}:2:0.5:1024:512:4096:100:1:2:3:4`);
    expect(guestRrd(9, 'qemu', 101, r, T).data).toBe(`50:web:running:1:${T}:2:0.5:1024:512:4096:100:1:2:3:4:512:0:0:0:0:0:0`);
    expect(guestRrd(9, 'lxc', 102, r, T)).toEqual({ key: 'pve-vm-9.0/102', data: `50:web:running:1:${T}:2:0.5:1024:512:4096:100:1:2:3:4:U:0:0:0:0:0:0` });
  });

  it('sends a storage as time, total and used under the node and storage name', () => {
    expect(storageRrd(8, 'pve2', 'local', T, 1000, 10)).toEqual({ key: 'pve2-storage/pve2/local', data: `${T}:1000:10` });
    expect(storageRrd(9, 'pve2', 'local', T, 1000, 10)).toEqual({ key: 'pve-storage-9.0/pve2/local', data: `${T}:1000:10` });
    expect(rrdString([1, undefined, ''])).toBe('1:U:');
  });

  it('reads the node\'s guests and storages from the daemon\'s own database', () => {
    const db = new MemDb();
    const put = (p: string, text?: string): void => {
      const ops: CfsOp[] = text === undefined ? [{ kind: 'mkdir', path: p }] : [{ kind: 'create', path: p }, { kind: 'write', path: p, offset: 0, data: Buffer.from(text).toString('base64') }];
      for (const op of ops) db.apply({ op, writer: 1, mtime: T });
    };
    for (const d of ['nodes', 'nodes/pve1', 'nodes/pve1/qemu-server', 'nodes/pve2', 'nodes/pve2/qemu-server']) put(d);
    put('storage.cfg', 'dir: local\n\tpath /var/lib/vz\n\tcontent images\n\ndir: other\n\tpath /srv\n\tnodes pve2\n\tcontent images\n\n');
    put('nodes/pve1/qemu-server/100.conf', 'memory: 256\nscsi0: local:100/vm-100-disk-0.raw,size=4G\n');
    put('nodes/pve2/qemu-server/200.conf', 'memory: 512\nscsi0: local:200/vm-200-disk-0.raw,size=8G\n');
    const paths = simPaths(recordingCtx({ labRoot: '/nonexistent/unit' }).ctx.node, {});
    const u = localRrdUpdates(db, paths, 'pve1', 8, T);
    expect(u.map((x) => x.key)).toEqual(['pve2-node/pve1', 'pve2.3-vm/100', 'pve2-storage/pve1/local']);
    expect(u[1]?.data).toBe(`0:VM 100:stopped:0:${T}:1:U:268435456:U:4294967296:0:U:U:U:U`);
    // a local dir storage: 100 GiB, 6 GiB of its own plus the 4 GiB disk of this node's VM only
    expect(u[2]?.data).toBe(`${T}:107374182400:10737418240`);
    expect(u[0]?.data).toMatch(new RegExp(`^\\d+::${T}:\\d+\\.\\d\\d:\\d+:0\\.0213:0:\\d+:\\d+:0:0:107374182400:6442450944:0:0$`));
  });
});
