/**
 * zod schemas of the `--json` envelope and of every command's `result`. Each one is proven by the
 * compiler to describe exactly the TypeScript type the command returns (the `Equals` assertions at
 * the end), so a result type that changes without its schema fails the build. Objects are strict:
 * a field the schema does not know fails validation.
 */
import { z } from 'zod';
import type { ClusterChangeResult, NodeState, PlanResult, StepReport } from '../commands/shared/plan-run.js';
import type { clusterCreate } from '../commands/cluster/create.js';
import type { clusterExpected } from '../commands/cluster/expected.js';
import type { clusterJoin } from '../commands/cluster/join.js';
import type { clusterRemoveNode } from '../commands/cluster/remove-node.js';
import type { clusterQdeviceAdd, clusterQdeviceRemove, QdeviceCheck, QdevicePlanResult, QdeviceResult, QdeviceVotes } from '../commands/cluster/qdevice.js';
import type { clusterRestore, RestoreMembership, RestorePlanResult, RestoreResult } from '../commands/cluster/restore.js';
import type { ClusterStatusResult, clusterStatus } from '../commands/cluster/status.js';
import type { clusterTeardown, TeardownBackups, TeardownNodeResult, TeardownPlanResult, TeardownResult } from '../commands/cluster/teardown.js';
import type { haAdd, HaChangeResult, HaGuestResult, HaPlanResult, haRemove, haSet } from '../commands/ha/change.js';
import type { haBudget, HaBudgetResult, haStatus, HaStatusResult } from '../commands/ha/status.js';
import type { replicationAdd, ReplicationChangeResult, ReplicationJobInfo, ReplicationPlanResult, replicationRemove, replicationRun, ReplicationRunResult } from '../commands/replication/change.js';
import type { ReplicationJobState, replicationList, ReplicationListResult, replicationStatus, ReplicationStatusResult } from '../commands/replication/status.js';
import type { PvesrJob } from '../pve/parse/pvesr.js';
import type { labDownCommand, labExecCommand, labFaultCommand, labInventoryCommand, labStatusCommand, labUpCommand } from '../commands/lab/run.js';
import type { migrate, MigratePlanResult, MigrateResult } from '../commands/migrate/run.js';
import type { DrainGuestResult, DrainPlacement, DrainPlanResult, DrainResult, nodeDrain } from '../commands/node/drain.js';
import type { MaintenanceHaGuest, maintenanceDisable, maintenanceEnable, MaintenancePlanResult, MaintenanceResult } from '../commands/node/maintenance.js';
import type { preflight, PreflightCommandResult, PreflightNode } from '../commands/preflight/run.js';
import type { Finding } from '../checks/types.js';
import type { Envelope } from '../ui/report.js';
import type { PlannedStep } from '../workflows/plan.js';
import type { GuestResult } from '../workflows/migrate/run.js';
import type { DowntimeBudget } from '../workflows/ha/budget.js';
import type { HaFencing, HaLrm, HaMaster, HaQuorum, HaService } from '../pve/parse/ha-manager-status.js';
import type { LabInfo, LabStatus, NodeStatus } from '../commands/lab/results.js';
import type { ResultCommand } from './names.js';

// ---- shared pieces ----

const plannedStep = z.strictObject({
  node: z.string(),
  title: z.string(),
  command: z.array(z.string()).describe('the exact argv run on the node'),
  mutates: z.boolean(),
  stdin: z.literal('secret').optional().describe('a secret (the root password) is fed on stdin; it is never shown'),
});

const stepReport = z.strictObject({
  node: z.string(),
  title: z.string(),
  command: z.array(z.string()),
  mutates: z.boolean(),
  status: z.enum(['ok', 'skipped', 'failed', 'undone', 'not-run']),
  durationMs: z.number().optional(),
  message: z.string().optional(),
});

const nodeState = z.strictObject({
  name: z.string(),
  state: z.enum(['member', 'standalone', 'corosync-down', 'error', 'unreachable']),
  cluster: z.string().optional(),
  quorate: z.boolean().optional(),
  members: z.array(z.string()).optional(),
  detail: z.string(),
});

const planResult = z.strictObject({ plan: z.array(plannedStep), title: z.string() });

// ---- cluster ----

