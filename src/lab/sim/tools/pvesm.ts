/** `pvesm status` (reference §8.2). */
import type { SimTool } from '../types.js';
import { nodeStorage } from '../api/cluster-status.js';
import { checkRpcEnv } from '../core/cfs.js';
import { runCli } from '../core/cli.js';
import { simEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { fmtNode, fmtStorageId } from '../core/schema.js';
import { renderPvesmStatus, type StorageStatusRow } from '../render/pvesm.js';

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
      },
      args,
      ctx,
      { prepare: async () => checkRpcEnv(env.paths) },
    );
  },
};
