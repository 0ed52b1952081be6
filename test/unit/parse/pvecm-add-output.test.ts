import { describe, expect, it } from 'vitest';
import { classifyPvecmAdd, classifyPvecmCreate, classifyPvecmDelnode } from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('classifyPvecmAdd', () => {
  it('recognises the real successful join', () => {
    expect(classifyPvecmAdd({ stdout: fixture('pvecm-add/pve8-join-success-gitbook.txt'), stderr: '', exitCode: 0 })).toEqual({
      kind: 'joined',
      node: 'pve32',
      forced: false,
      warnings: [],
    });
  });

  it('lists the refusal reasons', () => {
    // stderr of the local checks (§1.4), with some of the documented reasons
    const stderr = [
      'detected the following error(s):',
      "* authentication key '/etc/corosync/authkey' already exists",
      '* this host already contains virtual guests',
      "* link0: cannot use IP '10.0.0.9', not found on local node!",
      '',
      'Check if node may join a cluster failed!',
    ].join('\n');
    expect(classifyPvecmAdd({ stdout: '', stderr, exitCode: 0 })).toEqual({
      kind: 'refused',
      reasons: [
        "authentication key '/etc/corosync/authkey' already exists",
        'this host already contains virtual guests',
        "link0: cannot use IP '10.0.0.9', not found on local node!",
      ],
    });
    const all = classifyPvecmAdd({ stdout: '', stderr: fixture('pvecm-add/refusal-list-source-template.txt') });
    expect(all.kind === 'refused' && all.reasons).toHaveLength(7);
  });

  it('reports forced checks as warnings of a successful join', () => {
    const stderr = 'detected the following error(s):\n* this host already contains virtual guests\n\nWARNING : detected error but forced to continue!\n\n';
    const r = classifyPvecmAdd({ stdout: fixture('pvecm-add/pve8-join-success-gitbook.txt'), stderr });
    expect(r).toEqual({ kind: 'joined', node: 'pve32', forced: true, warnings: ['this host already contains virtual guests'] });
  });

  it('recognises cluster-side refusals with their detail lines', () => {
    const stderr = "An error occurred on the cluster node: invalid corosync.conf\n! node 'pve3' is missing link 1, which is configured on other nodes\nCluster join aborted!\n";
    expect(classifyPvecmAdd({ stdout: 'Request addition of this node\n', stderr })).toEqual({
      kind: 'cluster-error',
      message: 'invalid corosync.conf',
      details: ["! node 'pve3' is missing link 1, which is configured on other nodes"],
    });
    const q = classifyPvecmAdd({ stdout: '', stderr: 'An error occurred on the cluster node: cluster not ready - no quorum?\nCluster join aborted!\n' });
    expect(q).toEqual({ kind: 'cluster-error', message: 'cluster not ready - no quorum?', details: [] });
  });

  it('recognises wrong password and fingerprint rejection', () => {
    expect(classifyPvecmAdd({ stdout: "Establishing API connection with host 'pve31'\n", stderr: '401 401 authentication failure\n' }).kind).toBe('auth-failed');
    expect(classifyPvecmAdd({ stdout: '', stderr: '401 authentication failure\n' }).kind).toBe('auth-failed');
    expect(classifyPvecmAdd({ stdout: fixture('pvecm-add/fingerprint-prompt-source.txt'), stderr: 'Fingerprint not verified, abort!\n' })).toEqual({
      kind: 'fingerprint-rejected',
      message: 'Fingerprint not verified, abort!',
    });
    const fp = '53:A4:11:FD:96:26:7A:80:68:41:3D:13:83:A6:2C:1D:9F:CA:6B:5D:F0:C2:B4:DF:7A:83:0B:FA:8E:53:E5:94';
    expect(classifyPvecmAdd({ stdout: '', stderr: `fingerprint '${fp}' not verified, abort!\n` }).kind).toBe('fingerprint-rejected');
  });

  it('names other known failures and falls back to the last stderr line', () => {
    expect(classifyPvecmAdd({ stdout: '', stderr: "Navigate out of /etc/pve before running 'pvecm add', for example by running 'cd'.\n", exitCode: 255 })).toMatchObject({
      kind: 'failed',
      reason: 'cwd-in-etc-pve',
    });
    expect(classifyPvecmAdd({ stdout: '', stderr: 'EOF while reading password\n' })).toMatchObject({ kind: 'failed', reason: 'no-password' });
    expect(classifyPvecmAdd({ stdout: '', stderr: 'Remote side is not able to use API for Cluster join!\nPass the \'use_ssh\' switch or update the remote side.\n' })).toMatchObject({
      kind: 'failed',
      reason: 'api-join-unsupported',
    });
    expect(classifyPvecmAdd({ stdout: '', stderr: '400 too many arguments\npvecm add <hostname> [OPTIONS]\n' })).toMatchObject({ kind: 'failed', reason: 'invalid-parameters' });
    expect(classifyPvecmAdd({ stdout: 'Request addition of this node\n', stderr: 'something else went wrong\n' })).toEqual({ kind: 'failed', message: 'something else went wrong' });
    const cut = fixture('pvecm-add/pve8-join-success-gitbook.txt').split('\n').slice(0, 10).join('\n');
    expect(classifyPvecmAdd({ stdout: cut, stderr: '' })).toEqual({ kind: 'unknown' });
  });
});

