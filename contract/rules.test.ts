// The rule catalogue is well formed: stable ids, every `reference` rule advisory and only those,
// prerequisites that exist and never loop, and every sandbox fault naming a rule of it.
import { describe, expect, it } from 'vitest';
import { FAULTS } from '../sandbox/faults.ts';
import { RULES, prerequisites, ruleById, type RuleDefinition } from './rules.ts';

describe('rules', () => {
  it('ids are unique and `area.name`', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+\.[a-z0-9-]+$/);
  });
  it('a reference rule is advisory, and an advisory rule is a reference rule', () => {
    for (const r of RULES) expect(r.source === 'reference', r.id).toBe(r.severity === 'advisory');
  });
  it('prerequisites name rules of the catalogue and never lead back to the rule itself', () => {
    for (const r of RULES as readonly RuleDefinition[]) {
      for (const p of r.after ?? []) expect(() => ruleById(p), `${r.id} after ${p}`).not.toThrow();
      expect(prerequisites(r.id).has(r.id), `${r.id} comes after itself`).toBe(false);
    }
  });
  it('every sandbox fault breaks a rule of the catalogue, and every rule but the ones checked only by the suite itself has one', () => {
    const ids = new Set<string>(RULES.map((r) => r.id));
    for (const f of FAULTS) expect(ids.has(f.rule), `${f.name} → ${f.rule}`).toBe(true);
    const broken = new Set(FAULTS.map((f) => f.rule));
    expect(RULES.filter((r) => !broken.has(r.id)).map((r) => r.id)).toEqual([]);
  });
});
