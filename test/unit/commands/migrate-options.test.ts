import { describe, expect, it } from 'vitest';
import { parseMigrateOptions } from '../../../src/workflows/migrate/options.js';

describe('parseMigrateOptions', () => {
  it('has defaults: one at a time, an hour per guest', () => {
    expect(parseMigrateOptions({ guests: ['100'], to: 'pve2' })).toEqual({
      problems: [],
      options: { target: 'pve2', online: false, restart: false, withLocalDisks: false, parallel: 1, timeoutSec: 3600 },
    });
  });

  it('turns MiB/s into the native KiB/s', () => {
    expect(parseMigrateOptions({ guests: [], to: 'pve2', bwlimit: '100' }).options?.bwlimitKiB).toBe(102400);
    expect(parseMigrateOptions({ guests: [], to: 'pve2', bwlimit: '12.5' }).options?.bwlimitKiB).toBe(12800);
    expect(parseMigrateOptions({ guests: [], to: 'pve2', bwlimit: '0.0001' }).options?.bwlimitKiB).toBe(1);
  });

  it('reports every bad value at once', () => {
    const r = parseMigrateOptions({ guests: [], online: true, restart: true, bwlimit: '-1', parallel: '2.5', timeout: '0', targetStorage: '-x' });
    expect(r.options).toBeUndefined();
    expect(r.problems).toHaveLength(6);
    expect(r.problems[0]).toBe('--to <node> is required: the node the guests move to');
  });

  it('accepts the limits', () => {
    const o = parseMigrateOptions({ guests: [], to: 'pve-2', parallel: '8', timeout: '604800', targetStorage: 'local.zfs_2', withLocalDisks: true }).options;
    expect(o).toMatchObject({ parallel: 8, timeoutSec: 604800, targetStorage: 'local.zfs_2', withLocalDisks: true });
  });
});
