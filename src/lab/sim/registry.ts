/** Every simulated tool, by the name it is installed as on a lab node. */
import type { SimTool } from './types.js';

// Each entry loads its module only when that tool runs, so one tool's start-up stays small.
// Add entries; never rename one (installed wrappers call these names).
export const SIM_TOOLS: Record<string, () => Promise<SimTool>> = {
  systemctl: async () => (await import('./systemctl.js')).systemctl,
  timedatectl: async () => (await import('./timedatectl.js')).timedatectl,
  pveversion: async () => (await import('./tools/pveversion.js')).pveversion,
  pmxcfs: async () => (await import('./tools/pmxcfs.js')).pmxcfs,
  pvecm: async () => (await import('./tools/pvecm.js')).pvecm,
  qm: async () => (await import('./tools/guest-cli.js')).qm,
  pct: async () => (await import('./tools/guest-cli.js')).pct,
  'ha-manager': async () => (await import('./tools/ha-manager.js')).haManager,
  pvesh: async () => (await import('./tools/pvesh.js')).pvesh,
  pvesm: async () => (await import('./tools/pvesm.js')).pvesm,
  pvesr: async () => (await import('./tools/pvesr.js')).pvesr,
  'pve-ha-crm': async () => (await import('./tools/pve-ha.js')).pveHaCrm,
  'pve-ha-lrm': async () => (await import('./tools/pve-ha.js')).pveHaLrm,
  pvescheduler: async () => (await import('./tools/pvescheduler.js')).pvescheduler,
  zfs: async () => (await import('./tools/zfs.js')).zfs,
  'dpkg-query': async () => (await import('./tools/dpkg-query.js')).dpkgQuery,
};