const clusterChangeResult = z.strictObject({
  action: z.enum(['create', 'join', 'remove-node', 'expected']),
  cluster: z.string().nullable(),
  outcome: z.enum(['created', 'joined', 'removed', 'cleaned', 'set', 'unchanged', 'failed']),
  summary: z.string(),
  members: z.array(z.string()),
  steps: z.array(stepReport),
  nodes: z.array(nodeState).optional().describe('after a failure: where each node stands now'),
  journal: z.string().optional(),
  recovery: z.string().optional().describe('after a failure: the command that continues from here'),
  next: z.array(z.string()).optional().describe('after a success: what the user may want to do next'),
});

const statusNode = z.strictObject({
  name: z.string(),
  nodeid: z.int(),
  votes: z.int().nullable(),
  online: z.boolean(),
  local: z.boolean(),
  address: z.string().nullable(),
  pveVersion: z.string().nullable(),
});

const clusterStatusResult = z.strictObject({
  cluster: z.strictObject({ name: z.string(), configVersion: z.int(), transport: z.string(), secureAuth: z.boolean() }).nullable(),
  quorum: z.strictObject({ quorate: z.boolean(), expectedVotes: z.int(), totalVotes: z.int(), quorum: z.int() }).nullable(),
  nodes: z.array(statusNode),
  standalone: z.array(z.strictObject({ name: z.string(), pveVersion: z.string().nullable() })),
  unreachable: z.array(z.strictObject({ name: z.string(), code: z.string(), message: z.string(), hint: z.string().optional() })),
  unreadable: z.array(z.strictObject({ name: z.string(), message: z.string() })),
  source: z.string().nullable().describe('the node whose view of the cluster is shown'),
});

const teardownNodeResult = z.strictObject({
  name: z.string(),
  role: z.enum(['separate', 'last', 'down', 'separated']),
  before: z.string(),
  after: z.string().optional(),
  guestsBefore: z.array(z.string()),
  guestsAfter: z.array(z.string()).optional(),
  foldersRemoved: z.array(z.string()).optional().describe("the other nodes' folders removed from its /etc/pve/nodes; copies are in its backup under etc/pve/nodes/"),
  foldersKept: z.array(z.strictObject({ folder: z.string(), why: z.string() })).optional().describe("other nodes' folders it still holds, and why"),
});

const teardownBackups = z.strictObject({
  dir: z.string(),
  nodeDir: z.string(),
  nodes: z.array(
    z.strictObject({ node: z.string(), file: z.string(), nodeFile: z.string(), sha256: z.string(), files: z.array(z.string()), missing: z.array(z.string()) }),
  ),
});

const teardownResult = z.strictObject({
  cluster: z.string().nullable(),
  outcome: z.enum(['torn-down', 'unchanged', 'failed']),
  summary: z.string(),
  nodes: z.array(teardownNodeResult),
  backups: teardownBackups.optional(),
  steps: z.array(stepReport),
  downNodes: z.array(z.strictObject({ node: z.string(), advice: z.string() })),
  notes: z.array(z.string()),
  journal: z.string().optional(),
  restore: z.string().optional(),
  continue: z.string().optional(),
});

const teardownPlanResult = z.strictObject({ title: z.string(), cluster: z.string(), backupDir: z.string(), plan: z.array(plannedStep) });

const restoreMembership = z.strictObject({
  cluster: z.string(),
  quorate: z.boolean(),
  configured: z.array(z.string()),
  online: z.array(z.string()),
  source: z.string(),
});

const restoreResult = z.strictObject({
  cluster: z.string(),
  outcome: z.enum(['restored', 'unchanged', 'failed']),
  summary: z.string(),
  backup: z.string(),
  restored: z.array(z.string()),
  skipped: z.array(z.strictObject({ node: z.string(), why: z.string() })),
  conf: z.strictObject({ configVersion: z.int(), nodes: z.array(z.string()), source: z.enum(['cluster', 'backup']) }).optional(),
  databases: z
    .array(z.strictObject({ node: z.string(), database: z.enum(['backup', 'cluster', 'kept']).describe("which pmxcfs database the node ends with: the backup's, the running cluster's, or its own") }))
    .optional(),
  guestChanges: z
    .array(z.strictObject({ node: z.string(), type: z.enum(['qemu', 'lxc']), vmid: z.int(), change: z.enum(['created', 'changed', 'removed']) }))
    .optional()
    .describe('guest configurations that differ between a node now and what the restore leaves it'),
  changesTreatment: z.enum(['keep', 'discard']).optional(),
  membership: restoreMembership.optional(),
  steps: z.array(stepReport),
  nodes: z.array(nodeState).optional(),
  journal: z.string().optional(),
  recovery: z.string().optional(),
});

