/** What `cluster teardown` reads before it decides, and after: every node, then the cluster from the member that speaks for it. */
import { readMembership } from '../../facts/node.js';
import type { GuestFile } from '../../facts/guest-files.js';
import { readGuestFiles, readHa, readLocalConf, readResources, type HaFacts, type NodeReading, type ReadProblem, type SharedStorage } from '../../facts/teardown.js';
import type { GuestResource } from '../../pve/parse/pvesh-resources.js';
import type { Transport } from '../../transport/types.js';
import { decideTeardown, pickAuthority, type TeardownDecision } from '../../workflows/teardown/decide.js';

/** Everything the overview and the plan need. */
export interface TeardownFacts {
  decision: TeardownDecision;
  readings: NodeReading[];
  /** guest configuration files per node, as the node itself holds them (down nodes: as the cluster does) */
  guestFiles: Map<string, GuestFile[]>;
  /** per node read: the folders under /etc/pve/nodes that hold guest configurations there */
  guestFolders: Map<string, string[]>;
  /** guests as /cluster/resources reports them (names, status, HA state) */
  guests: GuestResource[];
  ha?: HaFacts;
  sharedStorages: SharedStorage[];
  /** reads that failed on nodes the teardown would act on: any of them means no change may run */
  unread: ReadProblem[];
  /** nodes whose pmxcfs is not mounted (a separation stopped part-way): their guests are read once a local pmxcfs runs */
  unmounted: string[];
}

/** Read every inventory node in parallel, decide, then read guests, HA and storage from the member that speaks for the cluster. */
export async function readTeardownFacts(t: Transport, nodes: readonly string[]): Promise<TeardownFacts> {
  const unread: ReadProblem[] = [];
  const per = await Promise.all(
    nodes.map(async (node) => {
      const membership = await readMembership(t, node);
      if (membership.kind === 'unreachable') return { reading: { node, membership } satisfies NodeReading, files: undefined };
      const [conf, files] = await Promise.all([readLocalConf(t, node, unread), readGuestFiles(t, node, unread)]);
      return { reading: { node, membership, ...(conf ? { conf } : {}) } satisfies NodeReading, files };
    }),
  );
  const readings = per.map((p) => p.reading);
  const decision = decideTeardown(readings);
  const unmounted = per.filter((p) => p.files === 'unmounted').map((p) => p.reading.node);
  const facts: TeardownFacts = { decision, readings, guestFiles: new Map(), guestFolders: new Map(), guests: [], sharedStorages: [], unread, unmounted };
  for (const p of per) {
    if (p.files === 'unmounted') continue;
    const own = p.files?.get(p.reading.node);
    if (p.files) {
      facts.guestFiles.set(p.reading.node, own ?? []);
      facts.guestFolders.set(p.reading.node, [...p.files.keys()].sort());
    }
  }
  if (decision.kind !== 'plan') return facts;
  const authority = pickAuthority(readings, decision.input.cluster);
  if (!authority) return facts;
  const found = per.find((p) => p.reading.node === authority.node)?.files;
  const view = found === 'unmounted' ? undefined : found;
  for (const n of decision.input.nodes) {
    if (!facts.guestFiles.has(n.name)) facts.guestFiles.set(n.name, view?.get(n.name) ?? []);
  }
  const [resources, ha] = await Promise.all([readResources(t, authority.node, unread), readHa(t, authority.node)]);
  if (resources) {
    facts.guests = resources.guests;
    facts.sharedStorages = resources.shared;
  }
  facts.ha = ha;
  return facts;
}
