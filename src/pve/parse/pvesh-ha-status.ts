/**
 * `pvesh get /cluster/ha/status/current --output-format json` (reference §5.5): the same entries as
 * `ha-manager status`, plus the configured (requested) state of each service.
 */
import { z } from 'zod';
import { isConfigId } from '../names.js';
import { ParseError } from './errors.js';
import {
  parseHaFencing,
  parseHaLrm,
  parseHaMaster,
  parseHaQuorum,
  parseHaService,
  type HaFencing,
  type HaLrm,
  type HaMaster,
  type HaQuorum,
  type HaService,
} from './ha-manager-status.js';
import { entryType, parseJsonText, validate, zFlag, zInt } from './json.js';

const TOOL = 'pvesh get /cluster/ha/status/current';

/** A service entry with the configuration the text format does not show. */
export interface HaServiceDetail extends HaService {
  /** raw CRM state; absent while the service is queued */
  crmState?: string;
  /** configured state: started | stopped | disabled | ignored */
  requestState?: string;
  maxRestart?: number;
  maxRelocate?: number;
  /** PVE 9 only */
  failback?: boolean;
  group?: string;
  comment?: string;
}

/** Parsed /cluster/ha/status/current. */
export interface HaStatusCurrent {
  quorum: HaQuorum & { quorate: boolean };
  master?: HaMaster & { timestamp?: number };
  fencing?: HaFencing;
  lrms: Array<HaLrm & { timestamp?: number }>;
  services: HaServiceDetail[];
}

const base = z.object({ type: z.string(), status: z.string() });
const quorumSchema = base.extend({ quorate: zFlag.optional() });
const timedSchema = base.extend({ timestamp: zInt.optional() });
const serviceSchema = base.extend({
  sid: z.string(),
  crm_state: z.string().optional(),
  request_state: z.string().optional(),
  max_restart: zInt.optional(),
  max_relocate: zInt.optional(),
  failback: zFlag.optional(),
  // the group id goes back into ha-manager arguments
  group: z.string().refine(isConfigId, 'is not a group id').optional(),
  comment: z.string().optional(),
});

/** Parse /cluster/ha/status/current; each entry's `status` text is read like the matching ha-manager status line. */
export function parseHaStatusCurrent(text: string): HaStatusCurrent {
  const doc = parseJsonText(TOOL, text);
  if (!Array.isArray(doc)) throw new ParseError(TOOL, 'expected a JSON array', text);
  let quorum: HaStatusCurrent['quorum'] | undefined;
  const out: Omit<HaStatusCurrent, 'quorum'> = { lrms: [], services: [] };
  doc.forEach((entry: unknown, i) => {
    const type = entryType(entry);
    const what = `entry ${i} (${type ?? 'no type'})`;
    if (type === 'quorum') {
      const q = validate(TOOL, quorumSchema, entry, what);
      const parsed = parseHaQuorum(q.status);
      quorum = { ...parsed, quorate: q.quorate ?? parsed.ok };
    } else if (type === 'master') {
      const m = validate(TOOL, timedSchema, entry, what);
      out.master = { ...parseHaMaster(m.status), ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}) };
    } else if (type === 'fencing') {
      out.fencing = parseHaFencing(validate(TOOL, base, entry, what).status);
    } else if (type === 'lrm') {
      const l = validate(TOOL, timedSchema, entry, what);
      out.lrms.push({ ...parseHaLrm(l.status), ...(l.timestamp !== undefined ? { timestamp: l.timestamp } : {}) });
    } else if (type === 'service') {
      const s = validate(TOOL, serviceSchema, entry, what);
      const svc = parseHaService(s.status);
      if (!svc) throw new ParseError(TOOL, `${what}: unexpected status '${s.status}'`, JSON.stringify(entry) ?? '');
      const detail: HaServiceDetail = { ...svc };
      if (s.crm_state !== undefined) detail.crmState = s.crm_state;
      if (s.request_state !== undefined) detail.requestState = s.request_state;
      if (s.max_restart !== undefined) detail.maxRestart = s.max_restart;
      if (s.max_relocate !== undefined) detail.maxRelocate = s.max_relocate;
      if (s.failback !== undefined) detail.failback = s.failback;
      if (s.group !== undefined) detail.group = s.group;
      if (s.comment !== undefined) detail.comment = s.comment;
      out.services.push(detail);
    } else if (type === undefined) {
      throw new ParseError(TOOL, `${what}: not an object with a type`, JSON.stringify(entry) ?? String(entry));
    }
  });
  if (!quorum) throw new ParseError(TOOL, 'no quorum entry', text);
  return { quorum, ...out };
}
