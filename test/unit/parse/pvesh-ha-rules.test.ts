import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../src/pve/parse/errors.js';
import { parseHaRules } from '../../../src/pve/parse/pvesh-ha-rules.js';

// The rules of reference §5.4's rules.cfg example, as the rules index returns them: section
// properties plus `rule`, `type`, `order` and `digest` (PVE::API2::HA::Rules).
const SAMPLE = JSON.stringify([
  { rule: 'ha-rule-vm100', type: 'node-affinity', resources: 'vm:100', nodes: 'node1', strict: 1, order: 1, digest: 'abc' },
  { rule: 'keep-separate', type: 'resource-affinity', resources: 'vm:200,ct:300', affinity: 'negative', order: 2, digest: 'abc' },
]);

describe('parseHaRules', () => {
  it('reads node-affinity and resource-affinity rules', () => {
    expect(parseHaRules(SAMPLE)).toEqual([
      { rule: 'ha-rule-vm100', type: 'node-affinity', resources: ['vm:100'], nodes: ['node1'], strict: true, disabled: false },
      { rule: 'keep-separate', type: 'resource-affinity', resources: ['vm:200', 'ct:300'], nodes: [], strict: false, disabled: false, affinity: 'negative' },
    ]);
  });

  it('reads an empty index and refuses garbage', () => {
    expect(parseHaRules('[]\n')).toEqual([]);
    expect(() => parseHaRules('{"rule":1}')).toThrow(ParseError);
    expect(() => parseHaRules('[{"type":"node-affinity"}]')).toThrow(ParseError);
    expect(() => parseHaRules('cannot index rules')).toThrow(ParseError);
  });
});
