import { describe, expect, it } from 'vitest';
import {
  ParseError,
  parseCorosyncConf,
  parseCorosyncSections,
  serializeCorosyncConf,
  serializeCorosyncSections,
  summarizeCorosyncConf,
  type CorosyncConf,
} from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

const CREATED = fixture('corosync-conf/pve-create-illustrative.conf');

describe('parseCorosyncConf', () => {
  it('reads the layout pvecm create writes', () => {
    const c = parseCorosyncConf(CREATED);
    expect(c).toEqual({
      totem: {
        cluster_name: 'lab',
        config_version: '1',
        interface: [{ linknumber: '0' }],
        ip_version: 'ipv4-6',
        link_mode: 'passive',
        secauth: 'on',
        token_coefficient: '125',
        version: '2',
      },
      nodelist: [{ name: 'pve1', nodeid: '1', quorum_votes: '1', ring0_addr: '10.0.0.1' }],
      quorum: { provider: 'corosync_votequorum' },
      logging: { debug: 'off', to_syslog: 'yes' },
      extra: {},
    });
    expect(summarizeCorosyncConf(c)).toEqual({
      clusterName: 'lab',
      configVersion: 1,
      nodes: [{ name: 'pve1', nodeid: 1, quorumVotes: 1, links: { 0: '10.0.0.1' } }],
    });
  });

  it('accepts what corosync accepts: tabs, comments, CRLF, no space after the colon, IPv6 values', () => {
    const text = [
      '# written by hand',
      'totem {',
      '\tcluster_name:lab',
      '\tconfig_version: 7   ',
      '}',
      'nodelist {',
      '  node {',
      '    name: pve2',
      '    nodeid: 2',
      '    ring0_addr: fe80::2',
      '    ring1_addr: 192.0.2.2',
      '  }',
      '  node {',
      '    name: pve1',
      '    nodeid: 1',
      '    ring0_addr: fe80::1',
      '  }',
      '}',
      'quorum {',
      '  device {',
      '    model: net',
      '    net {',
      '      algorithm: ffsplit',
      '      host: 192.0.2.10',
      '      tls: on',
      '    }',
      '    votes: 1',
      '  }',
      '  provider: corosync_votequorum',
      '}',
      '',
    ].join('\r\n');
    const c = parseCorosyncConf(text);
    expect(c.totem).toEqual({ cluster_name: 'lab', config_version: '7' });
    expect(c.nodelist.map((n) => n.ring0_addr)).toEqual(['fe80::2', 'fe80::1']);
    expect(c.quorum).toEqual({ device: { model: 'net', net: { algorithm: 'ffsplit', host: '192.0.2.10', tls: 'on' }, votes: '1' }, provider: 'corosync_votequorum' });
    const s = summarizeCorosyncConf(c);
    expect(s.nodes[0]).toEqual({ name: 'pve2', nodeid: 2, quorumVotes: 1, links: { 0: 'fe80::2', 1: '192.0.2.2' } });
  });

  it('throws ParseError on broken files', () => {
    expect(() => parseCorosyncConf('')).toThrow(/empty/);
    expect(() => parseCorosyncConf('# only a comment\n')).toThrow(/empty/);
    expect(() => parseCorosyncConf('totem {\n  version: 2\n')).toThrow(/missing '}'/);
    expect(() => parseCorosyncConf('}\n')).toThrow(/unexpected '}'/);
    expect(() => parseCorosyncConf('totem {\nhello world\n}\n')).toThrow(/line 2/);
    expect(() => parseCorosyncConf('totem { version: 2 }\n')).toThrow(/extra characters/);
    expect(() => parseCorosyncConf(' {\n}\n')).toThrow(/section name/);
    expect(() => parseCorosyncConf('totem {\n}\ntotem {\n}\n')).toThrow(/twice/);
    expect(() => parseCorosyncConf('totem: x\n')).toThrow(/must be a section/);
    expect(() => parseCorosyncConf('nodelist {\n  foo: bar\n}\n')).toThrow(/nodelist/);
    expect(() => parseCorosyncConf('totem {\n  interface: 0\n}\n')).toThrow(/interface/);
    expect(() => summarizeCorosyncConf(parseCorosyncConf('totem {\n  config_version: x\n}\n'))).toThrow(ParseError);
  });
});

