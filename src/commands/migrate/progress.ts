/** Progress of a migration pool: the executors' one adapter, its spinner naming the guests in flight. */
import type { Deps } from '../../context.js';
import { workProgress, type EndKind, type WorkProgress } from '../../workflows/progress.js';

/** How a line ends a guest. */
export type { EndKind };

/** The pool's view of progress. */
export type PoolProgress = WorkProgress;

/** Progress lines for a pool moving `total` guests to `target`. */
export function poolProgress(deps: Deps, target: string, total: number): PoolProgress {
  return workProgress(deps.progress, (running, done) => `migrating to ${target}: ${running.join(', ')} (${done} of ${total} done)`);
}
