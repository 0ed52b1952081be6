/** A strict FakeTransport for a hand-written list of commands, answered as a simulated cluster answers them. */
import { UnreachableError } from '../../src/errors.js';
import type { Transport } from '../../src/transport/types.js';
import { FakeTransport, type Script } from './fake-transport.js';

/** One command a test expects: the node and its exact argv. */
export type ExpectedCommand = readonly [node: string, argv: readonly string[]];

/**
 * Script exactly `commands` (each once), each answered as `sim` answers it now, so a run that sends
 * anything else fails and verify() fails on any listed command that did not run. List only reads:
 * asking the simulator runs the command on it.
 */
export async function replayOf(sim: Transport, commands: readonly ExpectedCommand[]): Promise<FakeTransport> {
  const scripts: Script[] = [];
  for (const [node, argv] of commands) {
    try {
      scripts.push({ node, argv, result: await sim.exec(node, argv) });
    } catch (e) {
      if (!(e instanceof UnreachableError)) throw e;
      scripts.push({ node, argv, unreachable: true });
    }
  }
  return new FakeTransport(scripts);
}
