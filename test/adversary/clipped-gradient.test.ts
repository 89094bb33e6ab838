/**
 * One enrolled shop poisons the gradient of a logistic fit that declares a
 * gradient clip G (`featureClip: 'clip'`, `gradientClip: G`), against a
 * real cluster. The fit runs one Newton round (maxRounds 1), so its model
 * is β₁ = H⁻¹ g, and the shop leaves its Hessian and counts honest: the
 * shift of β is H⁻¹ Δg, at most ‖Δg‖ / λ_min(H) (docs/input-validity.md).
 *
 * - **Within its own rows × G.** The shop replaces its gradient by a vector
 *   of norm 0.999 · G · m (m its rows) pointing against the honest pooled
 *   gradient: released, β moves by H⁻¹ Δg with ‖Δg‖ ≤ 2 · G · m.
 * - **Beyond its rows × G, within the sum's bound.** The key holder sees
 *   only the sum, so it cannot tell one shop's part: the shop sets the
 *   pooled gradient to 0.999 · G · n along the intercept against the honest
 *   one (n all rows). Its own part is far beyond G · m, the round is
 *   released, and β moves by ‖Δg‖ ≤ G · n + ‖g‖ ≤ 2 · G · n, the most the
 *   decode-time check allows.
 * - **Beyond the sum's bound.** The same at 1.02 · G · n: the key holder
 *   refuses the round `INPUT_OUT_OF_BOUNDS` before anything is released,
 *   and the fit stops.
 * - **Without a gradient clip**, for comparison: the sum check bounds each
 *   component by maxFeatureAbs × its rows only, and the shop sets the
 *   intercept's gradient to 0.999 · F · n: released, F / G times the shift.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerFeature, FeatureRow } from '../../analytics/index.js';
import { LOGISTIC_ROUND_KIND } from '../../analytics/logistic-regression.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { SlotLayout } from '../../crypto/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { pooledRows, relErr, solve } from '../helpers/pooled-logistic.js';
import { pooledClippedSums, type Clipping } from '../helpers/pooled-logistic-clipped.js';

const FEATURES: CustomerFeature[] = ['intercept', 'orders', 'avg_order_value'];
const G = 1;
const CLIPPING: Clipping = { maxFeatureAbs: 5, clipFeatures: true, gradientClip: G };
const SCALE = 2 ** 40;

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  statusCode: string | null;
  model: { coefficients: number[] } | null;
}

/** The shop's gradient replaced by `gradient(own)`, own being its honest one (reals); every other field as it computed it. */
type Poison = (own: number[], rows: number) => number[];

