/**
 * Per-order formula models as real encrypted rounds against R: each order
 * before asOf is a row, with the columns the shops declare on orders
 * (channel, discount) and its customer's columns (`customer.income`,
 * `customer.region`). Five shops, all parts real: merchant nodes, SEAL, gRPC
 * on 127.0.0.1, PGlite, the key holder at k = 10. Coefficients and standard
 * errors must equal R's `lm` and `glm(family = binomial)` on the pooled
 * orders to 1e-8 relative.
 *
 * And the attack that per-order rows open: a marketer writes a term that is
 * zero on every order of one customer with many orders. Counted in rows,
 * that group holds as many rows as the customer has orders (at least k
 * here) and would pass; counted in customers it holds one, and the key
 * holder refuses the release naming the term.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinearModelResult } from '../../analytics/index.js';
import type { LogisticModelResult } from '../../analytics/logistic-model.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster, type QueryState } from '../../harness/cluster.js';
import { addDemographics, REGIONS } from '../helpers/demographics.js';
import { expectCoefficientsLikeR, HAVE_R, runR } from '../helpers/r-reference.js';
import { addOrderColumns, addOrderLines, LINE_CATEGORIES, ORDER_CHANNELS, orderColumnRegistry } from '../helpers/order-columns.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';
import { driveFit as drive } from '../helpers/store-week.js';

const AS_OF = '2026-01-01T00:00:00Z';
const K = 10;
const LM = 'log(amount) ~ discount + C(channel) + returned + I(customer.income/1000) + C(customer.region) + C(channel):returned';
const GLM = 'returned ~ log(amount) + discount + C(channel) + I(customer.income/1000)';
const LEVELS = { channel: [...ORDER_CHANNELS], 'customer.region': [...REGIONS] };
const LINES_LM = 'log(unit_price) ~ quantity + C(category) + I(customer.income/1000) + C(customer.region)';

interface FitView {
  status: string;
  statusReason: string | null;
  model: LogisticModelResult | null;
}

/** A pooled CSV file read in plain code (synth files carry no quoted fields). */
function readCsv(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

/** A linear model's coefficients, the intercept first, as R lists them. */
const linearCoefficients = (r: LinearModelResult) => [
  { name: '(Intercept)', estimate: r.intercept!.estimate, standardError: r.intercept!.standardError! },
  ...r.coefficients.map((c) => ({ name: c.feature, estimate: c.estimate, standardError: c.standardError! })),
];
const factor = (name: string, levels: readonly string[]): string => `d$${name} <- factor(d$${name}, levels = c(${levels.map((l) => `"${l}"`).join(', ')}))`;

describe.skipIf(!HAVE_R)('per-order formula models equal R on the pooled orders', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let pooled: { key: string; amount: number; returned: number; discount: number; channel: string; 'customer.income': number; 'customer.region': string }[];
  let lm: QueryState;
  let probe: QueryState;
  let probeOrders = 0;
  let fit: FitView;
  let lines: QueryState;
  let pooledLines: Record<string, unknown>[];
  let unflagged: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: K }, { purposes: orderColumnRegistry() });
    const shops = await makeShops(5, 'order-models', { customersPerShop: { min: 150, max: 400 } });
    for (const s of shops.shopDirs) {
      addDemographics(s.dir, false);
      addOrderColumns(s.dir, false);
      addOrderLines(s.dir, false);
    }
    addDemographics(shops.pooledDir, true);
    addOrderColumns(shops.pooledDir, true);
    addOrderLines(shops.pooledDir, true);
    // R's rows: the consented customers' orders before asOf, with their customers' columns.
    const customers = new Map(readCsv(join(shops.pooledDir, 'customers.csv')).filter((c) => c['consent_analytics'] === 'true').map((c) => [`${c['shop_id']}/${c['customer_id']}`, c]));
    pooled = readCsv(join(shops.pooledDir, 'orders.csv'))
      .filter((o) => o['ordered_at']! < AS_OF && customers.has(`${o['shop_id']}/${o['customer_id']}`))
      .map((o) => {
        const c = customers.get(`${o['shop_id']}/${o['customer_id']}`)!;
        return {
          key: `${o['shop_id']}/${o['customer_id']}`,
          amount: Number(o['amount']),
          returned: o['returned'] === 'true' ? 1 : 0,
          discount: Number(o['discount']),
          channel: o['channel']!,
          'customer.income': Number(c['income']),
          'customer.region': c['region']!,
        };
      });
    // Lines follow their customer's consent: R gets the consented customers' lines only.
    pooledLines = readCsv(join(shops.pooledDir, 'order_lines.csv'))
      .filter((l) => customers.has(`${l['shop_id']}/${l['customer_id']}`))
      .map((l) => {
        const c = customers.get(`${l['shop_id']}/${l['customer_id']}`)!;
        return { unit_price: Number(l['unit_price']), quantity: Number(l['quantity']), category: l['category'], 'customer.income': Number(c['income']), 'customer.region': c['region'] };
      });
    // The target: the consented customer with the most orders before asOf (at least k of them).
    const ordersOf = new Map<string, number>();
    for (const o of pooled) ordersOf.set(o.key, (ordersOf.get(o.key) ?? 0) + 1);
    const [targetKey, most] = [...ordersOf.entries()].sort((a, b) => b[1] - a[1])[0]!;
    probeOrders = most;
    const targetIncome = customers.get(targetKey)!['income'];
    // Incomes are unique enough that only the target's orders are zero: checked on the pooled rows below.
    expect(pooled.filter((o) => String(o['customer.income'].toFixed(2)) === targetIncome).every((o) => o.key === targetKey)).toBe(true);

    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    // Finer fixed point than the default: log(amount) and the discounts are not dyadic, and the test holds R to 1e-8.
    const spec = { purpose: 'marketing-analytics', data: 'orders', asOf: AS_OF, formula: LM, levels: LEVELS, scaleBits: 36 };
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'linear-model', spec, targetMerchants: 5 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const probeSpec = { purpose: 'marketing-analytics', data: 'orders', asOf: AS_OF, formula: `log(amount) ~ discount + I(customer.income - ${targetIncome})` };
    const probed = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'linear-model', spec: probeSpec, targetMerchants: 5 });
    expect(probed.status, JSON.stringify(probed.body)).toBe(201);
    const linesSpec = { purpose: 'marketing-analytics', data: 'order_lines', customerRows: true, formula: LINES_LM, levels: { category: [...LINE_CATEGORIES], 'customer.region': [...REGIONS] }, scaleBits: 36 };
    const linesCreated = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'linear-model', spec: linesSpec, targetMerchants: 5 });
    expect(linesCreated.status, JSON.stringify(linesCreated.body)).toBe(201);
    // The same table without customerRows would count lines as subjects: every shop declines it.
    const unflaggedSpec = { purpose: 'marketing-analytics', data: 'order_lines', formula: 'log(unit_price) ~ quantity' };
    const unflaggedCreated = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'linear-model', spec: unflaggedSpec, targetMerchants: 5 });
    expect(unflaggedCreated.status, JSON.stringify(unflaggedCreated.body)).toBe(201);
    for (const m of merchants) {
      const outcomes = await m.answerOpenQueries();
      const shown = outcomes.map((o) => `${o.outcome} ${'message' in o ? o.message : ''}`).join('; ');
      expect(outcomes.map((o) => o.outcome), shown).toEqual(['submitted', 'submitted', 'submitted', 'declined']);
      const declined = outcomes[3]!;
      unflagged.push('message' in declined ? String(declined.message) : '');
    }
    lm = await waitForFinal(cluster, created.body.queryId);
    probe = await waitForFinal(cluster, probed.body.queryId);
    lines = await waitForFinal(cluster, linesCreated.body.queryId);
    const fitCreated = await api<{ fitId: string }>(cluster, 'POST', '/v1/fits', {
      kind: 'logistic-model',
      spec: { purpose: 'marketing-analytics', data: 'orders', asOf: AS_OF, formula: GLM, levels: { channel: [...ORDER_CHANNELS] } },
      targetMerchants: 5,
    });
    expect(fitCreated.status, JSON.stringify(fitCreated.body)).toBe(201);
    fit = await drive(async () => (await api<FitView>(cluster, 'GET', `/v1/fits/${fitCreated.body.fitId}`)).body, merchants);
  }, 400_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('releases lm over orders with order and customer columns, R coefficients and standard errors to 1e-8', () => {
    expect(lm.status, lm.statusReason ?? '').toBe('released');
    const r = lm.result as LinearModelResult;
    expect(r.status).toBe('fitted');
    const ref = runR(
      pooled,
      `${factor('channel', ORDER_CHANNELS)}
${factor('customer.region', REGIONS)}
m <- lm(${LM}, d)
s <- summary(m)$coefficients
out("name", rownames(s)); out("est", s[, 1]); out("se", s[, 2]); out("n", nrow(d))`,
    );
    expect(r.n).toBe(pooled.length);
    const worst = expectCoefficientsLikeR(linearCoefficients(r), ref, 1e-8, expect);
    console.log(`order lm: ${r.coefficients.length + 1} coefficients over ${r.n} orders, worst relative difference to R ${worst.toExponential(2)}`);
  });

  it('fits a logistic model over orders as R glm(family = binomial) does, to 1e-8', () => {
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    expect(model.converged).toBe(true);
    expect(model.trainingRows).toBe(pooled.length);
    const ref = runR(
      pooled,
      `${factor('channel', ORDER_CHANNELS)}
m <- glm(${GLM}, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
X <- model.matrix(m); p <- fitted(m)
se <- sqrt(diag(solve(crossprod(X, X * (p * (1 - p))))))
out("name", names(coef(m))); out("est", coef(m)); out("se", se)`,
    );
    const worst = expectCoefficientsLikeR(model.coefficients, ref, 1e-8, expect);
    console.log(`order glm: ${model.coefficients.length} coefficients in ${model.rounds} rounds, worst relative difference to R ${worst.toExponential(2)}`);
  });

  it('fits lm over a declared table of customers\' rows (order lines) with their customers\' columns, as R does', () => {
    expect(lines.status, lines.statusReason ?? '').toBe('released');
    const r = lines.result as LinearModelResult;
    const ref = runR(
      pooledLines,
      `${factor('category', LINE_CATEGORIES)}
${factor('customer.region', REGIONS)}
m <- lm(${LINES_LM}, d)
s <- summary(m)$coefficients
out("name", rownames(s)); out("est", s[, 1]); out("se", s[, 2])`,
    );
    // Only the consented customers' lines were read.
    expect(r.n).toBe(pooledLines.length);
    const worst = expectCoefficientsLikeR(linearCoefficients(r), ref, 1e-8, expect);
    console.log(`order-lines lm: ${r.coefficients.length + 1} coefficients over ${r.n} lines, worst relative difference to R ${worst.toExponential(2)}`);
  });

  it('declines a model over customers\' rows that does not say so, naming customerRows', () => {
    expect(unflagged).toHaveLength(5);
    for (const message of unflagged) expect(message).toMatch(/customerRows/);
  });

  it('refuses a term that is zero on the orders of one customer, though those orders are at least k rows', () => {
    expect(probeOrders).toBeGreaterThanOrEqual(K);
    expect(probe.status).toBe('failed');
    expect(probe.statusReason).toMatch(/LEVEL_TOO_FEW_SUBJECTS/);
    expect(probe.statusReason).toMatch(/I\(customer\.income - /);
    expect(probe.result).toBeNull();
  });
});
