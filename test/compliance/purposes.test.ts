import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PURPOSES, DEFAULT_PURPOSE_REGISTRY, PiaMissingError, PurposeError, PurposeFieldError, assertFieldsAllowed, assertPiaRecorded, getPurpose, parsePurposeRegistry, readPurposeRegistry, type PiaRecord } from '../../compliance/consent.js';
import { DEFAULT_PIAS, PiaRetentionError, UnknownPurposeError, assertPiaRetention, minimumPiaRetention } from '../../compliance/purposes.js';

const MARKETING = getPurpose(DEFAULT_PURPOSE_REGISTRY, 'marketing-analytics');
const clone = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('default registry', () => {
  it('has marketing-analytics and churn-modelling with PIAs, and parses from its JSON', () => {
    expect(DEFAULT_PURPOSES.map((p) => p.name)).toEqual(['marketing-analytics', 'churn-modelling']);
    expect(parsePurposeRegistry(clone(DEFAULT_PURPOSE_REGISTRY))).toEqual(DEFAULT_PURPOSE_REGISTRY);
    for (const p of DEFAULT_PURPOSES) expect(assertPiaRecorded(p, DEFAULT_PIAS, new Date('2025-06-01T00:00:00Z')).purpose).toBe(p.name);
    for (const f of ['customer.lifecycle_stage', 'order.amount', 'order.ordered_at', 'customer.age_band', 'customer.city_level']) {
      expect(MARKETING.allowedFields).toContain(f);
    }
  });
});

describe('assertFieldsAllowed', () => {
  it('accepts allowed fields', () => {
    expect(() => assertFieldsAllowed(MARKETING, ['order.amount', 'customer.lifecycle_stage'])).not.toThrow();
    expect(() => assertFieldsAllowed(MARKETING, new Set<string>())).not.toThrow();
  });

  it('refuses a field outside the allow-list naming the field and the purpose', () => {
    const e = thrown(() => assertFieldsAllowed(MARKETING, ['order.amount', 'customer.phone']));
    expect(e).toBeInstanceOf(PurposeFieldError);
    expect(e).toMatchObject({ code: 'FIELD_NOT_ALLOWED', field: 'customer.phone', purpose: 'marketing-analytics' });
    expect((e as Error).message).toContain("'customer.phone'");
    expect((e as Error).message).toContain("'marketing-analytics'");
  });

  it('refuses any field not on the list (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,8}\.[a-z_]{1,12}$/), (field) => {
        fc.pre(!MARKETING.allowedFields.includes(field));
        expect(() => assertFieldsAllowed(MARKETING, [field])).toThrow(PurposeFieldError);
      }),
    );
  });

  it('rejects bad arguments', () => {
    expect(() => assertFieldsAllowed(MARKETING, 'order.amount')).toThrow(/requestedFields/);
  });
});

describe('PIAs', () => {
  const pia = (assessedAt: string, retainUntil: string, purpose = 'marketing-analytics'): PiaRecord => ({ ...DEFAULT_PIAS[0]!, purpose, assessedAt, retainUntil });

  it('refuses retention under three years when parsing the registry', () => {
    const reg = clone(DEFAULT_PURPOSE_REGISTRY) as { pias: PiaRecord[] };
    reg.pias[0] = pia('2024-12-01T00:00:00Z', '2027-11-30T23:59:59Z');
    const e = thrown(() => parsePurposeRegistry(reg));
    expect(e).toBeInstanceOf(PiaRetentionError);
    expect(e).toMatchObject({ code: 'PIA_RETENTION_TOO_SHORT' });
    expect((e as Error).message).toContain('PIA-2024-001');
    reg.pias[0] = pia('2024-12-01T00:00:00Z', '2027-12-01T00:00:00Z');
    expect(() => parsePurposeRegistry(reg)).not.toThrow();
  });

  it('three years are calendar years, leap days included (property)', () => {
    expect(minimumPiaRetention('2024-02-29T00:00:00Z').toISOString()).toBe('2027-03-01T00:00:00.000Z');
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: 1, max: 10 * 86_400_000 }), (d, short) => {
        const min = minimumPiaRetention(d);
        expect(min.getTime() - d.getTime()).toBeGreaterThanOrEqual(3 * 365 * 86_400_000);
        expect(() => assertPiaRetention({ id: 'P', assessedAt: d.toISOString(), retainUntil: min.toISOString() })).not.toThrow();
        expect(() => assertPiaRetention({ id: 'P', assessedAt: d.toISOString(), retainUntil: new Date(min.getTime() - short).toISOString() })).toThrow(PiaRetentionError);
      }),
    );
  });

  it('assertPiaRecorded needs a PIA of the purpose assessed before the time', () => {
    const pias = [pia('2025-03-01T00:00:00Z', '2028-03-01T00:00:00Z'), pia('2025-01-01T00:00:00Z', '2028-01-01T00:00:00Z', 'churn-modelling')];
    expect(thrown(() => assertPiaRecorded(MARKETING, pias, new Date('2025-02-01T00:00:00Z')))).toBeInstanceOf(PiaMissingError);
    expect(thrown(() => assertPiaRecorded(MARKETING, [], new Date()))).toMatchObject({ code: 'PIA_MISSING', purpose: 'marketing-analytics' });
    expect(assertPiaRecorded('marketing-analytics', pias, new Date('2025-03-01T00:00:00Z')).assessedAt).toBe('2025-03-01T00:00:00Z');
    const later = pia('2025-06-01T00:00:00Z', '2028-06-01T00:00:00Z');
    expect(assertPiaRecorded(MARKETING, [...pias, { ...later, id: 'PIA-2' }], new Date('2025-07-01T00:00:00Z')).id).toBe('PIA-2');
    // Built in code, bypassing the parser: still refused.
    expect(thrown(() => assertPiaRecorded(MARKETING, [pia('2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z')], new Date('2025-07-01T00:00:00Z')))).toBeInstanceOf(PiaRetentionError);
  });
});

