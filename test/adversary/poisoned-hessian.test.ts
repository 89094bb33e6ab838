/**
 * One enrolled shop poisons a logistic fit's Hessian in round 2, in two
 * ways, against a real cluster.
 *
 * - **A negative diagonal.** The intercept's diagonal entry travels as a
 *   `-` part equal to the field's declared maximum: within every field's
 *   bound, so the decode-time bounds let it through, but a diagonal entry
 *   Σ p(1 − p) x² is never negative for honest shops. The key holder's
 *   relations (analytics/input-relations.ts) refuse the round
 *   `INPUT_OUT_OF_BOUNDS` before anything is released, and the fit stops.
 * - **An indefinite matrix that keeps every relation.** The shop sends
 *   D = s · M with M = [[1, .9, .9], [.9, 1, −.9], [.9, −.9, 1]] (its
 *   eigenvalue −0.8 along (1, −1, −1)), scaled within the per-row bounds
 *   of its own supports: every diagonal is positive, every 2 × 2 minor
 *   holds, but D dominates the honest Hessian and the pooled matrix is
 *   indefinite. It is released, and the fit runner refuses to step:
 *   `HESSIAN_NOT_POSITIVE_DEFINITE`, no model stored, β as before the round.
 *
 * Either way the fit's end is audited (`fit.failed`) and no model is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerFeature } from '../../analytics/index.js';
import { LOGISTIC_ROUND_KIND, type LogisticState } from '../../analytics/logistic-regression.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { HESSIAN_NOT_POSITIVE_DEFINITE } from '../../coordinator/fit-runner.js';
import { SlotLayout } from '../../crypto/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';

const FEATURES: CustomerFeature[] = ['intercept', 'orders', 'avg_order_value'];
const POISONED_ROUND = 2;
const MAX_FEATURE_ABS = 1000; // the logistic spec's default maxFeatureAbs

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  statusCode: string | null;
  round: number;
  model: unknown;
}

/**
 * Runs `answer` with the shop's encoder rewritten by `poison`, which gets
 * the shop's honest values by field name and returns the fields to change.
 * The honest encoder still checks every value against its field's bound,
 * so the poisoned contribution is one an honest shop's layout accepts.
 */
async function withPoisonedRound(poison: (values: ReadonlyMap<string, bigint>, max: (name: string) => bigint) => Record<string, bigint>, answer: () => Promise<void>): Promise<void> {
  const encode = Object.getOwnPropertyDescriptor(SlotLayout.prototype, 'encode')!.value as SlotLayout['encode'];
  SlotLayout.prototype.encode = function (this: SlotLayout, values: readonly bigint[]): BigUint64Array[] {
    const names = this.fields.map((f) => f.name);
    const byName = new Map(names.map((n, i) => [n, values[i]!]));
    const changes = poison(byName, (name) => this.fields[names.indexOf(name)]!.max);
    const poisoned = [...values];
    for (const [name, v] of Object.entries(changes)) {
      const at = names.indexOf(name);
      if (at < 0) throw new Error(`the layout has no field ${name}`);
      poisoned[at] = v;
    }
    return encode.call(this, poisoned);
  };
  try {
    await answer();
  } finally {
    SlotLayout.prototype.encode = encode;
  }
}

/** The intercept's diagonal as a large negative number: `-` part at its field's maximum. */
const negativeDiagonal = (_: ReadonlyMap<string, bigint>, max: (name: string) => bigint): Record<string, bigint> => ({ 'h.0.0+': 0n, 'h.0.0-': max('h.0.0-') });

/**
 * D = s · M over the three coefficients, with s half of what the shop's
 * smallest support allows a diagonal entry (maxFeatureAbs²/4 per row, at
 * scale 2^40): every entry of D within the per-row bounds of every pair,
 * every 2 × 2 minor of D positive, D itself indefinite and far above an
 * honest Hessian's scale.
 */
function indefinite(values: ReadonlyMap<string, bigint>): Record<string, bigint> {
  const rows = [values.get('n')!, values.get('nz(orders)')!, values.get('nz(avg_order_value)')!].reduce((a, b) => (a < b ? a : b));
  const s = ((BigInt(MAX_FEATURE_ABS * MAX_FEATURE_ABS / 4) * rows) << 40n) / 2n;
  const M = [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]];
  const out: Record<string, bigint> = {};
  for (let j = 0; j < 3; j++) {
    for (let k = j; k < 3; k++) {
      const v = (s * BigInt(Math.round(M[j]![k]! * 10))) / 10n;
      out[`h.${j}.${k}+`] = v > 0n ? v : 0n;
      out[`h.${j}.${k}-`] = v < 0n ? -v : 0n;
    }
  }
  return out;
}

/** The round number of an open fit round, read from its own spec. */
function roundOf(specJson: string): number {
  return (JSON.parse(specJson) as { round?: number }).round ?? Number.POSITIVE_INFINITY;
}

