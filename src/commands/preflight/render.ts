/** Human rendering of `preflight`: a table grouped by check, the failing node/peer/port named. */
import type { Deps } from '../../context.js';
import type { PreflightCommandResult } from './run.js';
import type { Finding, FindingStatus } from '../../checks/types.js';
import type { Outcome } from '../../ui/report.js';
import { renderTable, visibleWidth } from '../../ui/table.js';
import type { Theme } from '../../ui/theme.js';

/** Where a finding applies: node, node → peer, plus the port when there is one. */
export function subjectOf(f: Finding): string {
  return `${f.node}${f.peer ? ` → ${f.peer}` : ''}${f.port !== undefined ? ` udp/${f.port}` : ''}`;
}

function statusCell(s: FindingStatus, theme: Theme): string {
  const { c } = theme;
  switch (s) {
    case 'ok':
      return `${theme.ok} ok`;
    case 'warn':
      return `${theme.warn} ${c.yellow('warn')}`;
    case 'fail':
      return `${theme.fail} ${c.red('FAIL')}`;
    case 'skip':
      return `${c.dim('-')} ${c.dim('not run')}`;
  }
}

function summary(findings: readonly Finding[], r: PreflightCommandResult, theme: Theme): string {
  const n = (s: FindingStatus) => findings.filter((f) => f.status === s).length;
  const parts = [`${n('ok')} ok`, `${n('warn')} warning(s)`, `${n('fail')} failed`];
  if (n('skip') > 0) parts.push(`${n('skip')} not run`);
  const head = `preflight${r.purpose === 'general' ? '' : ` for ${r.purpose}`} of ${r.nodes.length} node(s):`;
  const verdict = n('fail') > 0 ? theme.c.red('FAILED') : n('warn') > 0 ? theme.c.yellow('passed with warnings') : theme.c.green('passed');
  return `${theme.c.bold(head)} ${parts.join(', ')}: ${verdict}`;
}

/** On a terminal: aligned columns, the check named once per group, hints under their row. */
function terminalTable(rows: readonly Finding[], theme: Theme): string {
  const { c } = theme;
  const cells = rows.map((f, i) => [i === 0 || rows[i - 1]?.id !== f.id ? c.bold(f.id) : '', subjectOf(f), statusCell(f.status, theme), f.message]);
  const lines = renderTable(['CHECK', 'NODE', 'RESULT', 'DETAIL'], cells).trimEnd().split('\n');
  const header = lines[0] ?? '';
  const indent = ' '.repeat(Math.max(0, visibleWidth(header) - visibleWidth('DETAIL')));
  const out = [header];
  rows.forEach((f, i) => {
    out.push(lines[i + 1] ?? '');
    if (f.hint && f.status !== 'ok') out.push(`${indent}${c.dim(`hint: ${f.hint}`)}`);
  });
  return out.join('\n') + '\n';
}

/** Off a terminal: one tab-separated line per finding, stable for grep, cut and awk. */
function plainTable(rows: readonly Finding[]): string {
  const clean = (s: string) => s.replace(/[\t\n]/g, ' ');
  const lines = ['check\tnode\tpeer\tport\tstatus\tmessage\thint'];
  for (const f of rows) {
    lines.push([f.id, f.node, f.peer ?? '', f.port === undefined ? '' : String(f.port), f.status, clean(f.message), clean(f.hint ?? '')].join('\t'));
  }
  return lines.join('\n') + '\n';
}

/** The preflight report; with --quiet only what is not ok. */
export function renderPreflight(o: Outcome<PreflightCommandResult>, deps: Deps): string {
  const r = o.result;
  const rows = deps.globals.quiet ? r.checks.filter((f) => f.status !== 'ok') : r.checks;
  const table = rows.length === 0 ? '' : deps.io.stdoutIsTTY ? terminalTable(rows, deps.theme) : plainTable(rows);
  const sep = table && deps.io.stdoutIsTTY ? '\n' : '';
  return `${table}${sep}${summary(r.checks, r, deps.theme)}\n`;
}
