import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the test runner, without types
import { summarize } from '../summarize.mjs';
import { tmpDir } from '../helpers/tmp.js';

// Reports as vitest 4's JSON reporter writes them (only the fields the summary reads, plus a few).
const ALL_PASSED = {
  numTotalTests: 3,
  numPassedTests: 3,
  numFailedTests: 0,
  numPendingTests: 0,
  numTodoTests: 0,
  success: true,
  testResults: [
    {
      name: '/ci/pvx/test/unit/parse/pvecm-status.test.ts',
      status: 'passed',
      message: '',
      assertionResults: [
        { fullName: 'pvecm status parses a quorate node', title: 'parses a quorate node', status: 'passed', failureMessages: [] },
        { fullName: 'pvecm status parses a standalone node', title: 'parses a standalone node', status: 'passed', failureMessages: [] },
      ],
    },
    {
      name: '/ci/pvx/test/unit/transport/quote.test.ts',
      status: 'passed',
      message: '',
      assertionResults: [{ fullName: 'shQuote keeps a hostile argv apart', title: 'keeps a hostile argv apart', status: 'passed', failureMessages: [] }],
    },
  ],
};

// A beforeAll inside a describe threw: the file is 'failed' with no message (the error sits on the
// suite, which the JSON leaves out) and every test of it shows as skipped.
const HOOK_FAILED = {
  numTotalTests: 3,
  numPassedTests: 1,
  numFailedTests: 0,
  numPendingTests: 2,
  numTodoTests: 0,
  success: false,
  testResults: [
    {
      name: '/ci/pvx/test/e2e/migrate.test.ts',
      status: 'failed',
      message: '',
      assertionResults: [
        { fullName: 'pvx migrate on the lab (e2em) moves a VM live', title: 'moves a VM live', status: 'skipped', failureMessages: [] },
        { fullName: 'pvx migrate on the lab (e2em) moves a CT', title: 'moves a CT', status: 'skipped', failureMessages: [] },
      ],
    },
    {
      name: '/ci/pvx/test/e2e/preflight.test.ts',
      status: 'passed',
      message: '',
      assertionResults: [{ fullName: 'pvx preflight on a lab (e2ep) passes', title: 'passes', status: 'passed', failureMessages: [] }],
    },
  ],
};

// A top-level beforeAll threw, and another file could not be imported.
const FILE_ERRORS = {
  numTotalTests: 1,
  numPassedTests: 0,
  numFailedTests: 0,
  numPendingTests: 1,
  numTodoTests: 0,
  success: false,
  testResults: [
    { name: '/ci/pvx/test/e2e/lab-infra.test.ts', status: 'failed', message: 'lab up failed: bridge pvxbr0 exists', assertionResults: [{ fullName: 'comes up', title: 'comes up', status: 'skipped', failureMessages: [] }] },
    { name: '/ci/pvx/test/e2e/teardown.test.ts', status: 'failed', message: "Cannot find module '../helpers/gone.js'", assertionResults: [] },
  ],
};

// describe.skipIf(!isRoot || !hasTmux): both tests skipped, the file itself passed.
const E2E_SKIPPED = {
  numTotalTests: 3,
  numPassedTests: 1,
  numFailedTests: 0,
  numPendingTests: 2,
  numTodoTests: 0,
  success: true,
  testResults: [
    {
      name: '/ci/pvx/test/e2e/teardown.test.ts',
      status: 'passed',
      message: '',
      assertionResults: [
        { fullName: 'cluster teardown and restore on the lab (e2et) tears down', title: 'tears down', status: 'skipped', failureMessages: [] },
        { fullName: 'cluster teardown and restore on the lab (e2et) restores', title: 'restores', status: 'skipped', failureMessages: [] },
      ],
    },
    {
      name: '/ci/pvx/test/e2e/preflight.test.ts',
      status: 'passed',
      message: '',
      assertionResults: [{ fullName: 'pvx preflight on a lab (e2ep) passes', title: 'passes', status: 'passed', failureMessages: [] }],
    },
  ],
};

// The same shape in the unit tier: a stand-in test skipped because the host holds corosync's ports.
const UNIT_SKIPPED = {
  numTotalTests: 2,
  numPassedTests: 1,
  numFailedTests: 0,
  numPendingTests: 1,
  numTodoTests: 0,
  success: true,
  testResults: [
    {
      name: '/ci/pvx/test/unit/checks/session-real.test.ts',
      status: 'passed',
      message: '',
      assertionResults: [
        { fullName: 'preflight session on real sh and perl one command per node', title: 'one command per node', status: 'skipped', failureMessages: [] },
        { fullName: 'preflight session on real sh and perl a node without perl', title: 'a node without perl', status: 'passed', failureMessages: [] },
      ],
    },
  ],
};

