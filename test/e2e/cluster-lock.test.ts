/**
 * The cluster lock on a lab of its own (e2elk, 10.231.0.0/24, 2 nodes; real sshd, real sh and
 * coreutils on the nodes, real corosync once clustered): a lock held by hand on pve2 (as another
 * workstation's run leaves it in /run/lock/pvx-cluster) refuses `cluster create` with exit 1 naming
 * the holder, and nothing changes on any node; once the lock is removed by hand the same create
 * succeeds and leaves no lock behind. Runs the built bin/pvx.js; needs root.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, type CliResult } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2elk';
const SUBNET = '10.231.0.0/24';
const NODES = ['pve1', 'pve2'];
const LOCK = '/run/lock/pvx-cluster';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let env: Record<string, string>;

function cli(args: string[]): CliResult {
  return pvx(['-i', info.inventory, ...args], env);
}

/** `pvx lab exec` on a node of this lab, as a person would type it. */
function labSh(node: string, script: string): CliResult {
  return pvx(['lab', 'exec', '--name', LAB, node, '--', 'sh', '-c', script], env);
}

function journal(): Array<{ node: string; argv: string[]; mutates: boolean }> {
  try {
    return readFileSync(path.join(env['PVX_STATE_DIR']!, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** What decides a node's cluster membership, and its lock folder (without PVE's own <file>.tmp.<pid> files, written then renamed, and the cfs locks the HA stack takes and releases under /etc/pve/priv/lock). */
async function nodeState(node: string): Promise<string> {
  const r = await labExec(LAB, node, [
    'sh',
    '-c',
    `for f in /etc/pve/corosync.conf /etc/corosync/authkey /etc/corosync/corosync.conf ${LOCK}/owner.json; do if [ -e "$f" ]; then md5sum "$f"; fi; done; ` +
      'if pidof corosync >/dev/null; then echo corosync running; fi; find /etc/pve 2>/dev/null | grep -v -e "\\.tmp\\.[0-9]*$" -e "^/etc/pve/priv/lock/" | sort | md5sum',
  ]);
  return r.stdout;
}

async function snapshot(): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, await nodeState(n)] as const)));
}

describe.skipIf(!isRoot)('the cluster lock on the lab (e2elk)', () => {
  beforeAll(async () => {
    const dir = tmpDir('pvx-e2elk-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
  });

  afterAll(async () => {
    await labDown(LAB, log);
  });

  it('a lock held on pve2 refuses cluster create (exit 1, who and since when), nothing changes; removed by hand, the create succeeds', async () => {
    // another workstation's run, as its owner file says, with a fresh heartbeat on pve2's clock
    const held = labSh(
      'pve2',
      `mkdir -p ${LOCK} && now=$(date +%s) && printf '{"host":"admin-laptop","user":"carol","pid":31337,"command":"pvx cluster teardown --yes","token":"cccccccccccccccc","since":%s,"heartbeat":%s}\\n' "$now" "$now" >${LOCK}/owner.json`,
    );
    expect(held.code, held.stderr).toBe(0);
    const before = await snapshot();

    const r = cli(['--json', 'cluster', 'create', 'e2elk', '--nodes', 'pve1,pve2', '--password-file', info.rootPasswordFile]);
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.error).toMatchObject({ code: 'LOCKED', exitCode: 1 });
    expect(doc.error.message).toMatch(
      /^the cluster is locked by another pvx run: on pve2, 'pvx cluster teardown --yes' run by carol on admin-laptop \(pid 31337\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+ s ago; last heartbeat \d+ s ago\); nothing was changed$/,
    );
    expect(await snapshot()).toEqual(before);
    // the only commands that wrote anything: the lock taken on pve1, refused on pve2, given back on pve1
    const writes = journal().filter((e) => e.mutates);
    expect(writes.map((e) => `${e.node} ${e.argv.slice(3, 5).join(' ')}`)).toEqual(['pve1 pvx-lock acquire', 'pve2 pvx-lock acquire', 'pve1 pvx-lock release']);
    expect(labSh('pve1', `test -e ${LOCK}`).code).toBe(1);

    const removed = labSh('pve2', `rm -r ${LOCK}`);
    expect(removed.code, removed.stderr).toBe(0);
    const ok = cli(['--json', 'cluster', 'create', 'e2elk', '--nodes', 'pve1,pve2', '--password-file', info.rootPasswordFile]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).result).toMatchObject({ outcome: 'created', members: ['pve1', 'pve2'] });
    for (const n of NODES) {
      expect(labSh(n, `test -e ${LOCK}`).code, `${n} still has ${LOCK}`).toBe(1);
      expect(labSh(n, 'test -e /etc/pve/corosync.conf').code).toBe(0);
    }
  });
});
