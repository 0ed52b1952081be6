/**
 * The files every node's /etc/pve holds (what `pvecm updatecerts`, run after pve-cluster starts,
 * creates when missing), written as database operations: the daemon must not touch its own mount
 * with synchronous file calls, which would wait on the event loop that serves them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NodeIdentity } from '../../layout.js';
import { defaultStorageCfg, makeNodeCert } from '../core/pvedb.js';
import type { CfsOp, MemDb } from './memdb.js';

/** The operations that create what is missing; run in order. */
export async function baseEntryOps(memdb: MemDb, node: NodeIdentity): Promise<CfsOp[]> {
  const ops: CfsOp[] = [];
  const n = node.name;
  for (const d of ['priv', 'priv/lock', 'nodes', `nodes/${n}`, `nodes/${n}/lxc`, `nodes/${n}/qemu-server`, `nodes/${n}/openvz`, `nodes/${n}/priv`, 'ha']) {
    if (!memdb.lookup(d)) ops.push({ kind: 'mkdir', path: d });
  }
  const file = (p: string, text: string): void => {
    if (memdb.lookup(p)) return;
    ops.push({ kind: 'create', path: p });
    if (text) ops.push({ kind: 'write', path: p, offset: 0, data: Buffer.from(text).toString('base64') });
  };
  file('storage.cfg', defaultStorageCfg(node));
  file('datacenter.cfg', 'keyboard: en-us\n');
  file('user.cfg', `user:root@pam:1:0:::root@${n}.lab::\n\n`);
  file('priv/authorized_keys', '');
  file('authkey.pub', '');
  if (!memdb.lookup(`nodes/${n}/pve-ssl.pem`)) {
    const dir = mkdtempSync(path.join(tmpdir(), 'pmxcfs-cert-'));
    try {
      const c = await makeNodeCert(n, node.address, dir);
      file(`nodes/${n}/pve-ssl.key`, c.key);
      file(`nodes/${n}/pve-ssl.pem`, c.pem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return ops;
}
