/**
 * category-levels: specs, the bucket code, and the property that matters:
 * the buckets of several shops, added as the coordinator adds them, decode
 * to exactly the pooled levels and subject counts where a bucket holds one
 * level, and are flagged (withheld by the key holder) where it holds more.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getQueryDefinition, rowContents, type Customer, type ShopData } from '../../analytics/index.js';
import { MAX_LEVEL_BYTES, categoryLevelsCellIntegrity, categoryLevelsInputViolation, categoryLevelsCells, categoryLevelsFields, categoryLevelsQuery, computeCategoryLevelsLocal, categoryLevelsRowScope, decodeBucket, finaliseCategoryLevels, levelBucket, parseCategoryLevelsSpec, type CategoryLevelsSpec } from '../../analytics/category-levels.js';
import { QuerySpecError } from '../../analytics/errors.js';
import { linearModelQuery } from '../../analytics/linear-model.js';
import type { ReleasedTotals } from '../../analytics/query-definition.js';
import { applyDisclosure, effectivePolicy } from '../../compliance/index.js';
import { HE_PARAM_SETS, SlotLayout } from '../../crypto/index.js';
import { withheldLines } from '../../cli/query-command.js';

const AS_OF = '2026-01-01T00:00:00Z';
const base = { kind: 'category-levels', purpose: 'marketing-analytics', data: 'customers', variable: 'brand', asOf: AS_OF };

function specError(json: unknown): QuerySpecError {
  try {
    parseCategoryLevelsSpec(json);
  } catch (err) {
    if (err instanceof QuerySpecError) return err;
    throw err;
  }
  throw new Error('expected a QuerySpecError');
}

function customer(id: string, level: string | null, consent = true): Customer {
  return { customerId: id, lifecycleStage: 'active', consentAnalytics: consent, consentMarketing: false, city: '', ageBand: '', signupUnixS: 0, extra: { brand: level } };
}

/** A shop whose customers hold the given levels (`counts[level]` customers each). */
function shopOf(shopId: string, counts: ReadonlyMap<string, number>): ShopData {
  const customers: Customer[] = [];
  for (const [level, n] of counts) for (let i = 0; i < n; i++) customers.push(customer(`${shopId}-${customers.length}`, level));
  customers.push(customer(`${shopId}-missing`, null));
  return { shopId, customers, orders: [] };
}

/** The coordinator's sum of the shops' vectors, by field name. */
function summed(spec: CategoryLevelsSpec, shops: readonly ShopData[]): Map<string, bigint> {
  const fields = categoryLevelsFields(spec);
  const total = fields.map(() => 0n);
  for (const s of shops) computeCategoryLevelsLocal(spec, s).forEach((v, i) => (total[i] = (total[i] as bigint) + v));
  return new Map(fields.map((f, i) => [f.name, total[i] as bigint]));
}

/** Every cell released, as if k were 1 and no bucket were mixed. */
function releaseAll(spec: CategoryLevelsSpec, totals: ReadonlyMap<string, bigint>): ReleasedTotals {
  const cells: Record<string, { suppressed: boolean; totals: Record<string, bigint> }> = {};
  for (const c of categoryLevelsCells(spec)) cells[c.name] = { suppressed: false, totals: Object.fromEntries(c.fields.map((f) => [f, totals.get(f) ?? 0n])) };
  return { cells };
}

