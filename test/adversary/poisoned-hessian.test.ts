/**
 * One enrolled shop poisons a logistic fit's Hessian. Its round-2 answer
 * keeps every field within the query's declared bounds, so the key holder's
 * decode-time bounds (`INPUT_OUT_OF_BOUNDS`) let it through: the intercept's
 * diagonal entry travels as a `-` part equal to the field's declared
 * maximum, which makes the pooled Hessian negative on its first pivot. A
 * Newton step with it would steer β toward a saddle or a minimum of the
 * likelihood, so the fit stops with a reason naming the Hessian
 * (`FIT_CANNOT_CONTINUE`), no model is stored, and the fit's state after the
 * round is the state before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGISTIC_ROUND_KIND, type CustomerFeature, type LogisticState } from '../../analytics/index.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { FIT_CANNOT_CONTINUE } from '../../coordinator/fit-runner.js';
import { SlotLayout } from '../../crypto/index.js';
import { api, startCluster, type Cluster } from '../helpers/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../helpers/shops.js';

const FEATURES: CustomerFeature[] = ['intercept', 'orders', 'avg_order_value'];
const POISONED_ROUND = 2;

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  statusCode: string | null;
  round: number;
  model: unknown;
}

/**
 * Runs `answer` with the shop's encoder rewritten: the intercept's Hessian
 * entry becomes 0 in its `+` part and the field's declared maximum in its
 * `-` part. The honest encoder still checks every value against its field's
 * bound, so the poisoned contribution is one an honest shop's layout accepts.
 */
async function withPoisonedHessian(answer: () => Promise<void>): Promise<void> {
  const encode = Object.getOwnPropertyDescriptor(SlotLayout.prototype, 'encode')!.value as SlotLayout['encode'];
  SlotLayout.prototype.encode = function (this: SlotLayout, values: readonly bigint[]): BigUint64Array[] {
    const plus = this.fields.findIndex((f) => f.name === 'h.0.0+');
    const minus = this.fields.findIndex((f) => f.name === 'h.0.0-');
    if (plus < 0 || minus < 0) throw new Error('the layout has no h.0.0 fields');
    const poisoned = [...values];
    poisoned[plus] = 0n;
    poisoned[minus] = this.fields[minus]!.max;
    return encode.call(this, poisoned);
  };
  try {
    await answer();
  } finally {
    SlotLayout.prototype.encode = encode;
  }
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

  it('stops the fit with a reason naming the Hessian; no model is stored and β is not updated from that round', async () => {
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
            await withPoisonedHessian(async () => expect((await m.answer(q)).outcome).toBe('submitted'));
          } else {
            await m.answer(q);
          }
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }

    expect(stateBefore, 'round 2 was never published').toBeDefined();
    expect(stateBefore!.beta.some((b) => b !== 0)).toBe(true);
    // Every value was within its declared bound: the key holder released the round.
    const poisoned = await cluster.coordinator.store.getQuery(poisonedQueryId!);
    expect([poisoned?.kind, poisoned?.status, poisoned?.statusCode ?? null]).toEqual([LOGISTIC_ROUND_KIND, 'released', null]);
    expect(await cluster.coordinator.store.contributionCount(poisonedQueryId!)).toBe(merchants.length);

    expect(fit.status).toBe('failed');
    expect(fit.statusCode).toBe(FIT_CANNOT_CONTINUE);
    expect(fit.statusReason).toMatch(/^round 2: the round's Hessian .*is not positive definite \(Cholesky pivot 0 is -\d/);
    expect(fit.statusReason).toMatch(/no Newton step was taken/);
    expect(fit.model).toBeNull();

    // β and the history are those before the poisoned round; no later round was published.
    const after = (await cluster.coordinator.fits.get(fitId))!;
    expect(after.state).toEqual(stateBefore);
    expect(after.round).toBe(POISONED_ROUND);
    expect(after.model).toBeNull();
    const rounds = (await cluster.coordinator.store.listQueries()).filter((q) => q.fitId === fitId);
    expect(rounds.map((q) => q.fitRound).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([1, POISONED_ROUND]);

    // Fit failures are not audit events; the audit log shows the round released and no model stored.
    const entries = await cluster.coordinator.audit.log.entries(0, await cluster.coordinator.audit.log.size());
    const ofFit = (e: { details: unknown }) => (e.details as { fitId?: string }).fitId === fitId;
    expect(entries.some((e) => e.type === 'model.stored' && ofFit(e))).toBe(false);
    expect(entries.some((e) => e.type === 'release.stored' && (e.details as { queryId?: string }).queryId === poisonedQueryId)).toBe(true);
  }, 300_000);
});
