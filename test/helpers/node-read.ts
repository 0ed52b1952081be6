/**
 * A fake node's side of the membership read (src/facts/node-read.ts), played from answers to the
 * separate native commands the script runs; and scripted answers for FakeTransport.
 */
import { nodeReadArgv, renderNodeRead, type NodeReadSection, type ReadSection } from '../../src/facts/node-read.js';
import { PACKAGE_STATE_FORMAT } from '../../src/pve/parse/dpkg-query.js';
import type { ExecResult } from '../../src/transport/types.js';
import type { Script } from './fake-transport.js';

/** The native commands the read runs, one per part. */
export const NODE_READ_COMMANDS: Readonly<Record<NodeReadSection, readonly string[]>> = {
  conf: ['cat', '/etc/pve/corosync.conf'],
  quorum: ['corosync-quorumtool', '-siH'],
  members: ['cat', '/etc/pve/.members'],
  version: ['dpkg-query', '-W', '-f', PACKAGE_STATE_FORMAT, 'pve-manager'],
};

/** True when argv is the read. */
export function isNodeRead(argv: readonly string[]): boolean {
  const s = nodeReadArgv();
  return argv.length === s.length && argv.every((x, i) => x === s[i]);
}

/**
 * Play the read: no corosync.conf, no quorumtool (the script's `[ -f ]`); an unreachable node throws.
 * `hasConf` is the fake's own word on whether /etc/pve/corosync.conf exists (default: `cat` succeeds).
 */
export async function playNodeRead(answer: (argv: readonly string[]) => Promise<ExecResult>, hasConf?: () => boolean): Promise<ExecResult> {
  const parts: Partial<Record<NodeReadSection, ReadSection>> = {};
  if (!hasConf || hasConf()) {
    const conf = await answer(NODE_READ_COMMANDS.conf);
    if (hasConf || conf.exitCode === 0) {
      parts.conf = conf;
      parts.quorum = await answer(NODE_READ_COMMANDS.quorum);
    }
  }
  parts.members = await answer(NODE_READ_COMMANDS.members);
  parts.version = await answer(NODE_READ_COMMANDS.version);
  return { exitCode: 0, ...renderNodeRead(parts), durationMs: 1 };
}

/** A FakeTransport script answering one node's read with these parts. */
export function nodeReadScript(node: string, parts: Partial<Record<NodeReadSection, Partial<ReadSection>>>): Script {
  return { node, argv: nodeReadArgv(), result: renderNodeRead(parts) };
}
