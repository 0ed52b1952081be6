/** The commands whose `--json` result has a schema (no zod here: shell completion and `pvx schema --list` read it). */

/** Every command that prints a `--json` envelope with a `result`, by its command path. */
export const RESULT_COMMANDS = [
  'preflight',
  'cluster status',
  'cluster create',
  'cluster join',
  'cluster remove-node',
  'cluster expected',
  'cluster teardown',
  'cluster restore',
  'cluster qdevice add',
  'cluster qdevice remove',
  'migrate',
  'node drain',
  'node maintenance enable',
  'node maintenance disable',
  'ha add',
  'ha set',
  'ha remove',
  'ha status',
  'ha budget',
  'replication add',
  'replication list',
  'replication status',
  'replication remove',
  'replication run',
  'lab up',
  'lab down',
  'lab status',
  'lab inventory',
  'lab exec',
  'lab fault',
] as const;

/** One of RESULT_COMMANDS. */
export type ResultCommand = (typeof RESULT_COMMANDS)[number];

/** Whether `name` is one of RESULT_COMMANDS. */
export function isResultCommand(name: string): name is ResultCommand {
  return (RESULT_COMMANDS as readonly string[]).includes(name);
}

/** The file of a command's schema in the package's schemas/ folder (`cluster status` → cluster-status.json). */
export function schemaFileName(name: ResultCommand | 'envelope'): string {
  return `${name.replace(/ /g, '-')}.json`;
}