describe('classifyPvecmCreate', () => {
  it('recognises the real create output', () => {
    expect(classifyPvecmCreate({ stdout: fixture('pvecm-create/pve8-create-gitbook.txt'), stderr: '', exitCode: 0 })).toEqual({ kind: 'created', authkeyGenerated: true });
    const noKeygen = 'Writing corosync config to /etc/pve/corosync.conf\nRestart corosync and cluster filesystem\n';
    expect(classifyPvecmCreate({ stdout: noKeygen, stderr: '' })).toEqual({ kind: 'created', authkeyGenerated: false });
  });

  it('recognises refusals and failures', () => {
    expect(classifyPvecmCreate({ stdout: '', stderr: "cluster config '/etc/pve/corosync.conf' already exists\n", exitCode: 255 })).toEqual({
      kind: 'already-exists',
      message: "cluster config '/etc/pve/corosync.conf' already exists",
    });
    const invalid = '400 Parameter verification failed.\nclustername: value may only be 15 characters long\n\npvecm create <clustername> [OPTIONS]\n';
    expect(classifyPvecmCreate({ stdout: '', stderr: invalid, exitCode: 255 })).toEqual({
      kind: 'failed',
      reason: 'invalid-parameters',
      message: 'clustername: value may only be 15 characters long',
    });
    expect(classifyPvecmCreate({ stdout: 'Writing corosync config to /etc/pve/corosync.conf\n', stderr: 'example task failure text\n' })).toEqual({ kind: 'failed', message: 'example task failure text' });
    expect(classifyPvecmCreate({ stdout: '', stderr: '' })).toEqual({ kind: 'unknown' });
  });
});

describe('classifyPvecmDelnode', () => {
  it('treats CS_ERR_NOT_EXIST as harmless, in either order', () => {
    expect(classifyPvecmDelnode({ stdout: 'Killing node 3\n', stderr: 'Could not kill node (error = CS_ERR_NOT_EXIST)\n', exitCode: 0 })).toEqual({
      kind: 'removed',
      killedNodeId: 3,
      nodeWasDown: true,
    });
    expect(classifyPvecmDelnode({ stdout: '', stderr: 'Could not kill node (error = CS_ERR_NOT_EXIST)\nKilling node 3\n' })).toMatchObject({ kind: 'removed', killedNodeId: 3 });
    expect(classifyPvecmDelnode({ stdout: 'Killing node 2\n', stderr: '', exitCode: 0 })).toEqual({ kind: 'removed', killedNodeId: 2, nodeWasDown: false });
  });

  it('recognises the refusals', () => {
    expect(classifyPvecmDelnode({ stdout: '', stderr: 'Cannot delete myself from cluster!\n', exitCode: 255 }).kind).toBe('self');
    expect(classifyPvecmDelnode({ stdout: '', stderr: 'cluster not ready - no quorum?\n', exitCode: 255 }).kind).toBe('no-quorum');
    expect(classifyPvecmDelnode({ stdout: '', stderr: 'Node/IP: pve9 is not a known host of the cluster.\n', exitCode: 255 })).toMatchObject({ kind: 'unknown-node', node: 'pve9' });
    const invalid = '400 Parameter verification failed.\nnode: invalid format - value does not look like a valid node name\n\npvecm delnode <node>\n';
    expect(classifyPvecmDelnode({ stdout: '', stderr: invalid, exitCode: 255 })).toMatchObject({ kind: 'failed', reason: 'invalid-parameters' });
  });

  it('reports other failures and unknown results', () => {
    expect(classifyPvecmDelnode({ stdout: '', stderr: 'some failure\n', exitCode: 2 })).toEqual({ kind: 'failed', message: 'some failure' });
    expect(classifyPvecmDelnode({ stdout: '', stderr: '', exitCode: 2 })).toEqual({ kind: 'failed', message: 'exit code 2' });
    expect(classifyPvecmDelnode({ stdout: '', stderr: '' })).toEqual({ kind: 'unknown' });
  });
});

describe('classifyPvecmCreate stream placement', () => {
  it('accepts the keygen progress lines on stderr', () => {
    const lines = fixture('pvecm-create/pve8-create-gitbook.txt').split('\n');
    const r = classifyPvecmCreate({ stdout: lines.slice(4, 6).join('\n'), stderr: lines.slice(1, 4).join('\n'), exitCode: 0 });
    expect(r).toEqual({ kind: 'created', authkeyGenerated: true });
  });
});
