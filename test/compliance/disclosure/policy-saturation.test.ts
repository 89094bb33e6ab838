/**
 * The saturation limit of models in disclosure policies. The effective
 * limit is the lower of the key holder's (0.2 when it sets none) and the
 * purpose's, a purpose without one getting the key holder's; raising it is
 * a loosening; a stored policy from before the member existed reads as 0.2,
 * and a stored limit outside (0, 1] is refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_SATURATION, effectivePolicy, loosening, policyFromJson, policyToJson, type DisclosureFloors, type EffectivePolicy } from '../../../compliance/index.js';

const floors = (maxSaturation?: number): DisclosureFloors => ({ minMerchants: 3, minSubjects: 10, dominance: null, ...(maxSaturation === undefined ? {} : { maxSaturation }) });
const block = (maxSaturation?: number) => (maxSaturation === undefined ? undefined : { mode: 'exact' as const, maxSaturation });

describe('effectivePolicy: maxSaturation', () => {
  it.each<[number | undefined, number | undefined, number]>([
    [undefined, undefined, 0.2],
    [undefined, 0.1, 0.1],
    [undefined, 0.5, 0.2],
    [0.2, 0.1, 0.1],
    [0.1, 0.3, 0.1],
    [0.1, undefined, 0.1],
    [0.5, undefined, 0.5],
    [0.5, 0.3, 0.3],
    [1, undefined, 1],
    [0.3, 0.3, 0.3],
  ])('key holder %s, purpose %s: %s', (floor, purpose, expected) => {
    expect(effectivePolicy('p', block(purpose), floors(floor)).maxSaturation).toBe(expected);
  });

  it('is the lower of the key holder limit (default 0.2) and the purpose limit (absent: the key holder limit) (property)', () => {
    const ratio = fc.option(fc.integer({ min: 1, max: 100 }).map((i) => i / 100), { nil: undefined });
    fc.assert(
      fc.property(ratio, ratio, fc.boolean(), (floor, purpose, dp) => {
        const disclosure = dp
          ? { mode: 'dp' as const, mechanism: 'discrete-laplace' as const, rhoPerQuery: 0.1, totalRho: 1, ...(purpose === undefined ? {} : { maxSaturation: purpose }) }
          : block(purpose);
        const holder = floor ?? DEFAULT_MAX_SATURATION;
        const expected = purpose === undefined ? holder : purpose < holder ? purpose : holder;
        expect(effectivePolicy('p', disclosure, floors(floor)).maxSaturation).toBe(expected);
      }),
      { numRuns: 150 },
    );
  });

  it.each([0, -0.1, 1.01, '0.2'])('refuses a purpose limit of %j, naming the member', (v) => {
    expect(() => effectivePolicy('promo', { mode: 'exact', maxSaturation: v }, floors())).toThrow(expect.objectContaining({ code: 'DISCLOSURE_POLICY_INVALID', message: expect.stringContaining('disclosure.maxSaturation') }));
  });
});

describe('loosening and stored policies: maxSaturation', () => {
  const at = (maxSaturation: number): EffectivePolicy => ({ ...effectivePolicy('p', undefined, floors()), maxSaturation });

  it.each<[number, number, string | undefined]>([
    [0.2, 0.3, 'maxSaturation 0.2 -> 0.3'],
    [0.1, 1, 'maxSaturation 0.1 -> 1'],
    [0.2, 0.2, undefined],
    [0.2, 0.1, undefined],
  ])('from %s to %s: %s', (before, after, reported) => {
    expect(loosening(at(before), at(after))).toBe(reported);
  });

  it('reports a raised limit the key holder would adopt from a raised floor', () => {
    expect(loosening(effectivePolicy('p', undefined, floors()), effectivePolicy('p', undefined, floors(0.4)))).toBe('maxSaturation 0.2 -> 0.4');
    expect(loosening(effectivePolicy('p', undefined, floors(0.4)), effectivePolicy('p', block(0.1), floors(0.4)))).toBeUndefined();
  });

  it('reads a stored policy without the member as 0.2, and round-trips a stored limit', () => {
    const stored = policyToJson(at(0.15)) as Record<string, unknown>;
    expect(stored.maxSaturation).toBe(0.15);
    expect(policyFromJson(stored, 'policy p').maxSaturation).toBe(0.15);
    expect(policyFromJson(JSON.parse(JSON.stringify(stored)), 'policy p')).toEqual(at(0.15));
    const { maxSaturation: _, ...older } = stored;
    expect(policyFromJson(older, 'policy p')).toEqual(at(0.2));
  });

  it.each([0, 1.5, null, '0.2'])('refuses a stored limit of %j as corrupt state, naming the member', (v) => {
    const stored = { ...(policyToJson(at(0.2)) as Record<string, unknown>), maxSaturation: v };
    expect(() => policyFromJson(stored, 'policy p')).toThrow(expect.objectContaining({ code: 'DISCLOSURE_STATE_CORRUPT', message: expect.stringContaining('policy p maxSaturation') }));
  });
});
