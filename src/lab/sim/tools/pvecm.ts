/** `pvecm`: the cluster manager (reference §1). Status, nodes and expected run the real corosync tools. */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { SimTool } from '../types.js';
import { addnode, delnode } from '../api/cluster-config.js';
import { checkCfsIsMounted, cfsQuorate } from '../core/cfs.js';
import { onlineNodes, pveClusterConf, quorumDevice, remoteNodeIp } from '../core/cluster.js';
import { block, totem as totemBlock } from '../core/corosync-conf.js';
import { runCli, type CommandTree } from '../core/cli.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { BIN, run } from '../core/exec.js';
import {
  corosyncLinkParams,
  fmtCidr,
  fmtIp,
  fmtNode,
  FINGERPRINT_PATTERN,
  type Param,
} from '../core/schema.js';
import { sleep } from '../core/time.js';
import { clusterHasTokenCoefficient } from '../core/versions.js';

const CLI = 'PVE::CLI::pvecm';
const API = 'PVE::API2::ClusterConfig';

function checkConfExists(env: SimEnv): void {
  if (!existsSync(path.join(env.paths.etcPve, 'corosync.conf'))) {
    throw new Die("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n");
  }
}

/** The `Cluster information` block of `pvecm status`. */
export function statusHeader(totem: Record<string, unknown>): string {
  if (Object.keys(totem).length === 0) return '';
  const line = (label: string, key: string, dflt: string): string => {
    const v = totem[key];
    return `${`${label}:`.padEnd(17)} ${typeof v === 'string' ? v : dflt}\n`;
  };
  return (
    'Cluster information\n-------------------\n' +
    line('Name', 'cluster_name', 'UNKOWN?') +
    line('Config Version', 'config_version', '-1') +
    line('Transport', 'transport', 'knet') +
    line('Secure auth', 'secauth', 'off') +
    '\n'
  );
}

async function passThrough(env: SimEnv, args: string[]): Promise<number> {
  const r = await run(BIN.quorumtool, args, { timeoutMs: 30_000 });
  env.ctx.out(r.stdout);
  env.ctx.err(r.stderr);
  return r.exitCode === 127 ? 255 : r.exitCode;
}

function linkParams(): Record<string, Param> {
  return corosyncLinkParams();
}

