/** Running a command as a process of a lab node (its net, mount, UTS and PID namespaces, a session's environment). */
import { stat } from 'node:fs/promises';
import { StepError, UsageError } from '../errors.js';
import { runProcess, type ProcessResult } from './process.js';
import { netnsName, nodeIndex, validateLabName } from './names.js';
import { parseEnvironmentFile } from './node-files.js';
import { inNode, readNodeFile } from './node-fs.js';
import { liveInitPid, nodeNsFiles, nsenterOptions, type NodeNsFiles } from './node-ns.js';
import { readLabState } from './state.js';

/** A node that is up: what it takes to enter it. */
export interface RunningNode {
  lab: string;
  name: string;
  files: NodeNsFiles;
  /** host PID of the node's PID 1 */
  initPid: number;
}

/** Options of labExec. */
export interface LabExecOptions {
  /** fed on stdin */
  input?: string;
  /** share this terminal (interactive shells); output is not captured */
  inheritStdio?: boolean;
  /** working directory inside the node (default: the caller's, when the node sees it, else /root) */
  cwd?: string;
  /** extra environment, over the session's */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** The running node `node` of lab `lab`; throws when the name is wrong or the node is not up. */
export async function resolveRunningNode(lab: string, node: string): Promise<RunningNode> {
  validateLabName(lab);
  const index = nodeIndex(node);
  const state = await readLabState(lab);
  const known = state?.nodes.find((n) => n.name === node);
  if (index === undefined || (state && !known)) {
    const names = state?.nodes.map((n) => n.name).join(', ');
    throw new UsageError(`lab '${lab}' has no node '${node}'`, names ? { hint: `its nodes: ${names}` } : {});
  }
  const files = nodeNsFiles(lab, node, known?.netns ?? netnsName(lab, index));
  const initPid = await liveInitPid(lab, node, files);
  if (initPid === undefined) {
    throw new StepError(`node ${node} of lab '${lab}' is not running`, { code: 'LAB_NODE_DOWN', hint: `run: pvx lab up${lab === 'pvx' ? '' : ` --name ${lab}`}` });
  }
  return { lab, name: node, files, initPid };
}

/**
 * The environment an ssh session on the node gets: root's basics, then what pam_env reads
 * (/etc/environment and /etc/default/locale of the node), then `extra`.
 */
export async function sessionEnv(initPid: number, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const env: Record<string, string> = { HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/bash' };
  const term = process.env['TERM'];
  if (term) env['TERM'] = term;
  Object.assign(env, parseEnvironmentFile((await readNodeFile(initPid, '/etc/default/locale')) ?? ''));
  Object.assign(env, parseEnvironmentFile((await readNodeFile(initPid, '/etc/environment')) ?? ''));
  return { ...env, ...extra };
}

async function isNodeDir(initPid: number, dir: string): Promise<boolean> {
  try {
    return (await stat(inNode(initPid, dir))).isDirectory();
  } catch {
    return false;
  }
}

/** Run `argv` inside a running node as a session would; a non-zero exit is data. */
export async function execInNode(n: RunningNode, argv: readonly string[], opts: LabExecOptions = {}): Promise<ProcessResult> {
  if (argv.length === 0) throw new UsageError('no command given');
  const env = await sessionEnv(n.initPid, opts.env);
  const wanted = opts.cwd ?? process.cwd();
  // nsenter --mount starts in / (pitfall 9): go back to the caller's directory when the node sees it
  const cwd = (await isNodeDir(n.initPid, wanted)) ? wanted : '/root';
  // env(1) would read a first word containing '=' as an assignment
  const cmd = argv[0]?.includes('=') ? ['/bin/sh', '-c', 'exec "$@"', 'sh', ...argv] : [...argv];
  // the session environment (possibly LD_PRELOAD=libfaketime) is applied by env(1) inside the
  // node, never to nsenter itself: libfaketime would leave its shm files in the host's /dev/shm
  const args = [...nsenterOptions(n.files), '--', 'env', '-i', '-C', cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...cmd];
  return runProcess('nsenter', args, {
    cleanEnv: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    ...(opts.input !== undefined && !opts.inheritStdio ? { input: opts.input } : {}),
    ...(opts.inheritStdio ? { inheritStdio: true } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
}

/** Run a command as a process of node `node` of lab `name` (see execInNode). */
export async function labExec(name: string, node: string, argv: readonly string[], opts: LabExecOptions = {}): Promise<ProcessResult> {
  return execInNode(await resolveRunningNode(name, node), argv, opts);
}
