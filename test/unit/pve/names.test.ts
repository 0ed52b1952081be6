import { describe, expect, it } from 'vitest';
import { hostProblem, isConfigId, isStorageId, localPathProblem } from '../../../src/pve/names.js';

describe('PVE id formats', () => {
  it('storage IDs: pve-storage-id (a letter first, letters, digits, - _ .; a letter or digit last)', () => {
    expect(['local', 'local-lvm', 'nfs_1', 'ceph.pool', 'A1'].every(isStorageId)).toBe(true);
    expect(['l', '1local', 'local-', '-x', 'lo cal', 'lo;cal', 'lo/cal', '', 'l'.repeat(256)].some(isStorageId)).toBe(false);
  });

  it('group and rule ids: pve-configid (a letter first, letters, digits, - _; two or more)', () => {
    expect(['pvx-1234abcd', 'prefer_pve1', 'ab'].every(isConfigId)).toBe(true);
    expect(['a', '1ab', 'a.b', 'a b', '-ab', 'a;b', '', 'a'.repeat(256)].some(isConfigId)).toBe(false);
  });
});

describe('hostProblem', () => {
  it('refuses a host longer than a host name can be', () => {
    expect(hostProblem('a'.repeat(253))).toBeUndefined();
    expect(hostProblem('a'.repeat(254))).toMatch(/254 characters long/);
  });
});

describe('localPathProblem', () => {
  it('accepts odd but real file names and refuses empty, control characters and paths over PATH_MAX', () => {
    for (const ok of ['../backups', '/tmp/a b', '$(not run)', '-dash', '~/x']) expect(localPathProblem(ok)).toBeUndefined();
    expect(localPathProblem('')).toBe('the path is empty');
    expect(localPathProblem('  ')).toBe('the path is empty');
    for (const bad of ['a\nb', 'a\rb', 'a\u0000b', 'a\tb', 'a\u001b[2J']) expect(localPathProblem(bad)).toMatch(/control characters/);
    expect(localPathProblem('a'.repeat(4097))).toMatch(/4097 characters long/);
  });
});
