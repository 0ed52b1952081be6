/**
 * A fake node's side of the preflight session (src/checks/node-session.ts), played from answers
 * to the separate commands a fake already knows: the facts script, `date`, and the probe with the
 * plan pvx writes. Fakes stay scripted per command; pvx runs its one real session code.
 */
import { clockArgv } from '../../src/facts/preflight/clock.js';
import { factsArgv, parseSections, renderSections, type Section, type SectionName } from '../../src/facts/preflight/script.js';
import { SESSION_MARKS, sessionArgv, sessionSections } from '../../src/facts/preflight/session.js';
import { parseProbeArgv, probeArgv } from '../../src/facts/preflight/udp-probe.js';
import type { ExecOptions, ExecResult } from '../../src/transport/types.js';

/** Runs one of the separate commands on the fake node. */
export type Answer = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

/** True when argv is the session command. */
export function isSession(argv: readonly string[]): boolean {
  const s = sessionArgv();
  return argv.length === s.length && argv.every((x, i) => x === s[i]);
}

function subset(all: Map<SectionName, Section>, names: readonly SectionName[]): string {
  const picked: Partial<Record<SectionName, Section>> = {};
  for (const n of names) {
    const s = all.get(n);
    if (s) picked[n] = s;
  }
  return renderSections(picked);
}

/** Play the session: the facts and the clock first (an unreachable node throws here), then the dialogue. */
export async function playSession(opts: ExecOptions, answer: Answer): Promise<ExecResult> {
  const facts = await answer(factsArgv(), { title: 'read preflight facts' });
  const sections = parseSections(facts.stdout);
  if (sections.size === 0) {
    // the script did not run: the session ends as the facts read did, before it ever spoke
    return facts;
  }
  const { early, late } = sessionSections();
  let out = '';
  const queue: string[] = [];
  const waiting: Array<(l: string | undefined) => void> = [];
  let ended = false;
  const emit = (text: string) => {
    out += text;
    for (const line of text.split('\n').slice(0, -1)) {
      const w = waiting.shift();
      if (w) w(line);
      else queue.push(line);
    }
  };
  const end = () => {
    ended = true;
    for (const w of waiting.splice(0)) w(undefined);
  };
  let exitCode = 0;
  let stderr = '';
  let inbox = '';
  let phase: 'clock' | 'plan' | 'plan-line' | 'done' = 'clock';
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  let clock: Promise<ExecResult> | undefined;
  let failure: unknown;
  const onLine = async (line: string): Promise<void> => {
    if (phase === 'clock') {
      if (line === 't') {
        // one scripted answer serves every ping
        const c = await (clock ??= answer(clockArgv(), { title: 'read the clock' }));
        emit(`${SESSION_MARKS.clock}${c.exitCode === 0 ? c.stdout.trim() : `!${c.exitCode}`}\n`);
        return;
      }
      emit(`${subset(sections, early)}\n${SESSION_MARKS.planFacts}\n`);
      phase = 'plan';
      return;
    }
    if (phase === 'plan') {
      if (line === 'probe') {
        phase = 'plan-line';
        return;
      }
      emit(`${subset(sections, late)}\n${SESSION_MARKS.factsEnd}\n`);
      phase = 'done';
      done();
      return;
    }
    if (phase === 'plan-line') {
      phase = 'done';
      const plan = parseProbeArgv('', ['--', ...line.split(' ')]);
      const r = await answer(probeArgv(plan, plan.timing), { title: 'probe corosync UDP ports' });
      emit(`${subset(sections, late)}\n${SESSION_MARKS.factsEnd}\n${r.stdout}`);
      exitCode = r.exitCode;
      stderr = r.stderr;
      done();
    }
  };
  let chain = Promise.resolve();
  const talk = opts.converse?.({
    line: () => {
      const l = queue.shift();
      if (l !== undefined) return Promise.resolve(l);
      if (ended) return Promise.resolve(undefined);
      return new Promise((r) => waiting.push(r));
    },
    write: (text) => {
      inbox += text;
      for (let at = inbox.indexOf('\n'); at >= 0; at = inbox.indexOf('\n')) {
        const line = inbox.slice(0, at);
        inbox = inbox.slice(at + 1);
        chain = chain.then(() => onLine(line)).catch((e: unknown) => {
          // an unreachable node or an unexpected command: the session breaks off
          failure ??= e;
          phase = 'done';
          done();
        });
      }
    },
    end: () => {
      chain = chain.then(() => {
        if (phase !== 'done') {
          // stdin closed early: the script ends as it would, without a probe
          if (phase === 'clock') emit(`${subset(sections, early)}\n${SESSION_MARKS.planFacts}\n`);
          emit(`${subset(sections, late)}\n${SESSION_MARKS.factsEnd}\n`);
          phase = 'done';
          done();
        }
      });
    },
  });
  emit(`${SESSION_MARKS.ready}\n`);
  await finished;
  await chain;
  end();
  await talk;
  if (failure !== undefined) throw failure;
  return { exitCode, stdout: out, stderr, durationMs: 1 };
}