const restorePlanResult = z.strictObject({ title: z.string(), cluster: z.string(), backup: z.string(), plan: z.array(plannedStep) });

// ---- preflight ----

const finding = z.strictObject({
  id: z.string(),
  node: z.string(),
  peer: z.string().optional(),
  port: z.int().optional(),
  status: z.enum(['ok', 'warn', 'fail', 'skip']).describe('skip: the check could not run there (never a pass)'),
  message: z.string(),
  hint: z.string().optional(),
});

const preflightNode = z.strictObject({
  name: z.string(),
  reachable: z.boolean(),
  hostname: z.string().nullable(),
  pveVersion: z.string().nullable(),
  cluster: z.string().nullable(),
  corosyncRunning: z.boolean(),
  link0: z.string().nullable(),
  guests: z.int().nullable(),
});

const preflightResult = z.strictObject({
  purpose: z.enum(['create', 'join', 'migrate', 'ha', 'general']),
  checks: z.array(finding),
  nodes: z.array(preflightNode),
});

// ---- migrate ----

const guestResult = z.strictObject({
  vmid: z.int(),
  type: z.enum(['qemu', 'lxc']),
  from: z.string(),
  to: z.string(),
  status: z.enum(['migrated', 'failed', 'skipped']),
  durationMs: z.number(),
  error: z.string().optional(),
});

const migrateResult = z.strictObject({ guests: z.array(guestResult) });
const migratePlanResult = z.strictObject({ plan: z.array(plannedStep), title: z.string(), skipped: z.array(guestResult) });

// ---- node drain / maintenance ----

const drainGuestResult = z.strictObject({
  vmid: z.int(),
  type: z.enum(['qemu', 'lxc']),
  from: z.string(),
  target: z.string().nullable(),
  status: z.enum(['migrated', 'failed', 'skipped']),
  durationMs: z.number(),
  reason: z.string().optional(),
});
const drainPlacement = z.strictObject({ vmid: z.int(), type: z.enum(['qemu', 'lxc']), from: z.string(), target: z.string().nullable(), reason: z.string().optional() });
const drainResult = z.strictObject({ node: z.string(), guests: z.array(drainGuestResult) });
const drainPlanResult = z.strictObject({ node: z.string(), title: z.string(), plan: z.array(plannedStep), placement: z.array(drainPlacement) });
const maintenanceHaGuest = z.strictObject({ sid: z.string(), node: z.string().nullable(), state: z.string().nullable() });
const maintenanceResult = z.strictObject({
  node: z.string(),
  action: z.enum(['enable', 'disable']),
  haMaintenance: z.boolean(),
  ha: z.array(maintenanceHaGuest),
  guests: z.array(drainGuestResult),
  stateFile: z.string().nullable(),
});
const maintenancePlanResult = z.strictObject({
  node: z.string(),
  action: z.enum(['enable', 'disable']),
  haMaintenance: z.boolean(),
  title: z.string(),
  plan: z.array(plannedStep),
  placement: z.array(drainPlacement),
});

// ---- ha ----

const haState = z.enum(['started', 'stopped', 'disabled', 'ignored']);
const preferenceMode = z.enum(['groups', 'rules']);

const haGuestResult = z.strictObject({
  vmid: z.int(),
  sid: z.string(),
  node: z.string(),
  outcome: z.enum(['added', 'updated', 'removed', 'unchanged', 'refused']),
  state: haState.optional(),
  note: z.string().optional(),
  reasons: z.array(z.string()).optional(),
});

const haChangeResult = z.strictObject({
  action: z.enum(['add', 'set', 'remove']),
  pve: z.int().describe('the PVE major version'),
  preferenceMode,
  preference: z
    .strictObject({ kind: z.enum(['group', 'rule']), id: z.string(), created: z.boolean(), nodes: z.string(), strict: z.boolean() })
    .optional(),
  guests: z.array(haGuestResult),
  summary: z.string(),
  steps: z.array(stepReport),
});

const haPlanResult = z.strictObject({
  title: z.string(),
  pve: z.int(),
  preferenceMode,
  plan: z.array(plannedStep),
  guests: z.array(haGuestResult),
});

// ---- replication ----

