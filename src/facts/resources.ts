/**
 * Reads /cluster/resources from the first member that answers, sticking to it, and shares reads:
 * callers asking in the same turn of the event loop join one read that is sent after all of them
 * asked (so each sees a view newer than its question), and many guests finishing at once cost
 * one round trip.
 */
import { StepError, UnreachableError } from '../errors.js';
import { pveshGet } from '../pve/argv.js';
import { ParseError } from '../pve/parse/errors.js';
import { parseClusterResources, type ClusterResources } from '../pve/parse/pvesh-resources.js';
import type { Transport } from '../transport/types.js';

/** One read and where it came from. */
export interface ResourcesRead {
  node: string;
  resources: ClusterResources;
}

const READ_TIMEOUT_MS = 60_000;

/** Reads the cluster resources; see the module comment. */
export class ResourceReader {
  private order: string[];
  /** a guests read that has been asked for but not sent yet */
  private pending: Promise<ResourcesRead> | undefined;
  /** nodes that failed a read another node then answered, with why: the run names them */
  readonly passedOver = new Map<string, string>();

  /** `nodes` in order of preference (the first that answers is kept). */
  constructor(
    private readonly t: Transport,
    nodes: readonly string[],
  ) {
    this.order = [...nodes];
  }

  /** Every entry type (guests, nodes, storages). Throws UnreachableError when no node answers, StepError when none could say. */
  all(): Promise<ResourcesRead> {
    return this.read([]);
  }

  /** Guests only, from a read sent after this call. */
  guests(): Promise<ResourcesRead> {
    if (this.pending) return this.pending;
    const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      // from here on a caller needs a newer read than this one
      if (this.pending === p) this.pending = undefined;
      return this.read(['--type', 'vm']);
    });
    this.pending = p;
    return p;
  }

  private async read(extra: string[]): Promise<ResourcesRead> {
    const problems: string[] = [];
    let unreachable: UnreachableError | undefined;
    let unreachableCount = 0;
    for (const node of [...this.order]) {
      try {
        const r = await this.t.exec(node, pveshGet('/cluster/resources', extra), { timeoutMs: READ_TIMEOUT_MS, title: 'read the cluster resources' });
        if (r.exitCode !== 0) {
          problems.push(`${node}: ${r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`}`);
          continue;
        }
        const resources = parseClusterResources(r.stdout);
        for (const p of problems) this.passedOver.set(p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 2));
        if (this.order[0] !== node) this.order = [node, ...this.order.filter((n) => n !== node)];
        return { node, resources };
      } catch (e) {
        if (e instanceof UnreachableError) {
          unreachable ??= e;
          unreachableCount++;
          problems.push(`${node}: ${e.message}`);
          continue;
        }
        if (e instanceof ParseError) {
          problems.push(`${node}: ${e.message}`);
          continue;
        }
        throw e;
      }
    }
    if (unreachable && unreachableCount === problems.length) {
      // not one node could be reached: an SSH problem, with the SSH error's own hint
      throw new UnreachableError(unreachable.node, problems.length === 1 ? unreachable.message : `no node could be reached: ${problems.join('; ')}`, {
        code: unreachable.code,
        ...(unreachable.hint ? { hint: unreachable.hint } : {}),
      });
    }
    throw new StepError(`could not read the cluster resources: ${problems.join('; ')}`, { hint: 'run pvesh get /cluster/resources --output-format json on a node to see why' });
  }
}
