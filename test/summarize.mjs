// Adds up vitest JSON reports of all tiers into the closing line "N passed, N failed[, N skipped]".
// A test file that failed outside its tests (its import, a beforeAll: vitest then reports its tests
// as skipped) counts as failed. In CI as root an end-to-end test that skipped itself had a
// requirement missing, so it counts as failed too. Each failure of that kind is named on stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** What end-to-end tests need before they run (they skip themselves without it), checked again here. */
export const E2E_REQUIREMENTS = [
  { name: 'root (uid 0)', missing: () => process.getuid?.() !== 0 },
  { name: 'tmux on PATH', missing: () => spawnSync('tmux', ['-V']).status !== 0 },
];

const E2E_DIR = `${path.sep}test${path.sep}e2e${path.sep}`;
const NOT_RUN = new Set(['skipped', 'pending']);

/**
 * Sum reports: `reports` holds one `{ file, report }` per tier (report undefined when the file is
 * missing); `strict` is true in CI as root; `missingRequirements()` names what an e2e skip lacked.
 */
export function summarize(reports, { strict = false, missingRequirements = () => [] } = {}) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const problems = [];
  let lacking;
  for (const { file, report } of reports) {
    if (!report) {
      problems.push(`no report at ${file} (that tier did not run)`);
      failed++;
      continue;
    }
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    for (const t of report.testResults ?? []) {
      const tests = t.assertionResults ?? [];
      const notRun = tests.filter((a) => NOT_RUN.has(a.status));
      if (t.status === 'failed' && !tests.some((a) => a.status === 'failed')) {
        // its tests never ran (or ran and passed before an afterAll failed): one failure for the file
        failed++;
        skipped -= notRun.length;
        const why = t.message ? t.message : 'a hook of one of its suites failed';
        problems.push(`${t.name}: failed outside its tests${notRun.length ? ` (${notRun.length} test(s) did not run)` : ''}: ${why}`);
        continue;
      }
      if (!strict || !t.name?.includes(E2E_DIR) || notRun.length === 0) continue;
      lacking ??= missingRequirements();
      const reason = lacking.length ? `missing ${lacking.join(', ')}` : 'a requirement it checks is missing';
      failed += notRun.length;
      skipped -= notRun.length;
      for (const a of notRun) problems.push(`${t.name}: '${a.fullName ?? a.title}' skipped in CI as root: ${reason}`);
    }
  }
  return { passed, failed, skipped, problems };
}

/** The closing line. */
export function closingLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

function main(files) {
  const reports = files.map((file) => ({ file, report: existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined }));
  const strict = process.env.CI === 'true' && process.getuid?.() === 0;
  const sum = summarize(reports, { strict, missingRequirements: () => E2E_REQUIREMENTS.filter((r) => r.missing()).map((r) => r.name) });
  for (const p of sum.problems) process.stderr.write(`${p}\n`);
  process.stdout.write(`${closingLine(sum)}\n`);
  process.exit(sum.failed > 0 || sum.passed === 0 ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main(process.argv.slice(2));
