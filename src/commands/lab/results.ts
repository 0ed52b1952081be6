/** The JSON contract of `pvx lab …`: the lab's own result types, named here so the product reaches the lab only through commands/lab. */
export type { LabInfo, LabStatus, NodeStatus } from '../../lab/index.js';
