/** Append-only JSON-lines journal of every command pvx ran on a node. */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ExecObserver } from './types.js';

/** One journal line. stdin is never recorded, only whether there was any. */
export interface JournalEntry {
  time: string;
  run: string;
  node: string;
  argv: readonly string[];
  mutates: boolean;
  exitCode: number | null;
  durationMs: number | null;
  dryRun: boolean;
  stdin: boolean;
  error?: string;
}

/** Path of the journal in a state dir. */
export function journalPath(stateDirectory: string): string {
  return path.join(stateDirectory, 'journal.jsonl');
}

/** An observer that appends each command to the journal; failures to write never break a run. */
export function journalObserver(file: string, runId: string, dryRun: boolean): ExecObserver {
  let ready = false;
  return (ev) => {
    const entry: JournalEntry = {
      time: new Date().toISOString(),
      run: runId,
      node: ev.node,
      argv: ev.argv,
      mutates: ev.mutates,
      exitCode: ev.result ? ev.result.exitCode : null,
      durationMs: ev.result ? ev.result.durationMs : null,
      // what dry-run held back, flagged or not; a read it let through ran for real
      dryRun: dryRun && ev.result?.skipped === true,
      stdin: ev.hasInput,
    };
    if (ev.error !== undefined) entry.error = ev.error instanceof Error ? ev.error.message : String(ev.error);
    try {
      if (!ready) {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        ready = true;
      }
      appendFileSync(file, JSON.stringify(entry) + '\n', { mode: 0o600 });
    } catch {
      // the journal is an audit aid; a read-only home must not stop a cluster operation
    }
  };
}