describe('category-levels spec', () => {
  it('fills in defaults and round-trips', () => {
    const spec = parseCategoryLevelsSpec(base);
    expect(spec).toEqual({ ...base, buckets: 256, salt: 0 });
    expect(parseCategoryLevelsSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    expect(getQueryDefinition('category-levels').kind).toBe('category-levels');
    expect(parseCategoryLevelsSpec({ ...base, data: 'store_week', asOf: undefined, buckets: 1024, salt: 4294967295 })).toMatchObject({ data: 'store_week', buckets: 1024 });
  });

  it.each([
    [{ ...base, asOf: undefined }, 'asOf'],
    [{ ...base, data: 'orders', asOf: undefined }, 'asOf'],
    [{ ...base, data: 'store_week' }, 'asOf'],
    [{ ...base, data: 'order' }, 'data'],
    [{ ...base, variable: 'lifecycle_stage' }, 'variable'],
    [{ ...base, variable: 'Brand' }, 'variable'],
    [{ ...base, buckets: 1025 }, 'buckets'],
    [{ ...base, buckets: 1.5 }, 'buckets'],
    [{ ...base, salt: -1 }, 'salt'],
    [{ ...base, asOf: '2026-13-01T00:00:00Z' }, 'asOf'],
    [{ ...base, purpose: '' }, 'purpose'],
    [{ ...base, extra: 1 }, ''],
  ])('refuses %j naming %s', (json, path) => {
    const err = specError(json);
    expect(err.path).toBe(path);
  });

  it('reads one field (and order times for orders) under an exact row scope', () => {
    const c = parseCategoryLevelsSpec(base);
    const o = parseCategoryLevelsSpec({ ...base, data: 'orders', variable: 'channel' });
    const t = parseCategoryLevelsSpec({ ...base, data: 'store_week', asOf: undefined });
    expect(categoryLevelsQuery.inputFields(c)).toEqual(['customer.brand']);
    expect(categoryLevelsQuery.inputFields(o)).toEqual(['order.channel', 'order.ordered_at']);
    expect(categoryLevelsQuery.inputFields(t)).toEqual(['store_week.brand']);
    const scope = categoryLevelsQuery.rowScope?.(o);
    expect(scope?.order?.({ orderId: 'a', customerId: 'c', orderedUnixS: Date.parse(AS_OF) / 1000 - 1, amountCents: 1n, returned: false })).toBe(true);
    expect(scope?.order?.({ orderId: 'a', customerId: 'c', orderedUnixS: Date.parse(AS_OF) / 1000, amountCents: 1n, returned: false })).toBe(false);
    // The differencing defence can describe what it reads.
    const contents = rowContents(shopOf('s', new Map([['A', 2]])), categoryLevelsQuery.inputFields(c), categoryLevelsQuery.rowScope?.(c));
    expect(contents.fields).toEqual(['customer.brand']);
  });
});

describe('category-levels layout', () => {
  it('fits 256 buckets in one ciphertext and 1024 in four, at 28 slots a bucket', () => {
    const p = HE_PARAM_SETS['bfv-8192-t40'];
    const layout = (buckets: number) =>
      new SlotLayout(categoryLevelsFields(parseCategoryLevelsSpec({ ...base, buckets })), { plainModulus: p.derived.plainModulus, slotCount: p.polyModulusDegree, maxContributors: 100 });
    const l256 = layout(256);
    expect(l256.limbBits).toBe(32);
    expect(l256.slotsUsed).toBe(256 * 28 + 1);
    expect(l256.ciphertextCount).toBe(1);
    const l1024 = layout(1024);
    expect(l1024.ciphertextCount).toBe(4);
    console.log(`category-levels layout: 256 buckets ${l256.slotsUsed} slots in ${l256.ciphertextCount} ciphertext; 1024 buckets ${l1024.slotsUsed} slots in ${l1024.ciphertextCount}`);
  });
});

/** Random level texts: any Unicode up to 64 bytes of UTF-8, never empty. */
const levelArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => {
  const n = new TextEncoder().encode(s).length;
  return n >= 1 && n <= MAX_LEVEL_BYTES;
});