const replicationJobInfo = z.strictObject({
  id: z.string().describe('<vmid>-<n>'),
  vmid: z.int(),
  source: z.string().describe("the guest's node, which sends the data"),
  target: z.string(),
  schedule: z.string().describe('PVE calendar event'),
  rateMbps: z.number().optional(),
  comment: z.string().optional(),
});

const replicationRunResult = z.strictObject({
  id: z.string(),
  ok: z.boolean(),
  lastSync: z.string().optional().describe("node-local time as pvesr prints it, YYYY-MM-DD_HH:MM:SS"),
  durationSec: z.number().optional(),
  failCount: z.int(),
  state: z.string().describe('OK, SYNCING or the error of the last failed run'),
});

const replicationChangeResult = z.strictObject({
  action: z.enum(['add', 'remove', 'run']),
  jobs: z.array(replicationJobInfo),
  volumes: z.array(z.string()).optional(),
  runs: z.array(replicationRunResult).optional(),
  summary: z.string(),
  steps: z.array(stepReport),
});

const replicationPlanResult = z.strictObject({
  title: z.string(),
  plan: z.array(plannedStep),
  jobs: z.array(replicationJobInfo),
  volumes: z.array(z.string()).optional(),
});

const pvesrJob = z.strictObject({
  jobId: z.string(),
  vmid: z.int(),
  target: z.string(),
  schedule: z.string(),
  rateMbps: z.number().optional().describe('MB/s; absent when unlimited'),
  enabled: z.boolean(),
});

const replicationListResult = z.strictObject({ node: z.string().describe('the node pvesr list ran on'), jobs: z.array(pvesrJob) });

const replicationJobState = z.strictObject({
  jobId: z.string(),
  vmid: z.int(),
  enabled: z.boolean(),
  target: z.string(),
  lastSync: z.string().optional().describe("node-local time as pvesr prints it, YYYY-MM-DD_HH:MM:SS; absent when never synced"),
  nextSync: z.string().optional().describe("node-local time, or 'pending' when due"),
  durationSec: z.number().optional(),
  failCount: z.int(),
  state: z.string(),
  source: z.string().describe('the node whose pvesr status lists the job (the guest\'s node)'),
});

const replicationStatusResult = z.strictObject({
  jobs: z.array(replicationJobState),
  unread: z.array(z.strictObject({ node: z.string(), message: z.string() })),
});

const downtimeBudget = z.strictObject({ percent: z.number(), year: z.number(), month: z.number(), week: z.number(), day: z.number() }).describe('downtimes in seconds');

const haQuorum = z.strictObject({ ok: z.boolean(), message: z.string(), node: z.string().optional() });
const haMaster = z.strictObject({
  node: z.string(),
  state: z.string(),
  time: z.string(),
  extra: z.string().optional(),
  disarm: z.strictObject({ state: z.string(), mode: z.string() }).optional(),
  crsMode: z.string().optional(),
  crsDetail: z.string().optional(),
  loadImbalancePercent: z.number().optional(),
});
const haFencing = z.strictObject({ state: z.string(), resourceMode: z.string().optional(), watchdog: z.string() });
const haLrm = z.strictObject({ node: z.string(), state: z.string(), readable: z.boolean(), watchdog: z.string().optional(), time: z.string().optional() });
const haService = z.strictObject({ sid: z.string(), type: z.enum(['vm', 'ct']), vmid: z.int(), node: z.string().optional(), state: z.string() });

const haStatusResult = z.strictObject({
  node: z.string(),
  quorum: haQuorum,
  master: haMaster.nullable(),
  fencing: haFencing.nullable(),
  lrms: z.array(haLrm),
  services: z.array(haService),
  availability: z.array(downtimeBudget),
});

const haBudgetResult = z.strictObject({ budget: downtimeBudget, availability: z.array(downtimeBudget) });

// ---- lab ----

const labInfo = z.strictObject({
  name: z.string(),
  inventory: z.string(),
  rootPasswordFile: z.string(),
  nodes: z.array(z.strictObject({ name: z.string(), address: z.string() })),
  qnetd: z.strictObject({ name: z.string(), address: z.string() }).optional(),
});

const labQnetdStatus = z.strictObject({
  name: z.string(),
  address: z.string(),
  running: z.boolean(),
  initPid: z.int().optional(),
  sshd: z.boolean(),
  qnetd: z.boolean(),
});

