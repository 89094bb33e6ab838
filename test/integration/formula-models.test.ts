/**
 * Formula models as real encrypted rounds against R: a store-week sales
 * table split by store over five shops (no customer table at all), fitted
 * per row by `units ~ log(price) + promo + display + C(brand) + promo:display`
 * (a 10-level categorical and an interaction). The released coefficients and
 * standard errors must equal R's `lm` on the pooled rows to 1e-8 relative,
 * with R's names. All parts real: merchant nodes, SEAL, gRPC on 127.0.0.1,
 * PGlite, the key holder at k = 10.
 *
 * And the attack: a marketer adds a 0/1 column that is 1 on three store-weeks
 * only, hoping the model's moments describe those three rows; the key holder
 * refuses the release naming the column.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinearModelResult } from '../../analytics/index.js';
import type { LogisticModelResult } from '../../analytics/logistic-model.js';
import type { PcaResult } from '../../analytics/pca.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import { api, startCluster, waitForFinal, type Cluster, type QueryState } from '../../harness/cluster.js';
import { HAVE_R, runR } from '../helpers/r-reference.js';
import { addDemographics, demographicRegistry, GENDERS, REGIONS } from '../helpers/demographics.js';
import { makeMerchants, makeShops } from '../../harness/shops.js';
import { BRANDS, SALES_PURPOSE, driveFit as drive, salesRegistry, storeWeekRows, writeStoreWeekShops, type StoreWeekRow } from '../helpers/store-week.js';

const FORMULA = 'units ~ log(price) + promo + display + C(brand) + promo:display';
const QUERIES: Record<string, Record<string, unknown>> = {
  sales: { purpose: SALES_PURPOSE, data: 'store_week', formula: FORMULA, levels: { brand: [...BRANDS] } },
  ridge: { purpose: SALES_PURPOSE, data: 'store_week', formula: 'units ~ log(price) + feature + promo*display', lambda: 25 },
  rare: { purpose: SALES_PURPOSE, data: 'store_week', formula: 'units ~ log(price) + rare' },
};

const LOGIT = 'units > 170 ~ log(price) + promo + display + C(brand)';

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: LogisticModelResult | null;
}

/** Answers every round of the fit until it ends. */
async function driveFit(cluster: Cluster, fitId: string, nodes: readonly MerchantNode[]): Promise<FitView> {
  return drive(async () => (await api<FitView>(cluster, 'GET', `/v1/fits/${fitId}`)).body, nodes);
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe.skipIf(!HAVE_R)('formula models over a declared store-week table equal R', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let pooled: StoreWeekRow[];
  const results = new Map<string, QueryState>();
  let fit: FitView;

  beforeAll(async () => {
    const registry = salesRegistry();
    cluster = await startCluster({ minSubjects: 10 }, { purposes: registry });
    const rows = storeWeekRows(5, 3, 26, 20261207);
    pooled = rows.flat();
    const shops = writeStoreWeekShops(rows);
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const ids = new Map<string, string>();
    for (const [name, spec] of Object.entries(QUERIES)) {
      const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'linear-model', spec, targetMerchants: 5 });
      expect(created.status, `${name}: ${JSON.stringify(created.body)}`).toBe(201);
      ids.set(name, created.body.queryId);
    }
    for (const m of merchants) {
      const outcomes = await m.answerOpenQueries();
      expect(outcomes.map((o) => o.outcome), `${m.merchantId}: ${outcomes.map((o) => `${o.outcome} ${"message" in o ? o.message : ""}`).join("; ")}`).toEqual(Object.keys(QUERIES).map(() => 'submitted'));
    }
    for (const [name, id] of ids) results.set(name, await waitForFinal(cluster, id));
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'logistic-model', spec: { purpose: SALES_PURPOSE, data: 'store_week', formula: LOGIT, levels: { brand: [...BRANDS] } }, targetMerchants: 5 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    fit = await driveFit(cluster, created.body.fitId, merchants);
  }, 400_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('releases the formula model with R lm coefficients, standard errors and names to 1e-8', () => {
    const q = results.get('sales')!;
    expect(q.status, q.statusReason ?? '').toBe('released');
    const r = q.result as LinearModelResult;
    expect(r.status).toBe('fitted');
    const ref = runR(
      pooled,
      `d$brand <- factor(d$brand, levels = c(${BRANDS.map((b) => `"${b}"`).join(', ')}))
m <- lm(${FORMULA}, d)
s <- summary(m)$coefficients
out("name", rownames(s)); out("est", s[, 1]); out("se", s[, 2]); out("r2", summary(m)$r.squared); out("df", m$df.residual)`,
    );
    const names = ref.get('name')!;
    expect(['(Intercept)', ...r.coefficients.map((c) => c.feature)]).toEqual(names);
    const est = [r.intercept!.estimate, ...r.coefficients.map((c) => c.estimate)];
    const se = [r.intercept!.standardError!, ...r.coefficients.map((c) => c.standardError!)];
    const worst = { est: 0, se: 0 };
    names.forEach((name, i) => {
      const e = rel(est[i] as number, Number(ref.get('est')![i]));
      const s = rel(se[i] as number, Number(ref.get('se')![i]));
      worst.est = Math.max(worst.est, e);
      worst.se = Math.max(worst.se, s);
      expect(e, `${name} estimate`).toBeLessThan(1e-8);
      expect(s, `${name} standard error`).toBeLessThan(1e-8);
    });
    expect(rel(r.rSquared!, Number(ref.get('r2')![0]))).toBeLessThan(1e-8);
    expect(r.residualDf).toBe(Number(ref.get('df')![0]));
    expect(r.n).toBe(pooled.length);
    console.log(`store-week lm: ${names.length} coefficients, worst relative difference to R: estimate ${worst.est.toExponential(2)}, standard error ${worst.se.toExponential(2)}`);
  });

  it('fits ridge with a * interaction as the closed form on the pooled rows does', () => {
    const q = results.get('ridge')!;
    expect(q.status, q.statusReason ?? '').toBe('released');
    const r = q.result as LinearModelResult;
    expect(r.coefficients.map((c) => c.feature)).toEqual(['log(price)', 'feature', 'promo', 'display', 'promo:display']);
    // R: the centred ridge solution (X'X + λI)β = X'y on centred columns, intercept from the means.
    const ref = runR(
      pooled,
      `X <- model.matrix(~ log(price) + feature + promo*display, d)[, -1]
Xc <- scale(X, scale = FALSE); yc <- d$units - mean(d$units)
b <- solve(crossprod(Xc) + 25 * diag(ncol(X)), crossprod(Xc, yc))
out("b", b); out("b0", mean(d$units) - sum(colMeans(X) * b))`,
    );
    r.coefficients.forEach((c, i) => expect(rel(c.estimate, Number(ref.get('b')![i])), c.feature).toBeLessThan(1e-8));
    expect(rel(r.intercept!.estimate, Number(ref.get('b0')![0]))).toBeLessThan(1e-8);
  });

  it('fits a logistic model with a label expression as R glm(family = binomial) does, to 1e-8', () => {
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    expect(model.converged).toBe(true);
    const ref = runR(
      pooled,
      `d$brand <- factor(d$brand, levels = c(${BRANDS.map((b) => `"${b}"`).join(', ')}))
m <- glm(${LOGIT}, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
# summary(m) takes the weights of the iteration before the last; at the MLE itself (fitted values of the final β) the covariance is (X'WX)^-1.
X <- model.matrix(m); p <- fitted(m)
se <- sqrt(diag(solve(crossprod(X, X * (p * (1 - p))))))
out("name", names(coef(m))); out("est", coef(m)); out("se", se); out("se_summary", summary(m)$coefficients[, 2])`,
    );
    const names = ref.get('name')!;
    expect(model.coefficients.map((c) => c.name)).toEqual(names);
    let worst = 0;
    model.coefficients.forEach((c, i) => {
      const e = rel(c.estimate, Number(ref.get('est')![i]));
      const s = rel(c.standardError, Number(ref.get('se')![i]));
      worst = Math.max(worst, e, s);
      expect(e, `${c.name} estimate`).toBeLessThan(1e-8);
      expect(s, `${c.name} standard error (${c.standardError} vs R ${ref.get("se")![i]}; estimate ${c.estimate} vs ${ref.get("est")![i]}; rounds ${model.rounds})`).toBeLessThan(1e-8);
    });
    // R's own summary() agrees to its convergence tolerance.
    model.coefficients.forEach((c, i) => expect(rel(c.standardError, Number(ref.get('se_summary')![i]))).toBeLessThan(1e-6));
    expect(model.trainingRows).toBe(pooled.length);
    console.log(`store-week glm: ${names.length} coefficients in ${model.rounds} rounds, worst relative difference to R ${worst.toExponential(2)}`);
  });

  it('refuses a model whose 0/1 column singles out three rows, naming the column', () => {
    const q = results.get('rare')!;
    expect(q.status).toBe('failed');
    expect(q.statusReason).toMatch(/LEVEL_TOO_FEW_SUBJECTS/);
    expect(q.statusReason).toMatch(/rare/);
    expect(q.result).toBeNull();
  });
});

