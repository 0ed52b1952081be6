/**
 * `pvesh get /cluster/ha/rules --output-format json` (PVE 9, reference §5.4): each rule's section
 * properties plus `rule` and `digest` (PVE::API2::HA::Rules index). `resources` and `nodes` are the
 * comma-separated strings of rules.cfg.
 */
import { z } from 'zod';
import { ParseError } from './errors.js';
import { isConfigId } from '../names.js';
import { HA_SID } from './ha-config.js';
import { parseJsonText, validate, zFlag } from './json.js';

const TOOL = 'pvesh get /cluster/ha/rules';

/** One HA rule. */
export interface HaRule {
  rule: string;
  /** node-affinity | resource-affinity (newer types are kept as read) */
  type: string;
  /** SIDs, e.g. vm:100 */
  resources: string[];
  /** node-affinity: `<node>[:<prio>]` items as written */
  nodes: string[];
  strict: boolean;
  disabled: boolean;
  affinity?: string;
  comment?: string;
}

const list = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

// rule ids and resources go back into ha-manager arguments: only PVE's own formats pass (pve-configid, SIDs)
const ruleSchema = z.object({
  rule: z.string().refine(isConfigId, 'is not a rule id'),
  type: z.string().min(1),
  resources: z
    .string()
    .refine((v) => list(v).every((sid) => HA_SID.test(sid)), 'lists something that is not vm:<id> or ct:<id>')
    .optional(),
  nodes: z.string().optional(),
  strict: zFlag.optional(),
  disable: zFlag.optional(),
  affinity: z.string().optional(),
  comment: z.string().optional(),
});

/** Parse the rules index. */
export function parseHaRules(text: string): HaRule[] {
  const doc = parseJsonText(TOOL, text);
  if (!Array.isArray(doc)) throw new ParseError(TOOL, 'expected a JSON array', text);
  return doc.map((entry: unknown, i) => {
    const r = validate(TOOL, ruleSchema, entry, `rule ${i}`);
    const out: HaRule = { rule: r.rule, type: r.type, resources: list(r.resources), nodes: list(r.nodes), strict: r.strict ?? false, disabled: r.disable ?? false };
    if (r.affinity !== undefined) out.affinity = r.affinity;
    if (r.comment !== undefined) out.comment = r.comment;
    return out;
  });
}
