import { describe, expect, it } from 'vitest';
import { hasQuorumDevice } from '../../../src/lab/daemons.js';
import { LAB_PACKAGES } from '../../../src/lab/host-check.js';
import { netnsIndex, parseSubnet, vethIndex } from '../../../src/lab/names.js';
import { qnetdNames, qnetdState } from '../../../src/lab/qnetd.js';

describe('the lab QNetd host', () => {
  it('sits at .5 of the lab subnet with names of its own that fit the kernel limit', () => {
    expect(qnetdState('abcdefgh', parseSubnet('10.88.4.0/24'))).toEqual({
      name: 'qnetd',
      address: '10.88.4.5',
      netns: 'pvx-abcdefgh-qnetd',
      veth: 'pvx-abcdefgh-q',
    });
    expect('pvx-abcdefgh-q'.length).toBeLessThanOrEqual(15);
    expect(qnetdNames('h3a')).toEqual({ name: 'qnetd', netns: 'pvx-h3a-qnetd', veth: 'pvx-h3a-q' });
  });

  it('is never taken for a node by the scans that work without lab.json', () => {
    expect(netnsIndex('h3a', 'pvx-h3a-qnetd')).toBeUndefined();
    expect(vethIndex('h3a', 'pvx-h3a-q')).toBeUndefined();
  });

  it('needs Debian corosync-qdevice and corosync-qnetd', () => {
    expect(LAB_PACKAGES).toContain('corosync-qdevice');
    expect(LAB_PACKAGES).toContain('corosync-qnetd');
  });
});

describe('hasQuorumDevice', () => {
  const base = `totem {
  cluster_name: c
  config_version: 3
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
  }
}
`;
  it('is true only for a device block inside the quorum section', () => {
    const withDevice = `${base}
quorum {
  device {
    model: net
    net {
      algorithm: ffsplit
      host: 10.0.0.5
      tls: on
    }
    votes: 1
  }
  provider: corosync_votequorum
}
`;
    expect(hasQuorumDevice(withDevice)).toBe(true);
    expect(hasQuorumDevice(`${base}\nquorum {\n  provider: corosync_votequorum\n}\n`)).toBe(false);
    expect(hasQuorumDevice(`${base}\nquorum {\n  provider: corosync_votequorum\n}\n\nother {\n  device {\n    x: y\n  }\n}\n`)).toBe(false);
  });
});