describe('category-levels buckets (property)', () => {
  it('summed over shops, a bucket of one level decodes to it and its pooled subjects; every mixed bucket is flagged', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(levelArb, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 2, max: 32 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.array(fc.array(fc.nat({ max: 4 }), { minLength: 24, maxLength: 24 }), { minLength: 5, maxLength: 5 }),
        (levels, shopCount, buckets, salt, counts) => {
          const spec = parseCategoryLevelsSpec({ ...base, buckets, salt });
          const shops = Array.from({ length: shopCount }, (_, s) => shopOf(`s${s}`, new Map(levels.map((l, i) => [l, counts[s]?.[i] ?? 0]))));
          const pooled = new Map<string, number>();
          levels.forEach((l, i) => {
            const n = counts.slice(0, shopCount).reduce((a, c) => a + (c[i] ?? 0), 0);
            if (n > 0) pooled.set(l, n);
          });
          const inBucket = new Map<number, string[]>();
          for (const l of pooled.keys()) inBucket.set(levelBucket(l, salt, buckets), [...(inBucket.get(levelBucket(l, salt, buckets)) ?? []), l]);
          const totals = summed(spec, shops);
          // Honest sums, mixed buckets included, break no relation.
          expect(categoryLevelsInputViolation(spec, totals)).toBeUndefined();
          const cells = categoryLevelsCells(spec);
          for (let b = 0; b < buckets; b++) {
            const held = inBucket.get(b) ?? [];
            const content = decodeBucket(spec, b, totals);
            if (held.length === 0) expect(content).toEqual({ t: 'empty' });
            else if (held.length === 1) expect(content).toEqual({ t: 'level', level: held[0], subjects: BigInt(pooled.get(held[0] as string) as number) });
            else expect(content.t).toBe('mixed');
            expect(categoryLevelsCellIntegrity(spec, cells[b]!, totals)).toBe(held.length < 2);
          }
          const result = finaliseCategoryLevels(spec, releaseAll(spec, totals));
          const pure = [...inBucket.values()].filter((h) => h.length === 1).map((h) => h[0] as string);
          expect(result.levels.map((l) => l.level)).toEqual([...pure].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
          for (const l of result.levels) expect(l.subjects).toBe(pooled.get(l.level));
          expect(result.withheldBuckets.collided).toBe([...inBucket.values()].filter((h) => h.length > 1).length);
          expect(result.withheldBuckets.subjects).toBe([...inBucket.values()].filter((h) => h.length > 1).flat().reduce((a, l) => a + (pooled.get(l) as number), 0));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never decodes a bucket of two levels as a level, whatever the counts (2,000 forced collisions)', () => {
    fc.assert(
      fc.property(levelArb, levelArb, fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (a, b, ca, cb) => {
        fc.pre(a !== b);
        const spec = parseCategoryLevelsSpec({ ...base, buckets: 2 });
        // One bucket in the layout for both levels: add their fields as if the hash had put them together.
        const one = summed(spec, [shopOf('x', new Map([[a, 1]]))]);
        const two = summed(spec, [shopOf('y', new Map([[b, 1]]))]);
        const ba = levelBucket(a, 0, 2);
        const bb = levelBucket(b, 0, 2);
        const mixed = new Map<string, bigint>();
        for (const [f, v] of one) {
          const m = /^bucket\.(\d+)\.(.*)$/.exec(f);
          if (m === null || Number(m[1]) !== ba) continue;
          mixed.set(`bucket.0.${m[2]}`, BigInt(ca) * v + BigInt(cb) * (two.get(`bucket.${bb}.${m[2]}`) ?? 0n));
        }
        expect(decodeBucket(spec, 0, mixed).t).toBe('mixed');
        expect(decodeBucket(spec, 1, mixed).t).toBe('mixed');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('category-levels at a shop', () => {
  it('counts distinct consented customers of orders before asOf, and rows of a table', () => {
    const spec = parseCategoryLevelsSpec({ ...base, data: 'orders', variable: 'channel', buckets: 64 });
    const t = Date.parse(AS_OF) / 1000;
    const order = (id: string, c: string, at: number, channel: string | null) => ({ orderId: id, customerId: c, orderedUnixS: at, amountCents: 100n, returned: false, extra: { channel } });
    const data: ShopData = {
      shopId: 's',
      customers: [customer('a', 'x'), customer('b', 'x'), customer('n', 'x', false)],
      orders: [order('1', 'a', t - 10, 'app'), order('2', 'a', t - 5, 'app'), order('3', 'b', t - 5, 'app'), order('4', 'b', t + 5, 'web'), order('5', 'n', t - 5, 'web'), order('6', 'b', t - 1, null)],
    };
    const totals = summed(spec, [data]);
    const app = levelBucket('app', 0, 64);
    expect(decodeBucket(spec, app, totals)).toEqual({ t: 'level', level: 'app', subjects: 2n });
    expect(totals.get('all.subjects')).toBe(2n); // web only after asOf or from a customer without consent
    const tspec = parseCategoryLevelsSpec({ ...base, data: 'store_week', asOf: undefined, buckets: 64 });
    const rows = [{ brand: 'B1' }, { brand: 'B1' }, { brand: 'B2' }, { brand: null }];
    const ttotals = summed(tspec, [{ shopId: 's', customers: [], orders: [], tables: { store_week: { rows } } }]);
    expect(decodeBucket(tspec, levelBucket('B1', 0, 64), ttotals)).toEqual({ t: 'level', level: 'B1', subjects: 2n });
  });

  it('counts distinct customers of a table of customers\' rows, and needs customerRows to say so', () => {
    const spec = parseCategoryLevelsSpec({ ...base, data: 'order_lines', variable: 'sku', asOf: undefined, customerRows: true, buckets: 64 });
    // Three lines of one customer in sku S1 are one subject, not three.
    const lines = { rows: [{ sku: 'S1' }, { sku: 'S1' }, { sku: 'S1' }, { sku: 'S1' }, { sku: 'S2' }], customerIds: ['a', 'a', 'a', 'b', 'b'] };
    const data: ShopData = { shopId: 's', customers: [customer('a', 'x'), customer('b', 'x')], orders: [], tables: { order_lines: lines } };
    const totals = summed(spec, [data]);
    expect(decodeBucket(spec, levelBucket('S1', 0, 64), totals)).toEqual({ t: 'level', level: 'S1', subjects: 2n });
    expect(categoryLevelsRowScope(spec).customer).toBeDefined();
    const unflagged = parseCategoryLevelsSpec({ ...base, data: 'order_lines', variable: 'sku', asOf: undefined, buckets: 64 });
    expect(() => computeCategoryLevelsLocal(unflagged, data)).toThrow(/customerRows/);
    expect(() => computeCategoryLevelsLocal(spec, { ...data, tables: { order_lines: { rows: lines.rows } } })).toThrow(/customerRows/);
    expect(() => parseCategoryLevelsSpec({ ...base, data: 'orders', variable: 'channel', customerRows: true })).toThrow(/customerRows/);
  });

  it('declines a level longer than 64 bytes naming the variable, never the value', () => {
    const spec = parseCategoryLevelsSpec(base);
    const secret = 'x'.repeat(65);
    let caught: unknown;
    try {
      computeCategoryLevelsLocal(spec, shopOf('s', new Map([[secret, 1]])));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as Error).message).toMatch(/variable brand/);
    expect((caught as Error).message).not.toContain(secret);
    expect(() => computeCategoryLevelsLocal(spec, { shopId: 's', customers: [{ ...customer('a', null), extra: { brand: 3 } }], orders: [] })).toThrow(/variable brand: a value is not categorical text/);
    expect(() => computeCategoryLevelsLocal(spec, { shopId: 's', customers: [{ ...customer('a', null), extra: {} }], orders: [] })).toThrow(/no column brand/);
  });
});

describe('category-levels at the key holder', () => {
  it('refuses sums no honest shops make: a level\'s bytes without subjects, a bad byte length or check, an inflated all', () => {
    const spec = parseCategoryLevelsSpec({ ...base, buckets: 8 });
    const honest = summed(spec, [shopOf('a', new Map([['Acme', 3], ['Blue', 2]])), shopOf('b', new Map([['Acme', 4]]))]);
    expect(categoryLevelsInputViolation(spec, honest)).toBeUndefined();
    const empty = [...Array(8).keys()].find((b) => honest.get(`bucket.${b}.subjects`) === 0n)!;
    const full = [...Array(8).keys()].find((b) => (honest.get(`bucket.${b}.subjects`) ?? 0n) > 0n)!;
    const tampered = (changes: Record<string, (v: bigint) => bigint>) => {
      const t = new Map(honest);
      for (const [name, f] of Object.entries(changes)) t.set(name, f(t.get(name)!));
      return categoryLevelsInputViolation(spec, t);
    };
    expect(tampered({ [`bucket.${empty}.name.0`]: () => 0x41636d65n << 32n })).toMatch(new RegExp(`^bucket\\.${empty}\\.name\\.0 is \\d+, above 2\\^64 - 1 x bucket\\.${empty}\\.subjects \\(0\\)`));
    expect(tampered({ [`bucket.${full}.bytes`]: (v) => v * 100n })).toMatch(new RegExp(`^bucket\\.${full}\\.bytes is \\d+, above 64 x`));
    expect(tampered({ [`bucket.${full}.bytes`]: () => 0n })).toMatch(new RegExp(`^bucket\\.${full}\\.bytes is 0, below bucket\\.${full}\\.subjects`));
    expect(tampered({ [`bucket.${full}.check`]: (v) => v + (1n << 40n) })).toMatch(/check is \d+, above 2\^32 - 1 x/);
    expect(tampered({ 'all.subjects': (v) => v + 1n })).toMatch(/^all\.subjects is \d+, not the buckets' subjects added up/);
    // Through the definition, as the key holder calls it.
    expect(categoryLevelsQuery.inputViolation?.(spec, honest, 2)).toBeUndefined();
  });

  const policy = effectivePolicy('p', undefined, { minMerchants: 3, minSubjects: 10, dominance: null });

  it('withholds a mixed bucket however large (LEVELS_COLLIDE), small buckets as usual, and protects them in the margin', () => {
    const spec = parseCategoryLevelsSpec({ ...base, buckets: 4 });
    const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
    const byBucket = new Map<number, string[]>();
    for (const n of names) byBucket.set(levelBucket(n, 0, 4), [...(byBucket.get(levelBucket(n, 0, 4)) ?? []), n]);
    const mixedBucket = [...byBucket].find(([, l]) => l.length >= 2)!;
    const counts = new Map<string, number>([[mixedBucket[1][0]!, 40], [mixedBucket[1][1]!, 3]]);
    const pureBuckets = [...byBucket].filter(([b]) => b !== mixedBucket[0]);
    pureBuckets.forEach(([, l], i) => counts.set(l[0]!, i === 0 ? 4 : 30));
    const totals = summed(spec, [shopOf('s', counts)]);
    const cells = categoryLevelsCells(spec);
    const definition = getQueryDefinition('category-levels');
    const failed = new Set(cells.filter((c) => !definition.cellIntegrity!(spec, c, totals)).map((c) => c.name));
    expect([...failed]).toEqual([`bucket.${mixedBucket[0]}`]);
    const outcome = applyDisclosure({
      cells,
      fields: categoryLevelsFields(spec),
      totals,
      attestedSubjects: 200,
      policy,
      margins: categoryLevelsQuery.margins?.(spec),
      integrityFailedCells: failed,
    });
    expect(outcome.suppressed.get(`bucket.${mixedBucket[0]}`)).toBe('LEVELS_COLLIDE');
    const mixedCell = outcome.cells[`bucket.${mixedBucket[0]}`]!;
    expect(mixedCell.suppressed).toBe(true);
    expect(mixedCell.suppressed && mixedCell.reasonCode).toBe('LEVELS_COLLIDE');
    expect(mixedCell.suppressed && mixedCell.reasonZh).toMatch(/salt/);
    // The small pure bucket (4) is withheld; with the mixed bucket, two withheld holding >= k: no further complement needed.
    const small = pureBuckets[0]![0];
    expect(outcome.suppressed.get(`bucket.${small}`)).toBe('FEWER_THAN_K_SUBJECTS');
    const doc = { cells: outcome.cells };
    const released: ReleasedTotals = {
      cells: Object.fromEntries(
        Object.entries(doc.cells).map(([n, c]) => [n, c.suppressed ? { suppressed: true, ...(c.reasonCode ? { reasonCode: c.reasonCode } : {}) } : { suppressed: false, totals: Object.fromEntries(Object.entries(c.totals).map(([f, v]) => [f, BigInt(v)])) }]),
      ),
    };
    const result = finaliseCategoryLevels(spec, released);
    expect(result.withheldBuckets.collided).toBe(1);
    expect(result.hint).toMatch(/another salt/);
    expect(JSON.stringify(result)).not.toContain(mixedBucket[1][1]!);
  });
});

describe('formula models point to category-levels', () => {
  it('a categorical variable without levels names the query that finds them', () => {
    expect(() =>
      linearModelQuery.parseSpec({ kind: 'linear-model', purpose: 'marketing-analytics', data: 'customers', asOf: AS_OF, formula: 'y ~ C(brand)', aggregates: { y: 'count(orders)' } }),
    ).toThrow(/levels\.brand.*category-levels query/);
  });
});

describe('the CLI lists hundreds of withheld buckets readably', () => {
  it('puts more than 12 cells of one code on one line, and keeps fewer one a line', () => {
    const reason = { en: 'few', zh: '少' };
    const withheld = [
      ...Array.from({ length: 250 }, (_, b) => ({ cell: `bucket.${b}`, reasonCode: 'FEWER_THAN_K_SUBJECTS', reason })),
      { cell: 'bucket.250', reasonCode: 'LEVELS_COLLIDE', reason },
    ];
    expect(withheldLines({ withheld })).toEqual([
      'withheld 250 cells (bucket.0, bucket.1, bucket.2, …) [FEWER_THAN_K_SUBJECTS]: few / 少',
      'withheld bucket.250 [LEVELS_COLLIDE]: few / 少',
    ]);
  });
});
