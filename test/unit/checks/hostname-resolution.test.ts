import { describe, expect, it } from 'vitest';
import { getent, inventoryNodes, ipAddr, of, runScenario } from './scenario.js';

async function resolution(sections: Record<string, unknown>, link0 = true) {
  const r = await runScenario({ nodes: inventoryNodes(2, link0), node: { pve2: { sections } } });
  return { r, f: of(r, 'hostname-resolution').filter((x) => x.node === 'pve2') };
}

describe('hostname-resolution check', () => {
  it('passes when the name resolves to a local address and link0 is local', async () => {
    const { f } = await resolution({});
    expect(f).toEqual([
      { id: 'hostname-resolution', node: 'pve2', status: 'ok', message: "'pve2' resolves to 10.77.13.12, an address of this node" },
      { id: 'hostname-resolution', node: 'pve2', status: 'ok', message: 'link0 10.77.13.12 is configured on pve2' },
    ]);
  });

  it('fails a name on 127.0.1.1 only, with the /etc/hosts line to write', async () => {
    const { f } = await resolution({ resolve: { stdout: getent('pve2', '127.0.1.1') } });
    expect(f[0]).toEqual({
      id: 'hostname-resolution',
      node: 'pve2',
      status: 'fail',
      message: "'pve2' resolves only to 127.0.1.1 (loopback); PVE needs a non-loopback address",
      hint: "in /etc/hosts on pve2, replace the line '127.0.1.1 pve2' with '10.77.13.12 pve2.<domain> pve2'",
    });
  });

  it('warns when a loopback line remains beside the real address', async () => {
    const { f } = await resolution({ resolve: { stdout: getent('pve2', '127.0.1.1', '10.77.13.12') } });
    expect(f[0]).toMatchObject({ status: 'warn', message: "'pve2' resolves to 10.77.13.12, but also to 127.0.1.1" });
  });

  it('fails a name that resolves to an address the node does not have', async () => {
    const { f } = await resolution({ resolve: { stdout: getent('pve2', '10.77.13.99') } });
    expect(f[0]).toMatchObject({ status: 'fail', message: "'pve2' resolves to 10.77.13.99, which is not configured on any interface of pve2" });
  });

  it('fails a name that does not resolve (getent exit 2)', async () => {
    const { f } = await resolution({ resolve: { exitCode: 2, stdout: '' } });
    expect(f[0]).toMatchObject({ status: 'fail', message: "the node name 'pve2' does not resolve on pve2" });
  });

  it('fails an inventory link0 that is not configured on the node', async () => {
    const { f } = await resolution({ addrs: { stdout: '2: eth0    inet 10.77.13.50/24 scope global eth0\n' }, resolve: { stdout: getent('pve2', '10.77.13.50') } });
    expect(f.map((x) => x.status)).toEqual(['ok', 'fail']);
    expect(f[1]?.message).toBe('link0 10.77.13.12 is not configured on pve2');
  });

  it('takes link0 from the resolved name when the inventory has none', async () => {
    const { r, f } = await resolution({}, false);
    expect(f.map((x) => x.status)).toEqual(['ok']);
    expect(r.nodeFacts.get('pve2')?.link0).toBe('10.77.13.12');
    expect(r.nodeFacts.get('pve2')?.link0Source).toBe('resolved');
  });

  it('without any link0 address fails and the UDP pairs of the node are not probed', async () => {
    const { r, f } = await resolution({ resolve: { stdout: getent('pve2', '127.0.1.1') } }, false);
    expect(f.map((x) => x.status)).toEqual(['fail', 'fail']);
    expect(f[1]?.message).toMatch(/^no link0 address/);
    expect(of(r, 'udp-corosync').map((x) => x.status)).toEqual(['skip', 'skip']);
  });

  it('warns when getent or ip is missing, and on garbage', async () => {
    const a = await resolution({ resolve: { exitCode: 127 } });
    expect(a.f[0]).toMatchObject({ status: 'warn', message: "could not resolve 'pve2' on the node: getent ahosts is not installed" });
    const b = await resolution({ addrs: { exitCode: 127 } });
    expect(b.f.map((x) => x.status)).toEqual(['ok', 'warn']);
    expect(b.f[1]?.message).toBe('could not check that link0 10.77.13.12 is local: ip -o addr show is not installed');
    const c = await resolution({ resolve: { stdout: 'pve2 has address 10.77.13.12\n' } });
    expect(c.f[0]?.status).toBe('warn');
    expect(c.f[0]?.message).toMatch(/getent ahosts printed something unexpected/);
  });

  it('does not pick an address from a getent answer with a line it cannot read (the order decides link0)', async () => {
    const { r, f } = await resolution({ resolve: { stdout: `pve2 has address 10.77.13.99\n${getent('pve2', '10.77.13.12')}` } }, false);
    expect(f[0]).toMatchObject({ status: 'warn' });
    expect(f[0]?.message).toContain("a line pvx cannot read, so the answer may be incomplete: 'pve2 has address 10.77.13.99'");
    expect(r.nodeFacts.get('pve2')?.link0).toBeUndefined();
    expect(f.map((x) => x.status)).toEqual(['warn', 'fail']);
  });

  it('reads the other addresses of ip -o addr and warns about a line it cannot read', async () => {
    const addrs = `${ipAddr('10.77.13.12')}3: vmbr0    inet 10.77.13.200 garbage\n`;
    const { f } = await resolution({ addrs: { stdout: addrs } });
    expect(f.map((x) => x.status)).toEqual(['ok', 'ok', 'warn']);
    expect(f[2]).toEqual({
      id: 'hostname-resolution',
      node: 'pve2',
      status: 'warn',
      message: "ip -o addr show on pve2 printed a line pvx could not read, left out: '3: vmbr0    inet 10.77.13.200 garbage'",
      hint: 'run ip -o addr show on pve2 to see the whole answer',
    });
  });
});
