import { defineConfig } from 'vitest/config';

// Two tiers: fast in-process tests (unit + command) and end-to-end tests against real
// sshd/corosync, which share one machine and so run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/command/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          setupFiles: ['test/helpers/lab-control-dirs.ts'],
          // The lab's per-node pmxcfs can stay read-only for a while after a membership change under
          // heavy load (a known lab defect, not pvx's): a failed end-to-end test runs once more. A
          // test that fails twice fails the run.
          retry: 1,
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: 'bench',
          include: ['test/bench/**/*.run.ts'],
          fileParallelism: false,
          setupFiles: ['test/helpers/lab-control-dirs.ts'],
          testTimeout: 600_000,
        },
      },
    ],
  },
});
