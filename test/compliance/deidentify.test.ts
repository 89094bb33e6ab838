import { mkdtempSync, chmodSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FIELD_CLASSIFICATION, generaliseAge, generaliseCity, loadOrCreatePseudonymKey, pseudonymise } from '../../compliance/consent.js';
import { AGE_BANDS, CITY_LEVELS, DeidentificationError, classifyField, deidentifyCustomer, parseFieldClassification } from '../../compliance/deidentify.js';
import { REGIONS } from '../../synth/people.js';

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const customerId = fc.string({ minLength: 1, maxLength: 40 });

describe('pseudonymise', () => {
  it('is hex HMAC-SHA-256 of the id under the key', () => {
    const key = new Uint8Array(32).fill(1);
    expect(pseudonymise('C-01-000001', key)).toBe(createHmac('sha256', key).update('C-01-000001').digest('hex'));
  });

  it('is deterministic per key (property)', () => {
    fc.assert(fc.property(customerId, key32, (id, key) => pseudonymise(id, key) === pseudonymise(id, Uint8Array.from(key))));
  });

  it('differs across keys and across ids (property)', () => {
    fc.assert(
      fc.property(customerId, key32, key32, (id, k1, k2) => {
        fc.pre(Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0);
        expect(pseudonymise(id, k1)).not.toBe(pseudonymise(id, k2));
      }),
    );
    fc.assert(
      fc.property(customerId, customerId, key32, (a, b, key) => {
        fc.pre(a !== b);
        expect(pseudonymise(a, key)).not.toBe(pseudonymise(b, key));
      }),
    );
  });

  it('never contains the id (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^C-\d{2}-\d{6}$/), key32, (id, key) => {
        const p = pseudonymise(id, key);
        expect(p).toMatch(/^[0-9a-f]{64}$/);
        expect(p.includes(id)).toBe(false);
        expect(p.includes(id.replace(/\D/g, ''))).toBe(false);
      }),
    );
  });

  it('rejects bad arguments naming them', () => {
    expect(() => pseudonymise('', new Uint8Array(32))).toThrow(/customerId/);
    expect(() => pseudonymise('a', new Uint8Array(16))).toThrow(RangeError);
    expect(() => pseudonymise('a', 'k' as unknown as Uint8Array)).toThrow(/key/);
  });
});

describe('loadOrCreatePseudonymKey', () => {
  it('creates a 0600 key once and reads the same key back', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'fedmart-key-')), 'pseudonym.key');
    const a = await loadOrCreatePseudonymKey(path);
    expect(a).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(await loadOrCreatePseudonymKey(path)).toEqual(a);
    const [x, y] = await Promise.all([loadOrCreatePseudonymKey(`${path}.2`), loadOrCreatePseudonymKey(`${path}.2`)]);
    expect(x).toEqual(y);
  });

  it('gives every one of many concurrent starters the same whole key, and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-key-'));
    for (let round = 0; round < 20; round++) {
      const path = join(dir, `k${round}.key`);
      const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreatePseudonymKey(path)));
      for (const k of keys) expect(k).toEqual(keys[0]);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a key readable by others, a malformed key and a symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-key-'));
    const open = join(dir, 'open.key');
    writeFileSync(open, `${'ab'.repeat(32)}\n`);
    chmodSync(open, 0o644);
    await expect(loadOrCreatePseudonymKey(open)).rejects.toMatchObject({ code: 'PSEUDONYM_KEY_PERMISSIONS' });
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'not hex\n', { mode: 0o600 });
    await expect(loadOrCreatePseudonymKey(bad)).rejects.toMatchObject({ code: 'PSEUDONYM_KEY_INVALID' });
    const link = join(dir, 'link.key');
    symlinkSync(bad, link);
    await expect(loadOrCreatePseudonymKey(link)).rejects.toBeInstanceOf(DeidentificationError);
  });
});