async function withPoisonedGradient(poison: Poison, answer: () => Promise<void>): Promise<{ own: number[]; sent: number[]; rows: number }> {
  const encode = Object.getOwnPropertyDescriptor(SlotLayout.prototype, 'encode')!.value as SlotLayout['encode'];
  const seen: { own: number[]; sent: number[]; rows: number }[] = [];
  SlotLayout.prototype.encode = function (this: SlotLayout, values: readonly bigint[]): BigUint64Array[] {
    const names = this.fields.map((f) => f.name);
    const at = (name: string) => values[names.indexOf(name)]!;
    const own = FEATURES.map((_, j) => Number(at(`g.${j}+`) - at(`g.${j}-`)) / SCALE);
    const rows = Number(at('n'));
    const sent = poison(own, rows);
    const poisoned = [...values];
    sent.forEach((v, j) => {
      const fixed = BigInt(Math.round(Math.abs(v) * SCALE));
      poisoned[names.indexOf(`g.${j}+`)] = v > 0 ? fixed : 0n;
      poisoned[names.indexOf(`g.${j}-`)] = v < 0 ? fixed : 0n;
    });
    seen.push({ own, sent, rows });
    return encode.call(this, poisoned);
  };
  try {
    await answer();
  } finally {
    SlotLayout.prototype.encode = encode;
  }
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** The smallest eigenvalue of a symmetric positive definite matrix: 1 / the largest of its inverse, by power iteration. */
function smallestEigenvalue(h: number[][]): number {
  let v = h.map(() => 1);
  let lambda = 0;
  for (let i = 0; i < 500; i++) {
    const w = solve(h, v);
    lambda = norm(w) / norm(v);
    v = w.map((x) => x / norm(w));
  }
  return 1 / lambda;
}

describe('a shop poisoning the gradient of a logistic fit with a declared gradient clip', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];
  let train: FeatureRow[];
  let honest: { gradient: number[]; hessian: number[][] };

  beforeAll(async () => {
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 });
    shops = await makeShops(4, 'adversary-clip');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    train = await pooledRows(shops, shops.shopDirs.map((s) => s.shopId), FEATURES, 'train', 0);
    honest = pooledClippedSums(train, FEATURES.map(() => 0), CLIPPING);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  /** A one-round fit, the first shop answering through `poison`. */
  async function poisonedFit(poison: Poison, clip: { gradientClip?: number } = { gradientClip: G }) {
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', {
      kind: 'logistic-regression',
      spec: { purpose: 'churn-modelling', features: FEATURES, label: 'churning', holdoutPercent: 0, maxFeatureAbs: CLIPPING.maxFeatureAbs, featureClip: 'clip', ...clip, maxRounds: 1 },
      targetMerchants: merchants.length,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fitId = created.body.fitId;
    const [evil] = merchants;
    let evilPart: Awaited<ReturnType<typeof withPoisonedGradient>> | undefined;
    let roundId: string | undefined;
    const until = Date.now() + 240_000;
    let fit: FitView;
    for (;;) {
      fit = (await api<FitView>(cluster, 'GET', `/v1/fits/${fitId}`)).body;
      if (fit.status === 'done' || fit.status === 'failed') break;
      if (Date.now() > until) throw new Error(`fit ${fitId} still ${fit.status}`);
      for (const m of merchants) {
        for (const q of await m.openQueries()) {
          if (m.hasAnswered(q.queryId)) continue;
          roundId = q.queryId;
          if (m === evil) evilPart = await withPoisonedGradient(poison, async () => expect((await m.answer(q)).outcome).toBe('submitted'));
          else expect((await m.answer(q)).outcome).toBe('submitted');
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(evilPart, 'the shop never answered').toBeDefined();
    const round = await cluster.coordinator.store.getQuery(roundId!);
    expect(round?.kind).toBe(LOGISTIC_ROUND_KIND);
    return { fit, round, evil: evilPart! };
  }

  /** Checks a released one-round fit: β₁ = H⁻¹ (g + Δg), and the shift within ‖Δg‖ / λ_min(H). */
  function expectShift(fit: FitView, delta: readonly number[]): { shift: number; bound: number } {
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const beta = fit.model!.coefficients;
    const expected = solve(honest.hessian, honest.gradient.map((g, j) => g + delta[j]!));
    expect(Math.max(...beta.map((b, j) => relErr(b, expected[j]!)))).toBeLessThan(1e-6);
    const clean = solve(honest.hessian, honest.gradient);
    const shift = norm(beta.map((b, j) => b - clean[j]!));
    const bound = norm(delta) / smallestEigenvalue(honest.hessian);
    expect(shift).toBeLessThanOrEqual(bound * (1 + 1e-9));
    return { shift, bound };
  }

  it('within its own rows x G: released, and β moves by H⁻¹ Δg, at most 2 G m / λ_min(H)', async () => {
    const against = honest.gradient.map((g) => -g / norm(honest.gradient));
    const { fit, round, evil } = await poisonedFit((_, rows) => against.map((u) => 0.999 * G * rows * u));
    expect(round?.status).toBe('released');
    expect(norm(evil.sent)).toBeLessThanOrEqual(G * evil.rows);
    const delta = evil.sent.map((s, j) => s - evil.own[j]!);
    expect(norm(delta)).toBeLessThanOrEqual(2 * G * evil.rows);
    const { shift, bound } = expectShift(fit, delta);
    console.log(`clipped gradient, within the shop's own bound: |Δg| ${norm(delta).toFixed(1)} <= 2 G m = ${2 * G * evil.rows}; |Δβ| ${shift.toFixed(4)} <= ${bound.toFixed(4)} (2 G m / λ_min(H) = ${(2 * G * evil.rows / smallestEigenvalue(honest.hessian)).toFixed(4)})`);
  }, 300_000);

  it('beyond its own rows x G but within G x all rows: the sum check cannot tell, β moves by at most 2 G n / λ_min(H)', async () => {
    const n = train.length;
    const target = [-Math.sign(honest.gradient[0]!) * 0.999 * G * n, 0, 0];
    const { fit, round, evil } = await poisonedFit((own) => target.map((t, j) => t - (honest.gradient[j]! - own[j]!)));
    expect(round?.status).toBe('released');
    expect(norm(evil.sent)).toBeGreaterThan(G * evil.rows);
    const delta = target.map((t, j) => t - honest.gradient[j]!);
    expect(norm(delta)).toBeLessThanOrEqual(2 * G * n);
    const { shift, bound } = expectShift(fit, delta);
    console.log(`clipped gradient, the most the sum check allows: the shop sent |g| ${norm(evil.sent).toFixed(1)} for its ${evil.rows} rows (G m = ${G * evil.rows}); |Δg| ${norm(delta).toFixed(1)} <= 2 G n = ${2 * G * n}; |Δβ| ${shift.toFixed(4)} <= ${bound.toFixed(4)}`);
  }, 300_000);

  it('beyond G x all rows: refused INPUT_OUT_OF_BOUNDS before release, and the fit stops', async () => {
    const n = train.length;
    const target = [-Math.sign(honest.gradient[0]!) * 1.02 * G * n, 0, 0];
    const { fit, round } = await poisonedFit((own) => target.map((t, j) => t - (honest.gradient[j]! - own[j]!)));
    expect([round?.status, round?.statusCode]).toEqual(['failed', 'INPUT_OUT_OF_BOUNDS']);
    expect(round?.statusReason).toMatch(/above gradientClip x/);
    expect(fit.status).toBe('failed');
    expect(fit.statusCode).toBe('INPUT_OUT_OF_BOUNDS');
    expect(fit.model).toBeNull();
  }, 300_000);

  it('without a gradient clip, the sum check allows maxFeatureAbs x the rows per component: F / G times the shift', async () => {
    // The same rows and clipped features, so the same honest sums at β = 0 as long as no row's gradient reached G.
    const unclipped = pooledClippedSums(train, FEATURES.map(() => 0), { ...CLIPPING, gradientClip: undefined });
    const n = train.length;
    const target = [-Math.sign(unclipped.gradient[0]!) * 0.999 * CLIPPING.maxFeatureAbs * n, 0, 0];
    const { fit, round } = await poisonedFit((own) => target.map((t, j) => t - (unclipped.gradient[j]! - own[j]!)), {});
    expect(round?.status).toBe('released');
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const delta = target.map((t, j) => t - unclipped.gradient[j]!);
    expect(norm(delta)).toBeGreaterThan(G * n * 2);
    const beta = fit.model!.coefficients;
    const expected = solve(unclipped.hessian, unclipped.gradient.map((g, j) => g + delta[j]!));
    expect(Math.max(...beta.map((b, j) => relErr(b, expected[j]!)))).toBeLessThan(1e-6);
    const clean = solve(unclipped.hessian, unclipped.gradient);
    const shift = norm(beta.map((b, j) => b - clean[j]!));
    console.log(`unclipped gradient, the most the sum check allows along the intercept: |Δg| ${norm(delta).toFixed(1)} (F n = ${CLIPPING.maxFeatureAbs * n}); |Δβ| ${shift.toFixed(4)} <= ${(norm(delta) / smallestEigenvalue(unclipped.hessian)).toFixed(4)}`);
  }, 300_000);
});
