/**
 * The cluster lock as the stateful fakes' nodes keep it: per node a lock folder that the acquire
 * script creates, refresh renews and release removes, answered in the script's protocol (its doc
 * comment in src/workflows/cluster-lock.ts; the real script is proven against /bin/sh in
 * test/unit/workflows/cluster-lock-sh.test.ts). Strict: any other shape of the script's argv throws.
 */
import { CLUSTER_LOCK_SCRIPT } from '../../src/workflows/cluster/lock.js';
import type { ExecResult } from '../../src/transport/types.js';

/** One node's lock folder: the owner file's fields. */
export interface FakeLockHolder {
  host: string;
  user: string;
  pid: number;
  command: string;
  token: string;
  since: number;
  heartbeat: number;
}

/** One lock command a fake answered. */
export interface FakeLockCall {
  node: string;
  action: 'acquire' | 'refresh' | 'release';
  /** what the node answered: taken, took-over, held, refreshed, released, lost */
  answer: string;
}

const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '', durationMs: 1 });
const DIR = '/run/lock/pvx-cluster';
const HEX = /^[0-9a-f]{16}$/;

/** True for `sh -c <the lock script> pvx-lock …`. */
export function isLockCommand(argv: readonly string[]): boolean {
  return argv[0] === 'sh' && argv[1] === '-c' && argv[3] === 'pvx-lock';
}

/** The lock folders of a fake's nodes. */
export class FakeLocks {
  readonly held = new Map<string, FakeLockHolder>();
  readonly calls: FakeLockCall[] = [];
  /** the nodes' clock, seconds */
  now: () => number = () => Math.floor(Date.now() / 1000);

  /** A lock held by another run (another workstation unless told), as a person would find it. */
  hold(node: string, h: Partial<FakeLockHolder> = {}): FakeLockHolder {
    const now = this.now();
    const holder = { host: 'ws2', user: 'bob', pid: 4242, command: 'pvx cluster teardown --yes', token: 'bbbbbbbbbbbbbbbb', since: now - 180, heartbeat: now - 20, ...h };
    this.held.set(node, holder);
    return holder;
  }

  /** Nodes whose lock folder exists. */
  lockedNodes(): string[] {
    return [...this.held.keys()].sort();
  }

  /** Answer one lock command on `node` as the script would. */
  answer(node: string, argv: readonly string[]): ExecResult {
    if (argv[2] !== CLUSTER_LOCK_SCRIPT) throw new Error(`unexpected lock script on ${node}`);
    const [action, dir, ...rest] = argv.slice(4);
    if (dir !== DIR) throw new Error(`unexpected lock folder on ${node}: ${JSON.stringify(argv.slice(3))}`);
    const now = this.now();
    const file = (h: FakeLockHolder | undefined) => (h ? `${JSON.stringify(h)}\n` : '');
    const say = (kind: string, extra = '') => {
      this.calls.push({ node, action: action as FakeLockCall['action'], answer: kind });
      return ok(`pvx-lock ${kind} ${now}\n${extra}`);
    };
    const owner = (prefix: string, token: string, since: number): FakeLockHolder => {
      if (!prefix.startsWith('{') || prefix.endsWith('}')) throw new Error(`unexpected lock owner on ${node}: ${prefix}`);
      const o = JSON.parse(`${prefix},"since":${since},"heartbeat":${now}}`) as FakeLockHolder;
      const keys = Object.keys(o).join(',');
      if (keys !== 'host,user,pid,command,token,since,heartbeat' || o.token !== token || typeof o.pid !== 'number') throw new Error(`unexpected lock owner on ${node}: ${prefix}`);
      return o;
    };
    const cur = this.held.get(node);
    switch (action) {
      case 'acquire': {
        const [prefix, token, stale, brk, ...more] = rest;
        if (!prefix || !token || !HEX.test(token) || stale !== '600' || more.length > 0 || (brk !== undefined && !HEX.test(brk))) throw new Error(`unexpected lock command on ${node}: ${JSON.stringify(argv.slice(3))}`);
        const mine = owner(prefix, token, now);
        if (!cur) {
          this.held.set(node, mine);
          return say('taken');
        }
        if (now - cur.heartbeat > 600 || (brk !== undefined && cur.token === brk)) {
          this.held.set(node, mine);
          return say('took-over', file(cur));
        }
        return say('held', file(cur));
      }
      case 'refresh': {
        const [prefix, token, since, ...more] = rest;
        if (!prefix || !token || !HEX.test(token) || !/^[0-9]+$/.test(since ?? '') || more.length > 0) throw new Error(`unexpected lock command on ${node}: ${JSON.stringify(argv.slice(3))}`);
        if (cur?.token !== token) return say('lost', file(cur));
        this.held.set(node, owner(prefix, token, Number(since)));
        return say('refreshed');
      }
      case 'release': {
        const [token, ...more] = rest;
        if (!token || !HEX.test(token) || more.length > 0) throw new Error(`unexpected lock command on ${node}: ${JSON.stringify(argv.slice(3))}`);
        if (cur?.token !== token) return say('lost', file(cur));
        this.held.delete(node);
        return say('released');
      }
      default:
        throw new Error(`unexpected lock command on ${node}: ${JSON.stringify(argv.slice(3))}`);
    }
  }
}