/** A pooled CSV file read in plain code (synth files carry no quoted fields). */
function readCsv(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

const AS_OF = '2026-01-01T00:00:00Z';
const CUSTOMER_FORMULA = 'log1p(avg_spend) ~ n_orders + income + C(gender) + C(region) + C(gender):income';
const PCA_FORMULA = '~ income + log1p(avg_spend) + n_orders + C(region)';
const KMEANS_FORMULA = '~ I(income/1000) + log1p(avg_spend) + n_orders';

interface KmeansView {
  status: string;
  statusReason: string | null;
  model: { features: string[]; centroids: number[][]; initialCentroids: number[][]; sizes: number[]; converged: boolean; droppedClusters: number } | null;
}

describe.skipIf(!HAVE_R)('a customer-level formula model on extra demographic columns equals R', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let result: QueryState;
  let probe: QueryState;
  let pca: QueryState;
  let kmeans: KmeansView;
  let pooledDir: string;
  let ageOutcome: Awaited<ReturnType<MerchantNode['answer']>> | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: 10 }, { purposes: demographicRegistry() });
    const shops = await makeShops(5, 'formula-customers', { customersPerShop: { min: 150, max: 400 } });
    for (const s of shops.shopDirs) addDemographics(s.dir, false);
    addDemographics(shops.pooledDir, true);
    // One shop does not export ages: it must decline a query reading them, naming the field.
    const noAge = shops.shopDirs[4]!.dir;
    const schema = JSON.parse(readFileSync(join(noAge, 'schema.json'), 'utf8')) as { tables: { customers: { fields: Record<string, unknown>; ignoredColumns: string[] } } };
    delete schema.tables.customers.fields['age'];
    schema.tables.customers.ignoredColumns.push('age');
    writeFileSync(join(noAge, 'schema.json'), JSON.stringify(schema));
    pooledDir = shops.pooledDir;
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const spec = {
      purpose: 'marketing-analytics',
      data: 'customers',
      asOf: AS_OF,
      formula: CUSTOMER_FORMULA,
      levels: { gender: [...GENDERS], region: [...REGIONS] },
      aggregates: { avg_spend: 'mean(order.amount)', n_orders: 'count(orders)' },
    };
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'linear-model', spec, targetMerchants: 5 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The attack: a column that is zero for exactly one customer (income minus that customer's income), so the
    // moments' "zero rows" describe that customer alone.
    const target = readCsv(join(pooledDir, 'customers.csv')).find((c) => c['consent_analytics'] === 'true')!;
    const probeSpec = { ...spec, levels: {}, formula: `log1p(avg_spend) ~ n_orders + I(income - ${target['income']})` };
    const probed = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'linear-model', spec: probeSpec, targetMerchants: 5 });
    expect(probed.status, JSON.stringify(probed.body)).toBe(201);
    const pcaCreated = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'pca',
      spec: { purpose: 'marketing-analytics', data: 'customers', asOf: AS_OF, formula: PCA_FORMULA, levels: { region: [...REGIONS] }, aggregates: spec.aggregates },
      targetMerchants: 5,
    });
    expect(pcaCreated.status, JSON.stringify(pcaCreated.body)).toBe(201);
    for (const m of merchants) await m.answerOpenQueries();
    result = await waitForFinal(cluster, created.body.queryId);
    probe = await waitForFinal(cluster, probed.body.queryId);
    pca = await waitForFinal(cluster, pcaCreated.body.queryId);
    const kmeansCreated = await api<{ fitId: string }>(cluster, 'POST', '/v1/fits', {
      kind: 'kmeans',
      spec: { purpose: 'marketing-analytics', k: 3, seed: 7, model: { data: 'customers', asOf: AS_OF, formula: KMEANS_FORMULA, aggregates: spec.aggregates } },
      targetMerchants: 5,
    });
    expect(kmeansCreated.status, JSON.stringify(kmeansCreated.body)).toBe(201);
    kmeans = (await driveFit(cluster, kmeansCreated.body.fitId, merchants)) as unknown as KmeansView;
    const byAge = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', { kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'age_band' }, targetMerchants: 5 });
    expect(byAge.status, JSON.stringify(byAge.body)).toBe(201);
    ageOutcome = (await merchants[4]!.answerOpenQueries()).find((o) => o.queryId === byAge.body.queryId);
  }, 240_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  it('releases lm on per-customer aggregates and declared columns with R coefficients and standard errors to 1e-8', () => {
    expect(result.status, result.statusReason ?? '').toBe('released');
    const r = result.result as LinearModelResult;
    // R gets the consented customers' orders before asOf with their columns, and aggregates them itself.
    const customers = new Map(readCsv(join(pooledDir, 'customers.csv')).filter((c) => c['consent_analytics'] === 'true').map((c) => [`${c['shop_id']}/${c['customer_id']}`, c]));
    const rows = readCsv(join(pooledDir, 'orders.csv'))
      .filter((o) => o['ordered_at']! < AS_OF && customers.has(`${o['shop_id']}/${o['customer_id']}`))
      .map((o) => {
        const c = customers.get(`${o['shop_id']}/${o['customer_id']}`)!;
        return { key: `${o['shop_id']}/${o['customer_id']}`, amount: Number(o['amount']), income: Number(c['income']), gender: c['gender'], region: c['region'] };
      });
    const ref = runR(
      rows,
      `a <- aggregate(amount ~ key + income + gender + region, d, mean)
n <- aggregate(amount ~ key, d, length); names(n)[2] <- "n_orders"
x <- merge(a, n, by = "key"); names(x)[names(x) == "amount"] <- "avg_spend"
x$gender <- factor(x$gender, levels = c(${GENDERS.map((g) => `"${g}"`).join(', ')}))
x$region <- factor(x$region, levels = c(${REGIONS.map((g) => `"${g}"`).join(', ')}))
m <- lm(${CUSTOMER_FORMULA}, x)
s <- summary(m)$coefficients
out("name", rownames(s)); out("est", s[, 1]); out("se", s[, 2]); out("n", nrow(x))`,
    );
    const names = ref.get('name')!;
    expect(['(Intercept)', ...r.coefficients.map((c) => c.feature)]).toEqual(names);
    expect(r.n).toBe(Number(ref.get('n')![0]));
    const est = [r.intercept!.estimate, ...r.coefficients.map((c) => c.estimate)];
    const se = [r.intercept!.standardError!, ...r.coefficients.map((c) => c.standardError!)];
    let worst = 0;
    names.forEach((name, i) => {
      const e = rel(est[i] as number, Number(ref.get('est')![i]));
      const s = rel(se[i] as number, Number(ref.get('se')![i]));
      worst = Math.max(worst, e, s);
      expect(e, `${name} estimate`).toBeLessThan(1e-8);
      expect(s, `${name} standard error`).toBeLessThan(1e-8);
    });
    console.log(`customer lm: ${names.length} coefficients over ${r.n} customers, worst relative difference to R ${worst.toExponential(2)}`);
  });

  it('PCA of a one-sided formula equals R prcomp on the same design columns', () => {
    expect(pca.status, pca.statusReason ?? '').toBe('released');
    const r = pca.result as PcaResult;
    const customers = new Map(readCsv(join(pooledDir, 'customers.csv')).filter((c) => c['consent_analytics'] === 'true').map((c) => [`${c['shop_id']}/${c['customer_id']}`, c]));
    const rows = readCsv(join(pooledDir, 'orders.csv'))
      .filter((o) => o['ordered_at']! < AS_OF && customers.has(`${o['shop_id']}/${o['customer_id']}`))
      .map((o) => {
        const c = customers.get(`${o['shop_id']}/${o['customer_id']}`)!;
        return { key: `${o['shop_id']}/${o['customer_id']}`, amount: Number(o['amount']), income: Number(c['income']), region: c['region'] };
      });
    const ref = runR(
      rows,
      `a <- aggregate(amount ~ key + income + region, d, mean)
n <- aggregate(amount ~ key, d, length); names(n)[2] <- "n_orders"
x <- merge(a, n, by = "key"); names(x)[names(x) == "amount"] <- "avg_spend"
x$region <- factor(x$region, levels = c(${REGIONS.map((g) => `"${g}"`).join(', ')}))
X <- model.matrix(${PCA_FORMULA}, x)[, -1]
p <- prcomp(X, scale. = TRUE)
out("name", colnames(X)); out("ev", p$sdev^2)
L <- apply(p$rotation, 2, function(v) v * sign(v[which.max(abs(v))]))
out("loading", as.vector(L))`,
    );
    expect(r.features).toEqual(ref.get('name'));
    const ev = ref.get('ev')!.map(Number);
    r.eigenvalues.forEach((v, i) => expect(rel(v, ev[i]!), `eigenvalue ${i + 1}`).toBeLessThan(1e-8));
    const loadings = ref.get('loading')!.map(Number);
    const d = r.features.length;
    r.components.forEach((c, j) => c.loadings.forEach((l, i) => expect(Math.abs(l - loadings[j * d + i]!), `loading ${i} of component ${j + 1}`).toBeLessThan(1e-7)));
  });

  it('k-means over a one-sided formula equals R kmeans (Lloyd) from the same starting centres', () => {
    expect(kmeans.status, kmeans.statusReason ?? '').toBe('done');
    const model = kmeans.model!;
    expect(model.converged).toBe(true);
    expect(model.droppedClusters).toBe(0);
    expect(model.features).toEqual(['I(income/1000)', 'log1p(avg_spend)', 'n_orders']);
    const customers = new Map(readCsv(join(pooledDir, 'customers.csv')).filter((c) => c['consent_analytics'] === 'true').map((c) => [`${c['shop_id']}/${c['customer_id']}`, c]));
    const rows = readCsv(join(pooledDir, 'orders.csv'))
      .filter((o) => o['ordered_at']! < AS_OF && customers.has(`${o['shop_id']}/${o['customer_id']}`))
      .map((o) => ({ key: `${o['shop_id']}/${o['customer_id']}`, amount: Number(o['amount']), income: Number(customers.get(`${o['shop_id']}/${o['customer_id']}`)!['income']) }));
    const ref = runR(
      rows,
      `a <- aggregate(amount ~ key + income, d, mean)
n <- aggregate(amount ~ key, d, length); names(n)[2] <- "n_orders"
x <- merge(a, n, by = "key"); names(x)[names(x) == "amount"] <- "avg_spend"
X <- model.matrix(${KMEANS_FORMULA}, x)[, -1]
start <- matrix(c(${model.initialCentroids.flat().map((v) => v.toPrecision(17)).join(', ')}), nrow = 3, byrow = TRUE)
k <- kmeans(X, centers = start, algorithm = "Lloyd", iter.max = 100)
out("name", colnames(X)); out("centre", as.vector(t(k$centers))); out("size", k$size)`,
    );
    expect(model.features).toEqual(ref.get('name'));
    expect(model.sizes).toEqual(ref.get('size')!.map(Number));
    const centres = ref.get('centre')!.map(Number);
    model.centroids.flat().forEach((v, i) => expect(rel(v, centres[i]!), `centre coordinate ${i}`).toBeLessThan(1e-9));
  });

  it('a shop that does not export ages declines a query reading them, naming the field', () => {
    expect(ageOutcome?.outcome).toBe('declined');
    expect(ageOutcome && 'code' in ageOutcome ? ageOutcome.code : '').toBe('FIELD_NOT_EXPORTED');
    expect(ageOutcome && 'message' in ageOutcome ? ageOutcome.message : '').toMatch(/customer\.age_band/);
  });

  it('refuses a term that is zero for one customer only, naming it, and releases nothing of it', () => {
    expect(probe.status).toBe('failed');
    expect(probe.statusReason).toMatch(/LEVEL_TOO_FEW_SUBJECTS/);
    expect(probe.statusReason).toMatch(/I\(income - /);
    expect(probe.result).toBeNull();
  });
});