describe('serializeCorosyncConf', () => {
  it("round-trips PVE's own layout byte for byte", () => {
    // the writer ends every top-level block with a blank line; the markdown sample cannot show the last one
    expect(serializeCorosyncConf(parseCorosyncConf(CREATED))).toBe(`${CREATED}\n`);
    expect(serializeCorosyncSections(parseCorosyncSections(CREATED))).toBe(`${CREATED}\n`);
  });

  it('sorts sections and keys, nodes by name and interfaces by link number', () => {
    const conf: CorosyncConf = {
      totem: {
        version: '2',
        cluster_name: 'lab',
        config_version: '3',
        interface: [
          { linknumber: '1', knet_link_priority: '10' },
          { linknumber: '0' },
        ],
      },
      nodelist: [
        { ring1_addr: '192.0.2.2', ring0_addr: '10.0.0.2', nodeid: '2', name: 'pve2', quorum_votes: '1' },
        { name: 'pve1', nodeid: '1', quorum_votes: '1', ring0_addr: '10.0.0.1', ring1_addr: '192.0.2.1' },
      ],
      quorum: { provider: 'corosync_votequorum' },
      logging: { to_syslog: 'yes', debug: 'off' },
      extra: {},
    };
    const text = serializeCorosyncConf(conf);
    expect(text).toBe(
      [
        'logging {',
        '  debug: off',
        '  to_syslog: yes',
        '}',
        '',
        'nodelist {',
        '  node {',
        '    name: pve1',
        '    nodeid: 1',
        '    quorum_votes: 1',
        '    ring0_addr: 10.0.0.1',
        '    ring1_addr: 192.0.2.1',
        '  }',
        '  node {',
        '    name: pve2',
        '    nodeid: 2',
        '    quorum_votes: 1',
        '    ring0_addr: 10.0.0.2',
        '    ring1_addr: 192.0.2.2',
        '  }',
        '}',
        '',
        'quorum {',
        '  provider: corosync_votequorum',
        '}',
        '',
        'totem {',
        '  cluster_name: lab',
        '  config_version: 3',
        '  interface {',
        '    linknumber: 0',
        '  }',
        '  interface {',
        '    knet_link_priority: 10',
        '    linknumber: 1',
        '  }',
        '  version: 2',
        '}',
        '',
        '',
      ].join('\n'),
    );
    expect(parseCorosyncConf(text).nodelist.map((n) => n.name)).toEqual(['pve1', 'pve2']);
    expect(conf.nodelist.map((n) => n.name)).toEqual(['pve2', 'pve1']);
  });

  it('keeps unknown top-level sections and nested blocks', () => {
    const text = 'system {\n  allow_knet_handle_fallback: yes\n}\n\ntotem {\n  cluster_name: c\n}\n\n';
    const c = parseCorosyncConf(text);
    expect(c.extra).toEqual({ system: { allow_knet_handle_fallback: 'yes' } });
    expect(serializeCorosyncConf(c)).toBe('nodelist {\n}\n\nsystem {\n  allow_knet_handle_fallback: yes\n}\n\ntotem {\n  cluster_name: c\n}\n\n');
  });

  it('refuses values that would corrupt the file', () => {
    const bad = parseCorosyncConf(CREATED);
    bad.totem.cluster_name = 'a\nb';
    expect(() => serializeCorosyncConf(bad)).toThrow(/line break/);
    const badKey = parseCorosyncConf(CREATED);
    badKey.totem['bad key'] = 'x';
    expect(() => serializeCorosyncConf(badKey)).toThrow(/invalid key/);
  });
});

describe('the quorum device of a corosync.conf', () => {
  const QDEVICE = fixture('corosync-conf/pve-qdevice-setup-source.conf');

  it('reads the device pvecm qdevice setup writes, and writes the file back byte for byte', () => {
    const c = parseCorosyncConf(QDEVICE);
    expect(summarizeCorosyncConf(c)).toEqual({
      clusterName: 'lab',
      configVersion: 3,
      nodes: [
        { name: 'pve1', nodeid: 1, quorumVotes: 1, links: { 0: '10.0.0.1' } },
        { name: 'pve2', nodeid: 2, quorumVotes: 1, links: { 0: '10.0.0.2' } },
      ],
      qdevice: { model: 'net', host: '10.0.0.5', algorithm: 'ffsplit', votes: 1 },
    });
    expect(serializeCorosyncConf(c)).toBe(QDEVICE);
  });

  it('has none without a device block, and no votes when corosync is to compute them (lms)', () => {
    expect(summarizeCorosyncConf(parseCorosyncConf(CREATED)).qdevice).toBeUndefined();
    const lms = QDEVICE.replace('algorithm: ffsplit', 'algorithm: lms').replace('    votes: 1\n', '');
    expect(summarizeCorosyncConf(parseCorosyncConf(lms)).qdevice).toEqual({ model: 'net', host: '10.0.0.5', algorithm: 'lms' });
  });

  it('refuses a device it cannot reason about: no model, or a host that is no address', () => {
    expect(() => summarizeCorosyncConf(parseCorosyncConf(QDEVICE.replace('    model: net\n', '')))).toThrow(ParseError);
    expect(() => summarizeCorosyncConf(parseCorosyncConf(QDEVICE.replace('host: 10.0.0.5', 'host: -oProxyCommand=x')))).toThrow(/is not an address or host name/);
  });
});