const labNodeStatus = z.strictObject({
  name: z.string(),
  address: z.string(),
  pveVersion: z.string(),
  netns: z.boolean(),
  link: z.enum(['up', 'down', 'missing']),
  initPid: z.int().optional(),
  running: z.boolean(),
  sshd: z.boolean(),
  chronyd: z.boolean(),
  corosync: z.boolean(),
  pmxcfs: z.boolean(),
  faults: z.array(z.string()),
  rssKiB: z.number(),
});

const labStatus = z.strictObject({
  name: z.string(),
  exists: z.boolean(),
  root: z.string(),
  subnet: z.string().optional(),
  bridge: z.string().optional(),
  bridgeUp: z.boolean(),
  inventory: z.string().optional(),
  nodes: z.array(labNodeStatus),
  qnetd: labQnetdStatus.optional(),
});

// ---- cluster qdevice ----

const qdeviceCheck = z.strictObject({
  id: z.string(),
  node: z.string(),
  status: z.enum(['ok', 'fail']),
  message: z.string(),
});

const qdeviceVotes = z.strictObject({
  node: z.string(),
  expectedVotes: z.int(),
  totalVotes: z.int(),
  qdevice: z.boolean().describe('the Qdevice flag of corosync-quorumtool -s'),
});

const qdeviceResult = z.strictObject({
  action: z.enum(['add', 'remove']),
  cluster: z.string(),
  host: z.string().nullable().describe('the QNetd address'),
  outcome: z.enum(['added', 'removed', 'failed']),
  summary: z.string(),
  votes: z.array(qdeviceVotes).describe('what each node showed in corosync-quorumtool -s at the end'),
  checks: z.array(qdeviceCheck),
  steps: z.array(stepReport),
  journal: z.string().optional(),
  recovery: z.string().optional(),
});

const qdevicePlanResult = z.strictObject({ title: z.string(), plan: z.array(plannedStep), checks: z.array(qdeviceCheck) });

const labDown = z.strictObject({ name: z.string(), removed: z.boolean() });
const labInventory = z.strictObject({ inventory: z.string(), rootPasswordFile: z.string() });
const labExec = z.strictObject({ exitCode: z.int(), stdout: z.string().optional(), stderr: z.string().optional() });
const labFault = z.strictObject({ node: z.string(), fault: z.string(), arg: z.string().optional() });

// ---- the envelope ----

