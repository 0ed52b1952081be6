/** `pvesm status` (reference §8.2), `pvesm list`, and `pvesm export`/`import` of zfspool volumes (what replication pipes over ssh). */
import type { SimTool } from '../types.js';
import { nodeStorage } from '../api/cluster-status.js';
import { checkRpcEnv } from '../core/cfs.js';
import { runCli } from '../core/cli.js';
import { simEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { fmtNode, fmtStorageId, fmtVmid } from '../core/schema.js';
import { exportVolume } from '../core/replicate.js';
import { readStorages } from '../core/storage.js';
import { parseVolname, storageCheckEnabled, storageContent, volumeStorage, zfsPoolOf } from '../core/volumes.js';
import { deleteSnapshot, importDataset, type ZfsStream } from '../core/zfs.js';
import { renderPvesmList, renderPvesmStatus, type StorageStatusRow } from '../render/pvesm.js';

/** The pvesm tool. */
export const pvesm: SimTool = {
  name: 'pvesm',
  async run(args, ctx) {
    const env = simEnv(ctx);
    return runCli(
      'pvesm',
      {
        status: {
          group: 'PVE::API2::Storage::Status',
          params: {
            storage: { type: 'string', format: fmtStorageId, optional: true },
            content: { type: 'string', optional: true },
            enabled: { type: 'boolean', optional: true },
            target: { type: 'string', format: fmtNode, optional: true },
            format: { type: 'boolean', optional: true },
          },
          run: async (v) => {
            const opts: { storage?: string; content?: string; enabled?: boolean } = {};
            if (typeof v['storage'] === 'string') opts.storage = v['storage'];
            if (typeof v['content'] === 'string') opts.content = v['content'];
            if (v['enabled']) opts.enabled = true;
            const rows = nodeStorage(env, opts);
            if (opts.storage && rows.length === 0) throw new Die(`storage '${opts.storage}' does not exist\n`);
            ctx.out(
              renderPvesmStatus(
                rows.map((r): StorageStatusRow => ({
                  storage: String(r['storage']),
                  type: String(r['type']),
                  active: Number(r['active'] ?? 0),
                  enabled: Number(r['enabled'] ?? 0),
                  total: Number(r['total'] ?? 0),
                  used: Number(r['used'] ?? 0),
                  avail: Number(r['avail'] ?? 0),
                })),
              ),
            );
            return 0;
          },
        },
        list: {
          group: 'PVE::API2::Storage::Content',
          params: {
            node: { type: 'string', format: fmtNode },
            storage: { type: 'string', format: fmtStorageId },
            content: { type: 'string', optional: true },
            vmid: { type: 'integer', format: fmtVmid, optional: true },
          },
          args: ['storage'],
          fixed: { node: env.nodename },
          run: async (v) => {
            const sid = String(v['storage']);
            const s = readStorages(env.paths).find((x) => x.id === sid);
            if (!s) throw new Die(`storage '${sid}' does not exist\n`);
            storageCheckEnabled(s, env.nodename);
            let list = storageContent(env.paths, s, env.nodename, v['vmid'] !== undefined ? Number(v['vmid']) : undefined);
            if (typeof v['content'] === 'string') list = list.filter((c) => c.content === v['content']);
            ctx.out(renderPvesmList(list));
            return 0;
          },
        },
        export: {
          group: 'PVE::CLI::pvesm',
          params: {
            volume: { type: 'string' },
            format: { type: 'string', enum: ['raw+size', 'tar+size', 'qcow2+size', 'vmdk+size', 'zfs', 'btrfs'] },
            filename: { type: 'string' },
            base: { type: 'string', optional: true, maxLength: 80 },
            snapshot: { type: 'string', optional: true, maxLength: 80 },
            'with-snapshots': { type: 'boolean', optional: true },
            'snapshot-list': { type: 'string', optional: true },
          },
          args: ['volume', 'format', 'filename'],
          run: async (v) => {
            const volid = String(v['volume']);
            const { s } = volumeStorage(env.paths, volid);
            if (s.type !== 'zfspool' || v['format'] !== 'zfs') throw new Die('cannot export volumes of this type\n');
            if (typeof v['snapshot'] !== 'string') throw new Die('cannot export a zfs volume without a snapshot\n');
            const stream = exportVolume(env.paths, env.nodename, volid, v['snapshot'], typeof v['base'] === 'string' ? v['base'] : undefined);
            if (v['filename'] !== '-') throw new Die('export to a file is not supported in the lab\n');
            ctx.out(`${JSON.stringify(stream)}\n`);
            return 0;
          },
        },
        import: {
          group: 'PVE::CLI::pvesm',
          params: {
            volume: { type: 'string' },
            format: { type: 'string', enum: ['raw+size', 'tar+size', 'qcow2+size', 'vmdk+size', 'zfs', 'btrfs'] },
            filename: { type: 'string' },
            base: { type: 'string', optional: true, maxLength: 80 },
            snapshot: { type: 'string', optional: true, maxLength: 80 },
            'with-snapshots': { type: 'boolean', optional: true },
            'delete-snapshot': { type: 'string', optional: true, maxLength: 80 },
            'allow-rename': { type: 'boolean', optional: true },
          },
          args: ['volume', 'format', 'filename'],
          run: async (v) => {
            const volid = String(v['volume']);
            const { s, volname } = volumeStorage(env.paths, volid);
            storageCheckEnabled(s, env.nodename);
            if (s.type !== 'zfspool' || v['format'] !== 'zfs') throw new Die('cannot import volumes of this type\n');
            if (v['filename'] !== '-') throw new Die('import from a file is not supported in the lab\n');
            const line = (await ctx.readStdin()).split('\n').find((l) => l.startsWith('{'));
            if (!line) throw new Die('import failed: no data on stdin\n');
            const stream = JSON.parse(line) as ZfsStream;
            if (typeof v['base'] === 'string' && stream.base !== v['base']) throw new Die(`cannot receive incremental stream: base '${v['base']}' does not match the stream\n`);
            const pool = zfsPoolOf(s);
            const name = parseVolname(s, volname).name;
            importDataset(env.paths, env.nodename, pool, name, stream);
            if (typeof v['delete-snapshot'] === 'string') deleteSnapshot(env.paths, env.nodename, pool, name, v['delete-snapshot']);
            ctx.out(`successfully imported '${volid}'\n`);
            return 0;
          },
        },
      },
      args,
      ctx,
      { prepare: async () => checkRpcEnv(env.paths) },
    );
  },
};
