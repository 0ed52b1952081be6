/** `pvesr list|status` (reference §8.3): replication needs ZFS, which the lab has none of, so no jobs. */
import type { SimTool } from '../types.js';
import { checkRpcEnv } from '../core/cfs.js';
import { runCli } from '../core/cli.js';
import { simEnv } from '../core/env.js';

/** `pvesr list` header (pvesr.pm $print_job_list). */
export function renderPvesrList(): string {
  return `${'JobID'.padEnd(20)} ${'Target'.padEnd(20)} ${'Schedule'.padStart(10)} ${'Rate'.padStart(5)} ${'Enabled'.padStart(8)}\n`;
}

/** `pvesr status` header (pvesr.pm $print_job_status). */
export function renderPvesrStatus(): string {
  return `${'JobID'.padEnd(10)} ${'Enabled'.padEnd(10)} ${'Target'.padEnd(20)} ${'LastSync'.padStart(20)} ${'NextSync'.padStart(20)} ${'Duration'.padStart(10)} ${'FailCount'.padStart(10)} State\n`;
}

/** The pvesr tool. */
export const pvesr: SimTool = {
  name: 'pvesr',
  async run(args, ctx) {
    const env = simEnv(ctx);
    return runCli(
      'pvesr',
      {
        list: {
          group: 'PVE::API2::ReplicationConfig',
          params: {},
          run: async () => {
            ctx.out(renderPvesrList());
            return 0;
          },
        },
        status: {
          group: 'PVE::API2::Replication',
          params: { guest: { type: 'integer', optional: true } },
          run: async () => {
            ctx.out(renderPvesrStatus());
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