describe('generalisation', () => {
  it('bands ages at the stated boundaries', () => {
    expect([0, 17, 18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 150].map(generaliseAge)).toEqual([
      '<18', '<18', '18-24', '18-24', '25-34', '25-34', '35-44', '35-44', '45-54', '45-54', '55-64', '55-64', '65+', '65+',
    ]);
    expect(() => generaliseAge(-1)).toThrow(RangeError);
    expect(() => generaliseAge(30.5)).toThrow(TypeError);
  });

  it('is monotone in age (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 150 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(AGE_BANDS.indexOf(generaliseAge(lo))).toBeLessThanOrEqual(AGE_BANDS.indexOf(generaliseAge(hi)));
      }),
    );
  });

  it('maps every synth city to a known tier, tier-1 cities first', () => {
    for (const city of Object.values(REGIONS).flat()) expect(CITY_LEVELS.slice(0, 3)).toContain(generaliseCity(city));
    expect(['北京', '上海', '广州', '深圳'].map(generaliseCity)).toEqual(['tier-1', 'tier-1', 'tier-1', 'tier-1']);
    expect(generaliseCity('杭州市')).toBe('new-tier-1');
    expect(generaliseCity('Hangzhou')).toBe('new-tier-1');
    expect(generaliseCity('拉萨')).toBe('other');
  });

  it('is a coarsening: always a known level, equal inputs equal outputs (property)', () => {
    fc.assert(
      fc.property(fc.string(), (city) => {
        expect(CITY_LEVELS).toContain(generaliseCity(city));
        expect(generaliseCity(city)).toBe(generaliseCity(` ${city} `.trim()));
      }),
    );
  });
});

describe('field classification', () => {
  it('classifies the standard export as the design says', () => {
    for (const f of ['name', 'phone', 'address', 'id_number', 'device_id']) expect(classifyField(`customer.${f}`)?.class, f).toBe('direct-identifier');
    expect(classifyField('customer.age')).toMatchObject({ class: 'quasi-identifier', generalise: 'age-band' });
    expect(classifyField('customer.city')).toMatchObject({ class: 'quasi-identifier', generalise: 'city-level' });
    expect(classifyField('customer.health_condition')?.class).toBe('sensitive');
    expect(classifyField('customer.religion')?.class).toBe('sensitive');
    expect(classifyField('order.amount')?.class).toBe('general');
    expect(DEFAULT_FIELD_CLASSIFICATION.fields.some((f) => f.grade === 'core')).toBe(false);
    expect(parseFieldClassification(JSON.parse(JSON.stringify(DEFAULT_FIELD_CLASSIFICATION)))).toEqual(DEFAULT_FIELD_CLASSIFICATION);
  });

  it('rejects malformed configuration naming the path', () => {
    const bad = (fields: unknown): string => {
      try {
        parseFieldClassification({ version: 1, fields });
      } catch (e) {
        expect(e).toMatchObject({ code: 'FIELD_CLASSIFICATION_INVALID' });
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(bad([{ field: 'customer.age', class: 'general', grade: 'general', category: 'x', generalise: 'age-band' }])).toMatch(/fields\.0\.generalise/);
    expect(bad([{ field: 'age', class: 'general', grade: 'general', category: 'x' }])).toMatch(/fields\.0\.field/);
    expect(bad([{ field: 'customer.age', class: 'secret', grade: 'general', category: 'x' }])).toMatch(/fields\.0\.class/);
    const dup = { field: 'customer.age', class: 'general', grade: 'general', category: 'x' };
    expect(bad([dup, dup])).toMatch(/classified twice/);
  });
});

describe('deidentifyCustomer', () => {
  const key = new Uint8Array(32).fill(9);
  const row = {
    customer_id: 'C-01-000042',
    name: '王芳',
    phone: '13800138000',
    city: '杭州',
    age: '31',
    signup_at: '2025-01-01T00:00:00Z',
    lifecycle_stage: 'active',
    health_condition: 'diabetes',
    favourite_colour: 'blue',
  };

  it('drops direct identifiers, unknown and sensitive columns, generalises quasi-identifiers', () => {
    const d = deidentifyCustomer(row, { pseudonymKey: key });
    expect(d.subjectPseudonym).toBe(pseudonymise('C-01-000042', key));
    expect(d.fields).toEqual({ city: 'new-tier-1', age: '25-34', signup_at: '2025-01-01T00:00:00Z', lifecycle_stage: 'active' });
    expect(d.dropped).toEqual(['customer_id', 'favourite_colour', 'health_condition', 'name', 'phone']);
    expect(JSON.stringify(d)).not.toMatch(/王芳|13800138000|C-01-000042/);
  });

  it('keeps sensitive fields only when asked', () => {
    expect(deidentifyCustomer(row, { pseudonymKey: key, keepSensitive: true }).fields.health_condition).toBe('diabetes');
  });

  it('never outputs a direct identifier for any row (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.string(), fc.integer({ min: 0, max: 120 }), (id, name, phone, age) => {
        const d = deidentifyCustomer({ customer_id: id, name, phone, age, id_number: 'X', device_id: 'Y', address: 'Z' }, { pseudonymKey: key });
        expect(Object.keys(d.fields)).toEqual(['age']);
        expect(d.fields.age).toBe(generaliseAge(age));
      }),
    );
  });

  it('rejects a row without an id', () => {
    expect(() => deidentifyCustomer({ name: 'x' }, { pseudonymKey: key })).toThrow(/row\.customer_id/);
  });
});