const errorBody = z.strictObject({
  code: z.string().describe('e.g. USAGE, PREFLIGHT_FAILED, NOT_QUORATE, UNREACHABLE, UNREADABLE'),
  exitCode: z.int(),
  message: z.string(),
  hint: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** The document every `--json` run prints (any command; `result` unchecked). */
export const envelopeSchema = z
  .strictObject({
    schemaVersion: z.literal(1),
    command: z.string().describe("the command path, e.g. 'cluster status' ('pvx' when none was recognised)"),
    ok: z.boolean(),
    result: z.unknown().optional().describe('the data, also on failure when there is any'),
    error: errorBody.optional().describe('set when ok is false'),
    warnings: z.array(z.string()),
  })
  .meta({ title: 'pvx --json envelope' });

/** The `result` of each command. */
export const RESULT_SCHEMAS = {
  preflight: preflightResult,
  'cluster status': clusterStatusResult,
  'cluster create': z.union([clusterChangeResult, planResult]),
  'cluster join': z.union([clusterChangeResult, planResult]),
  'cluster remove-node': z.union([clusterChangeResult, planResult]),
  'cluster expected': z.union([clusterChangeResult, planResult]),
  'cluster teardown': z.union([teardownResult, teardownPlanResult]),
  'cluster restore': z.union([restoreResult, restorePlanResult]),
  'cluster qdevice add': z.union([qdeviceResult, qdevicePlanResult]),
  'cluster qdevice remove': z.union([qdeviceResult, qdevicePlanResult]),
  migrate: z.union([migrateResult, migratePlanResult]),
  'node drain': z.union([drainResult, drainPlanResult]),
  'node maintenance enable': z.union([maintenanceResult, maintenancePlanResult]),
  'node maintenance disable': z.union([maintenanceResult, maintenancePlanResult]),
  'ha add': z.union([haChangeResult, haPlanResult]),
  'ha set': z.union([haChangeResult, haPlanResult]),
  'ha remove': z.union([haChangeResult, haPlanResult]),
  'ha status': haStatusResult,
  'ha budget': haBudgetResult,
  'replication add': z.union([replicationChangeResult, replicationPlanResult]),
  'replication list': replicationListResult,
  'replication status': replicationStatusResult,
  'replication remove': z.union([replicationChangeResult, replicationPlanResult]),
  'replication run': z.union([replicationChangeResult, replicationPlanResult]),
  'lab up': labInfo,
  'lab down': labDown,
  'lab status': labStatus,
  'lab inventory': labInventory,
  'lab exec': labExec,
  'lab fault': labFault,
} satisfies Record<ResultCommand, z.ZodType>;

/** The envelope of one command, its `result` checked. */
export function commandEnvelopeSchema(name: ResultCommand) {
  return envelopeSchema.extend({ command: z.literal(name), result: RESULT_SCHEMAS[name].optional() }).meta({ title: `pvx ${name} --json` });
}

// ---- proof that each schema is the type the code uses ----

/** True when A and B are the same type (not merely assignable either way: a missing optional field counts). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** The `result` type a command function declares. */
type ResultOf<F extends (...args: never[]) => Promise<{ result: unknown }>> = Awaited<ReturnType<F>>['result'];
type Out<S extends z.ZodType> = z.output<S>;

// the pieces, so that a mismatch names the piece and not only the whole result
const _plannedStep: Equals<Out<typeof plannedStep>, PlannedStep> = true;
const _stepReport: Equals<Out<typeof stepReport>, StepReport> = true;
const _nodeState: Equals<Out<typeof nodeState>, NodeState> = true;
const _planResult: Equals<Out<typeof planResult>, PlanResult> = true;
const _clusterChangeResult: Equals<Out<typeof clusterChangeResult>, ClusterChangeResult> = true;
const _clusterStatusResult: Equals<Out<typeof clusterStatusResult>, ClusterStatusResult> = true;
const _teardownNodeResult: Equals<Out<typeof teardownNodeResult>, TeardownNodeResult> = true;
const _teardownBackups: Equals<Out<typeof teardownBackups>, TeardownBackups> = true;
const _teardownResult: Equals<Out<typeof teardownResult>, TeardownResult> = true;
const _teardownPlanResult: Equals<Out<typeof teardownPlanResult>, TeardownPlanResult> = true;
const _restoreMembership: Equals<Out<typeof restoreMembership>, RestoreMembership> = true;
const _restoreResult: Equals<Out<typeof restoreResult>, RestoreResult> = true;
const _restorePlanResult: Equals<Out<typeof restorePlanResult>, RestorePlanResult> = true;
const _qdeviceCheck: Equals<Out<typeof qdeviceCheck>, QdeviceCheck> = true;
const _qdeviceVotes: Equals<Out<typeof qdeviceVotes>, QdeviceVotes> = true;
const _qdeviceResult: Equals<Out<typeof qdeviceResult>, QdeviceResult> = true;
const _qdevicePlanResult: Equals<Out<typeof qdevicePlanResult>, QdevicePlanResult> = true;
const _finding: Equals<Out<typeof finding>, Finding> = true;
const _preflightNode: Equals<Out<typeof preflightNode>, PreflightNode> = true;
const _preflightResult: Equals<Out<typeof preflightResult>, PreflightCommandResult> = true;
const _guestResult: Equals<Out<typeof guestResult>, GuestResult> = true;
const _migrateResult: Equals<Out<typeof migrateResult>, MigrateResult> = true;
const _migratePlanResult: Equals<Out<typeof migratePlanResult>, MigratePlanResult> = true;
const _drainGuestResult: Equals<Out<typeof drainGuestResult>, DrainGuestResult> = true;
const _drainPlacement: Equals<Out<typeof drainPlacement>, DrainPlacement> = true;
const _drainResult: Equals<Out<typeof drainResult>, DrainResult> = true;
const _drainPlanResult: Equals<Out<typeof drainPlanResult>, DrainPlanResult> = true;
const _maintenanceHaGuest: Equals<Out<typeof maintenanceHaGuest>, MaintenanceHaGuest> = true;
const _maintenanceResult: Equals<Out<typeof maintenanceResult>, MaintenanceResult> = true;
const _maintenancePlanResult: Equals<Out<typeof maintenancePlanResult>, MaintenancePlanResult> = true;
const _haGuestResult: Equals<Out<typeof haGuestResult>, HaGuestResult> = true;
const _haChangeResult: Equals<Out<typeof haChangeResult>, HaChangeResult> = true;
const _haPlanResult: Equals<Out<typeof haPlanResult>, HaPlanResult> = true;
const _downtimeBudget: Equals<Out<typeof downtimeBudget>, DowntimeBudget> = true;
const _haQuorum: Equals<Out<typeof haQuorum>, HaQuorum> = true;
const _haMaster: Equals<Out<typeof haMaster>, HaMaster> = true;
const _haFencing: Equals<Out<typeof haFencing>, HaFencing> = true;
const _haLrm: Equals<Out<typeof haLrm>, HaLrm> = true;
const _haService: Equals<Out<typeof haService>, HaService> = true;
const _haStatusResult: Equals<Out<typeof haStatusResult>, HaStatusResult> = true;
const _haBudgetResult: Equals<Out<typeof haBudgetResult>, HaBudgetResult> = true;
const _replicationJobInfo: Equals<Out<typeof replicationJobInfo>, ReplicationJobInfo> = true;
const _replicationRunResult: Equals<Out<typeof replicationRunResult>, ReplicationRunResult> = true;
const _replicationChangeResult: Equals<Out<typeof replicationChangeResult>, ReplicationChangeResult> = true;
const _replicationPlanResult: Equals<Out<typeof replicationPlanResult>, ReplicationPlanResult> = true;
const _pvesrJob: Equals<Out<typeof pvesrJob>, PvesrJob> = true;
const _replicationListResult: Equals<Out<typeof replicationListResult>, ReplicationListResult> = true;
const _replicationJobState: Equals<Out<typeof replicationJobState>, ReplicationJobState> = true;
const _replicationStatusResult: Equals<Out<typeof replicationStatusResult>, ReplicationStatusResult> = true;
const _labInfo: Equals<Out<typeof labInfo>, LabInfo> = true;
const _labNodeStatus: Equals<Out<typeof labNodeStatus>, NodeStatus> = true;
const _labStatus: Equals<Out<typeof labStatus>, LabStatus> = true;
const _envelopeSchema: Equals<Out<typeof envelopeSchema>, Envelope> = true;

// each command's result, as its function declares it
const _commands: { [K in ResultCommand]: Equals<Out<(typeof RESULT_SCHEMAS)[K]>, ResultOf<CommandFunctions[K]>> } = {
  preflight: true,
  'cluster status': true,
  'cluster create': true,
  'cluster join': true,
  'cluster remove-node': true,
  'cluster expected': true,
  'cluster teardown': true,
  'cluster restore': true,
  'cluster qdevice add': true,
  'cluster qdevice remove': true,
  migrate: true,
  'node drain': true,
  'node maintenance enable': true,
  'node maintenance disable': true,
  'ha add': true,
  'ha set': true,
  'ha remove': true,
  'ha status': true,
  'ha budget': true,
  'replication add': true,
  'replication list': true,
  'replication status': true,
  'replication remove': true,
  'replication run': true,
  'lab up': true,
  'lab down': true,
  'lab status': true,
  'lab inventory': true,
  'lab exec': true,
  'lab fault': true,
};

/** The function behind each command. */
interface CommandFunctions {
  preflight: typeof preflight;
  'cluster status': typeof clusterStatus;
  'cluster create': typeof clusterCreate;
  'cluster join': typeof clusterJoin;
  'cluster remove-node': typeof clusterRemoveNode;
  'cluster expected': typeof clusterExpected;
  'cluster teardown': typeof clusterTeardown;
  'cluster restore': typeof clusterRestore;
  'cluster qdevice add': typeof clusterQdeviceAdd;
  'cluster qdevice remove': typeof clusterQdeviceRemove;
  migrate: typeof migrate;
  'node drain': typeof nodeDrain;
  'node maintenance enable': typeof maintenanceEnable;
  'node maintenance disable': typeof maintenanceDisable;
  'ha add': typeof haAdd;
  'ha set': typeof haSet;
  'ha remove': typeof haRemove;
  'ha status': typeof haStatus;
  'ha budget': typeof haBudget;
  'replication add': typeof replicationAdd;
  'replication list': typeof replicationList;
  'replication status': typeof replicationStatus;
  'replication remove': typeof replicationRemove;
  'replication run': typeof replicationRun;
  'lab up': typeof labUpCommand;
  'lab down': typeof labDownCommand;
  'lab status': typeof labStatusCommand;
  'lab inventory': typeof labInventoryCommand;
  'lab exec': typeof labExecCommand;
  'lab fault': typeof labFaultCommand;
}