function tree(env: SimEnv): CommandTree {
  const nodeid: Param = { type: 'integer', minimum: 1, optional: true };
  const createParams: Record<string, Param> = {
    clustername: { type: 'string', format: fmtNode, maxLength: 15 },
    nodeid,
    votes: { type: 'integer', minimum: 1, optional: true },
    ...linkParams(),
  };
  if (clusterHasTokenCoefficient(env.rel)) createParams['token-coefficient'] = { type: 'integer', minimum: 0, optional: true };
  return {
    keygen: {
      group: CLI,
      params: { filename: { type: 'string' } },
      args: ['filename'],
      run: async (v) => {
        const file = String(v['filename']);
        if (existsSync(file)) throw new Die(`key file '${file}' already exists\n`);
        mkdirSync(path.dirname(file), { recursive: true });
        const r = await run(BIN.keygen, ['-l', '-k', file], { timeoutMs: 60_000 });
        env.ctx.out(r.stdout);
        env.ctx.err(r.stderr);
        if (r.exitCode !== 0) throw new Die(`command 'corosync-keygen -l -k ${file}' failed: exit code ${r.exitCode}\n`);
        return 0;
      },
    },
    create: {
      group: API,
      params: createParams,
      args: ['clustername'],
      run: async (v) => (await import('./pvecm-create.js')).pvecmCreate(env, v),
    },
    add: {
      group: CLI,
      params: {
        hostname: { type: 'string' },
        nodeid,
        votes: { type: 'integer', minimum: 0, optional: true },
        force: { type: 'boolean', optional: true },
        fingerprint: { type: 'string', pattern: FINGERPRINT_PATTERN, optional: true },
        use_ssh: { type: 'boolean', optional: true },
        ...linkParams(),
      },
      args: ['hostname'],
      run: async (v) => (await import('./pvecm-join.js')).pvecmAdd(env, v),
    },
    addnode: {
      group: API,
      params: {
        node: { type: 'string', format: fmtNode },
        nodeid,
        votes: { type: 'integer', minimum: 0, optional: true },
        force: { type: 'boolean', optional: true },
        new_node_ip: { type: 'string', format: fmtIp, optional: true },
        apiversion: { type: 'integer', optional: true },
        ...linkParams(),
      },
      args: ['node'],
      run: async (v) => {
        await addnode(env, v);
        return 0;
      },
    },
    delnode: {
      group: API,
      params: { node: { type: 'string', format: fmtNode } },
      args: ['node'],
      run: async (v) => {
        await delnode(env, String(v['node']));
        return 0;
      },
    },
    status: {
      group: CLI,
      params: {},
      run: async () => {
        checkConfExists(env);
        let totem: Record<string, unknown> = {};
        try {
          const cc = pveClusterConf(env.paths);
          if (cc) totem = structuredClone(totemBlock(cc.conf));
        } catch (e) {
          env.ctx.err(e instanceof Error ? `${e.message}\n` : `${String(e)}\n`);
        }
        env.ctx.out(statusHeader(totem));
        return passThrough(env, ['-siH']);
      },
    },
    nodes: {
      group: CLI,
      params: {},
      run: async () => {
        checkConfExists(env);
        return passThrough(env, ['-l']);
      },
    },
    expected: {
      group: CLI,
      params: { expected: { type: 'integer', minimum: 1 } },
      args: ['expected'],
      run: async (v) => {
        checkConfExists(env);
        return passThrough(env, ['-e', String(v['expected'])]);
      },
    },
    updatecerts: {
      group: CLI,
      params: {
        force: { type: 'boolean', optional: true },
        silent: { type: 'boolean', optional: true },
        'unmerge-known-hosts': { type: 'boolean', optional: true },
      },
      run: async (v) => {
        const silent = Boolean(v['silent']);
        const started = Date.now();
        for (let i = 0; !cfsQuorate(env.paths); i++) {
          if (!silent && i % 50 === 0) env.ctx.out('waiting for pmxcfs mount to appear and get quorate...\n');
          if (Date.now() - started > 80_000) {
            const msg = 'got timeout when trying to ensure cluster certificates and base file hierarchy is set up - no quorum (yet) or hung pmxcfs?\n';
            if (!silent) throw new Die(msg);
            env.ctx.err(msg);
            return 0;
          }
          await sleep(100);
        }
        const { updatecertsAndSsh } = await import('./pvecm-join.js');
        await updatecertsAndSsh(env, env.ctx.out, Boolean(v['force']), silent, Boolean(v['unmerge-known-hosts']));
        return 0;
      },
    },
    apiver: {
      group: API,
      params: {},
      run: async () => {
        env.ctx.out('1\n');
        return 0;
      },
    },
    mtunnel: {
      group: CLI,
      params: {
        get_migration_ip: { type: 'boolean', optional: true },
        migration_network: { type: 'string', format: fmtCidr, optional: true },
        'run-command': { type: 'boolean', optional: true },
        'extra-args': { type: 'array', optional: true },
      },
      args: ['extra-args'],
      run: async (v) => {
        if (!cfsQuorate(env.paths)) {
          env.ctx.out('no quorum\n');
          return 0;
        }
        if (v['get_migration_ip']) {
          env.ctx.out('no ip\n');
          return 0;
        }
        env.ctx.out('tunnel online\n');
        // the tunnel stays open until the caller closes it or sends `quit`
        await env.ctx.readStdin();
        return 0;
      },
    },
    qdevice: {
      setup: {
        group: CLI,
        params: {
          address: { type: 'string', format: fmtIp },
          network: { type: 'string', format: fmtCidr, optional: true },
          force: { type: 'boolean', optional: true },
        },
        args: ['address'],
        run: async (v) => {
          checkConfExists(env);
          return (await import('./pvecm-qdevice.js')).qdeviceSetup(env, v);
        },
      },
      remove: {
        group: CLI,
        params: {},
        run: async () => {
          checkConfExists(env);
          return (await import('./pvecm-qdevice.js')).qdeviceRemove(env);
        },
      },
    },
  };
}

/** The pvecm tool. */
export const pvecm: SimTool = {
  name: 'pvecm',
  async run(args, ctx) {
    const env = simEnv(ctx);
    return runCli('pvecm', tree(env), args, ctx, {
      prepare: async () => {
        checkCfsIsMounted(env.paths);
        await remoteNodeIp(env.paths, env.nodename);
      },
    });
  },
};