describe('a shop poisoning a logistic fit\'s Hessian', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[];

  beforeAll(async () => {
    cluster = await startCluster({ minMerchants: 3, minSubjects: 10 });
    shops = await makeShops(4, 'adversary-hessian');
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
  }, 120_000);

  afterAll(async () => {
    for (const m of merchants ?? []) m.close();
    await cluster?.close();
  });

  /** Runs a fit to its end, the first shop answering round 2 through `poison`. */
  async function poisonedFit(poison: Parameters<typeof withPoisonedRound>[0]) {
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', {
      kind: 'logistic-regression',
      spec: { purpose: 'churn-modelling', features: FEATURES, label: 'churning', holdoutPercent: 0 },
      targetMerchants: merchants.length,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const fitId = created.body.fitId;
    const [evil] = merchants;
    let stateBefore: LogisticState | undefined;
    let poisonedQueryId: string | undefined;

    const until = Date.now() + 240_000;
    let fit: FitView;
    for (;;) {
      fit = (await api<FitView>(cluster, 'GET', `/v1/fits/${fitId}`)).body;
      if (fit.status === 'done' || fit.status === 'failed') break;
      if (Date.now() > until) throw new Error(`fit ${fitId} still ${fit.status} at round ${fit.round}`);
      for (const m of merchants) {
        for (const q of await m.openQueries()) {
          if (m.hasAnswered(q.queryId)) continue;
          if (roundOf(q.specJson) === POISONED_ROUND) {
            // Round 2 is published after the state moved past round 1: this is the state the round must not change.
            stateBefore ??= (await cluster.coordinator.fits.get(fitId))!.state as LogisticState;
            poisonedQueryId = q.queryId;
          }
          if (m === evil && roundOf(q.specJson) === POISONED_ROUND) {
            await withPoisonedRound(poison, async () => expect((await m.answer(q)).outcome).toBe('submitted'));
          } else {
            await m.answer(q);
          }
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(stateBefore, 'round 2 was never published').toBeDefined();
    expect(stateBefore!.beta.some((b) => b !== 0)).toBe(true);
    expect(await cluster.coordinator.store.contributionCount(poisonedQueryId!)).toBe(merchants.length);
    expect(fit.status).toBe('failed');
    expect(fit.model).toBeNull();

    // β and the history are those before the poisoned round; no later round was published and no model stored.
    const after = (await cluster.coordinator.fits.get(fitId))!;
    expect(after.state).toEqual(stateBefore);
    expect(after.round).toBe(POISONED_ROUND);
    expect(after.model).toBeNull();
    const rounds = (await cluster.coordinator.store.listQueries()).filter((q) => q.fitId === fitId);
    expect(rounds.map((q) => q.fitRound).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([1, POISONED_ROUND]);
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const ofFit = (e: { details: unknown }) => (e.details as { fitId?: string }).fitId === fitId;
    expect(entries.some((e) => e.type === 'model.stored' && ofFit(e))).toBe(false);
    const released = entries.some((e) => e.type === 'release.stored' && (e.details as { queryId?: string }).queryId === poisonedQueryId);
    const failed = entries.filter((e) => e.type === 'fit.failed' && ofFit(e)).map((e) => e.details);
    return { fit, poisoned: await cluster.coordinator.store.getQuery(poisonedQueryId!), released, failed };
  }

  it('a negative diagonal is refused by the key holder (INPUT_OUT_OF_BOUNDS): nothing of the round is released and the fit stops', async () => {
    const { fit, poisoned, released, failed } = await poisonedFit(negativeDiagonal);
    expect([poisoned?.kind, poisoned?.status, poisoned?.statusCode ?? null]).toEqual([LOGISTIC_ROUND_KIND, 'failed', 'INPUT_OUT_OF_BOUNDS']);
    expect(poisoned?.statusReason).toMatch(/h\.0\.0 is -\d+, below 0/);
    expect(released).toBe(false);
    expect(fit.statusCode).toBe('INPUT_OUT_OF_BOUNDS');
    expect(fit.statusReason).toMatch(/^round 2 failed: INPUT_OUT_OF_BOUNDS/);
    expect(failed).toEqual([{ fitId: fit.fitId, kind: 'logistic-regression', purpose: 'churn-modelling', round: POISONED_ROUND, code: 'INPUT_OUT_OF_BOUNDS' }]);
  }, 300_000);

  it('an indefinite matrix within every relation is released to the fit runner, which takes no step (HESSIAN_NOT_POSITIVE_DEFINITE)', async () => {
    const { fit, poisoned, released, failed } = await poisonedFit(indefinite);
    // Every value was within its declared bound and every relation held: the key holder released the round.
    expect([poisoned?.kind, poisoned?.status, poisoned?.statusCode ?? null]).toEqual([LOGISTIC_ROUND_KIND, 'released', null]);
    expect(released).toBe(true);
    expect(fit.statusCode).toBe(HESSIAN_NOT_POSITIVE_DEFINITE);
    expect(fit.statusReason).toMatch(/^round 2: the round's Hessian .*is not positive definite \(Cholesky pivot [12] is -\d/);
    expect(fit.statusReason).toMatch(/no Newton step was taken/);
    expect(failed).toEqual([{ fitId: fit.fitId, kind: 'logistic-regression', purpose: 'churn-modelling', round: POISONED_ROUND, code: HESSIAN_NOT_POSITIVE_DEFINITE }]);
  }, 300_000);
});
