/** The lab API used by `pvx lab …` and the end-to-end tests. */
export { checkLabHost, installLabDeps, LAB_PACKAGES, type HostCheck, type MissingThing } from './host-check.js';
export { labUp, type LabInfo, type LabUpOptions } from './up.js';
export { DEFAULT_WATCHDOG_TIMEOUT_S, validateWatchdogTimeout } from './watchdog.js';
export { labDown, labRemnants, type LabDownOptions, type LabRemnants } from './down.js';
export { labStatus, type LabStatus, type NodeStatus } from './status.js';
export { labExec, type LabExecOptions } from './exec.js';
export { setSshControlDirs } from './ssh-masters.js';
export { checkFaultArg, labFault, LAB_FAULTS, type LabFault } from './faults.js';
export { DEFAULT_LAB, labPaths, labsRoot, type LabPaths } from './layout.js';
export { MAX_NODES, nodeIndex, validateLabName, validateNodeCount, validatePveVersion, parseSubnet } from './names.js';
