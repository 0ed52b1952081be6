/** lab.json (what `up` built) and each node's faults.json (what `fault` changed), read and written atomically. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { labPaths } from './layout.js';
import { faultsFileIn } from './watchdog.js';

/** The QNetd host as lab.json records it. */
export interface QnetdState {
  name: string;
  address: string;
  netns: string;
  veth: string;
}

/** One node as built by `up`. */
export interface NodeState {
  name: string;
  index: number;
  address: string;
  netns: string;
  veth: string;
  /** the version `up` gave the node (a pve-version fault is undone back to this) */
  pveVersion: string;
}

/** Contents of lab.json. */
export interface LabState {
  version: 1;
  name: string;
  subnet: string;
  bridge: string;
  hostAddress: string;
  /** the pvx installation bind-mounted at <root>/app inside nodes */
  appDir: string;
  /** the node binary the stand-in wrappers run */
  nodeBinary?: string;
  nodes: NodeState[];
  /** the QNetd host of `up --qdevice` */
  qnetd?: QnetdState;
  guests?: number;
  /** seconds an active HA LRM may go without updating its watchdog (absent: 60, as on real nodes) */
  watchdogTimeout?: number;
  createdAt: string;
  updatedAt: string;
}

/** Faults in effect on one node (nodes/<node>/faults.json); absent keys mean healthy. */
export interface NodeFaults {
  /** clock offset in seconds (chrony offset + libfaketime in sessions) */
  skew?: number;
  /** blocked UDP ports or ranges, e.g. ["5405", "5404-5412"] */
  blockUdp?: string[];
  down?: boolean;
  hostsLoopback?: boolean;
  pveVersion?: string;
  corosync?: 'stopped' | 'killed';
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** lab.json of `name`, or undefined when there is none. */
export async function readLabState(name: string, env: NodeJS.ProcessEnv = process.env): Promise<LabState | undefined> {
  return readJson<LabState>(labPaths(name, env).state);
}

/** Write lab.json. */
export async function writeLabState(state: LabState): Promise<void> {
  await writeJsonAtomic(labPaths(state.name).state, state);
}

function faultsFile(lab: string, node: string): string {
  return faultsFileIn(labPaths(lab).nodeDir(node));
}

/** Faults in effect on a node ({} when healthy). */
export async function readNodeFaults(lab: string, node: string): Promise<NodeFaults> {
  return (await readJson<NodeFaults>(faultsFile(lab, node))) ?? {};
}

/** Record the faults in effect on a node. */
export async function writeNodeFaults(lab: string, node: string, faults: NodeFaults): Promise<void> {
  await writeJsonAtomic(faultsFile(lab, node), faults);
}

/** Short human descriptions of faults, e.g. ["skew +2.5s", "block-udp 5405"]. */
export function describeFaults(f: NodeFaults): string[] {
  const out: string[] = [];
  if (f.skew) out.push(`skew ${f.skew > 0 ? '+' : ''}${f.skew}s`);
  for (const p of f.blockUdp ?? []) out.push(`block-udp ${p}`);
  if (f.down) out.push('down');
  if (f.hostsLoopback) out.push('hosts-loopback');
  if (f.pveVersion) out.push(`pve-version ${f.pveVersion}`);
  if (f.corosync) out.push(`${f.corosync === 'killed' ? 'kill' : 'stop'}-corosync`);
  return out;
}