describe('parsePurposeRegistry', () => {
  const withPurpose = (patch: object): unknown => {
    const reg = clone(DEFAULT_PURPOSE_REGISTRY) as { purposes: object[] };
    reg.purposes[0] = { ...reg.purposes[0], ...patch };
    return reg;
  };
  const message = (json: unknown): string => {
    const e = thrown(() => parsePurposeRegistry(json));
    expect(e).toBeInstanceOf(PurposeError);
    expect(e).toMatchObject({ code: 'PURPOSE_REGISTRY_INVALID' });
    return (e as Error).message;
  };

  it.each([
    ['a direct identifier', { allowedFields: ['customer.phone'] }, /purposes\.0\.allowedFields\.0: .*direct identifier/],
    ['an unclassified field', { allowedFields: ['customer.shoe_size'] }, /not in the field classification/],
    ['a sensitive field without sensitiveAllowed', { allowedFields: ['customer.health_condition'] }, /sensitive/],
    ['sensitive PI on plain consent', { sensitiveAllowed: true }, /purposes\.0\.legalBasis: .*separate-consent/],
    ['a legitimate-interest basis (PIPL has none)', { legalBasis: 'legitimate-interest' }, /purposes\.0\.legalBasis/],
    ['a contract basis', { legalBasis: 'contract' }, /purposes\.0\.legalBasis/],
    ['a malformed name', { name: 'Marketing Analytics' }, /purposes\.0\.name/],
    ['an unknown key', { owner: 'x' }, /purposes\.0/],
  ])('refuses %s', (_name, patch, expected) => {
    expect(message(withPurpose(patch))).toMatch(expected);
  });

  it('allows sensitive fields for a separate-consent purpose that enables them', () => {
    expect(() => parsePurposeRegistry(withPurpose({ legalBasis: 'separate-consent', sensitiveAllowed: true, allowedFields: ['customer.health_condition'] }))).not.toThrow();
  });

  it('refuses duplicate purposes and PIAs of unknown purposes', () => {
    const reg = clone(DEFAULT_PURPOSE_REGISTRY) as { purposes: object[]; pias: Array<{ purpose: string }> };
    expect(message({ ...reg, purposes: [reg.purposes[0], reg.purposes[0]] })).toMatch(/defined twice/);
    reg.pias[0]!.purpose = 'loyalty-scoring';
    expect(message(reg)).toMatch(/pias\.0\.purpose/);
  });

  it('reads purposes.json naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-purposes-'));
    writeFileSync(join(dir, 'purposes.json'), JSON.stringify(DEFAULT_PURPOSE_REGISTRY));
    expect(await readPurposeRegistry(join(dir, 'purposes.json'))).toEqual(DEFAULT_PURPOSE_REGISTRY);
    writeFileSync(join(dir, 'bad.json'), '{');
    await expect(readPurposeRegistry(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: not JSON/);
  });

  it('getPurpose names the registered purposes when one is unknown', () => {
    const e = thrown(() => getPurpose(DEFAULT_PURPOSE_REGISTRY, 'loyalty-scoring'));
    expect(e).toBeInstanceOf(UnknownPurposeError);
    expect((e as Error).message).toMatch(/marketing-analytics, churn-modelling/);
  });
});