const one = (report: object, file = 'unit.json') => [{ file, report }];

describe('test/summarize.mjs', () => {
  it('all passed: counts them, nothing to report', () => {
    expect(summarize(one(ALL_PASSED))).toEqual({ passed: 3, failed: 0, skipped: 0, problems: [] });
  });

  it('a failed beforeAll whose tests show as skipped counts as failed, not as skipped', () => {
    expect(summarize(one(HOOK_FAILED, 'e2e.json'))).toEqual({
      passed: 1,
      failed: 1,
      skipped: 0,
      problems: ['/ci/pvx/test/e2e/migrate.test.ts: failed outside its tests (2 test(s) did not run): a hook of one of its suites failed'],
    });
  });

  it('a file that failed to load or in a top-level hook counts as failed, with its message', () => {
    const s = summarize(one(FILE_ERRORS, 'e2e.json'));
    expect(s).toMatchObject({ passed: 0, failed: 2, skipped: 0 });
    expect(s.problems).toEqual([
      '/ci/pvx/test/e2e/lab-infra.test.ts: failed outside its tests (1 test(s) did not run): lab up failed: bridge pvxbr0 exists',
      "/ci/pvx/test/e2e/teardown.test.ts: failed outside its tests: Cannot find module '../helpers/gone.js'",
    ]);
  });

  it('in CI as root, an e2e test that skipped itself is a failure with the missing requirement', () => {
    const s = summarize(one(E2E_SKIPPED, 'e2e.json'), { strict: true, missingRequirements: () => ['tmux on PATH'] });
    expect(s).toMatchObject({ passed: 1, failed: 2, skipped: 0 });
    expect(s.problems).toEqual([
      "/ci/pvx/test/e2e/teardown.test.ts: 'cluster teardown and restore on the lab (e2et) tears down' skipped in CI as root: missing tmux on PATH",
      "/ci/pvx/test/e2e/teardown.test.ts: 'cluster teardown and restore on the lab (e2et) restores' skipped in CI as root: missing tmux on PATH",
    ]);
  });

  it('in CI as root, a skip whose requirement cannot be named still fails, saying so', () => {
    const s = summarize(one(E2E_SKIPPED, 'e2e.json'), { strict: true, missingRequirements: () => [] });
    expect(s.failed).toBe(2);
    expect(s.problems[0]).toBe("/ci/pvx/test/e2e/teardown.test.ts: 'cluster teardown and restore on the lab (e2et) tears down' skipped in CI as root: a requirement it checks is missing");
  });

  it('without root (or outside CI) a skipped e2e test is only skipped', () => {
    expect(summarize(one(E2E_SKIPPED, 'e2e.json'), { strict: false, missingRequirements: () => ['root (uid 0)'] })).toEqual({ passed: 1, failed: 0, skipped: 2, problems: [] });
  });

  it('in CI as root a skipped unit test stays a skip (only the e2e tier is held to its requirements)', () => {
    expect(summarize(one(UNIT_SKIPPED), { strict: true, missingRequirements: () => ['tmux on PATH'] })).toEqual({ passed: 1, failed: 0, skipped: 1, problems: [] });
  });

  it('a missing report is a failure', () => {
    expect(summarize([{ file: 'test/.tmp/e2e.json', report: undefined }])).toEqual({ passed: 0, failed: 1, skipped: 0, problems: ['no report at test/.tmp/e2e.json (that tier did not run)'] });
  });

  it('as a script: the closing line, the reasons on stderr, exit 1 on any failure', () => {
    const dir = tmpDir('pvx-summary-');
    const unit = path.join(dir, 'unit.json');
    const e2e = path.join(dir, 'e2e.json');
    writeFileSync(unit, JSON.stringify(ALL_PASSED));
    writeFileSync(e2e, JSON.stringify(HOOK_FAILED));
    const script = path.resolve('test/summarize.mjs');
    const good = spawnSync(process.execPath, [script, unit], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
    expect([good.status, good.stdout, good.stderr]).toEqual([0, '3 passed, 0 failed\n', '']);
    const bad = spawnSync(process.execPath, [script, unit, e2e], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
    expect([bad.status, bad.stdout]).toEqual([1, '4 passed, 1 failed\n']);
    expect(bad.stderr).toContain('/ci/pvx/test/e2e/migrate.test.ts: failed outside its tests');
  });
});
