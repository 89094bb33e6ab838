/**
 * Acceptance: a public marketing data set this project never saw, split by
 * store across shops and fitted by formula as an analyst would, gives R's
 * pooled `lm` and `glm` coefficients and standard errors to 1e-8 relative.
 *
 * The data: store-level weekly orange juice sales of 11 brands in 83 stores
 * (Dominick's Finer Foods, as published in the bayesm R package, Debian
 * r-cran-bayesm: `orangeJuice$yx`, 106,139 store-week-brand rows with log
 * units moved, the brands' prices, in-store deal and feature ad). R writes it
 * out once; each of five shops gets the rows of its stores as its own
 * `store_week` table, byte for byte, with the brand's own shelf price. R fits
 * the pooled file; the cluster (merchant nodes, SEAL, gRPC on 127.0.0.1,
 * PGlite, the key holder at k = 10) fits the shops' encrypted sums.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinearModelResult } from '../../analytics/index.js';
import type { LogisticModelResult } from '../../analytics/logistic-model.js';
import type { MerchantNode } from '../../client-sdk/index.js';
import type { PurposeRegistry } from '../../compliance/index.js';
import { api, startCluster, waitForFinal, type Cluster, type QueryState } from '../../harness/cluster.js';
import { HAVE_R, runR } from '../helpers/r-reference.js';
import { makeMerchants } from '../../harness/shops.js';
import { SALES_PURPOSE, driveFit, salesRegistry } from '../helpers/store-week.js';

const HAVE_BAYESM = HAVE_R && spawnSync('Rscript', ['-e', 'library(bayesm)'], { stdio: 'ignore' }).status === 0;
if (!HAVE_BAYESM && process.env['CI'] === 'true') throw new Error('R package bayesm is not installed (.ci/run installs r-cran-bayesm)');

const PURPOSE = SALES_PURPOSE;
const BRANDS = Array.from({ length: 11 }, (_, i) => String(i + 1));
const COLUMNS = ['store', 'brand', 'week', 'logmove', 'price', 'deal', 'feat'] as const;
const LM = 'logmove ~ log(price) + deal + feat + C(brand) + deal:feat';
const GLM = 'logmove > 9 ~ log(price) + deal + feat + C(brand)';

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  model: LogisticModelResult | null;
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

const registry = (): PurposeRegistry => salesRegistry(COLUMNS);

describe.skipIf(!HAVE_BAYESM)('a public store-week data set split by store over five shops equals R', () => {
  let cluster: Cluster;
  let merchants: MerchantNode[] = [];
  let pooledCsv: string;
  let lm: QueryState;
  let fit: FitView;
  let rows = 0;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-oj-'));
    pooledCsv = join(dir, 'pooled.csv');
    // The analyst's own price column: each row's brand's price (price1 … price11).
    const exported = spawnSync(
      'Rscript',
      [
        '--vanilla',
        '-e',
        `suppressMessages(library(bayesm)); data(orangeJuice); d <- orangeJuice$yx
d$price <- as.matrix(d[, paste0("price", 1:11)])[cbind(seq_len(nrow(d)), d$brand)]
write.csv(d[, c(${COLUMNS.map((c) => `"${c}"`).join(', ')})], ${JSON.stringify(pooledCsv)}, row.names = FALSE, quote = FALSE)`,
      ],
      { encoding: 'utf8' },
    );
    expect(exported.status, exported.stderr).toBe(0);
    const [header, ...lines] = readFileSync(pooledCsv, 'utf8').split('\n').filter((l) => l.length > 0);
    expect(header).toBe(COLUMNS.join(','));
    rows = lines.length;
    const schema = {
      version: 1,
      tables: {},
      extraTables: {
        store_week: {
          file: 'store-week.csv',
          columns: {
            store: { column: 'store', type: 'categorical' },
            brand: { column: 'brand', type: 'categorical', levels: BRANDS },
            week: { column: 'week', type: 'integer', min: 0 },
            logmove: { column: 'logmove', type: 'numeric', scale: 20 },
            price: { column: 'price', type: 'numeric', scale: 20, min: 0 },
            deal: { column: 'deal', type: 'integer', min: 0, max: 1 },
            feat: { column: 'feat', type: 'numeric', scale: 20, min: 0, max: 1 },
          },
        },
      },
    };
    // Stores in order of first appearance, dealt round-robin to five shops.
    const stores = [...new Set(lines.map((l) => l.split(',')[0]!))];
    const shopOf = new Map(stores.map((s, i) => [s, i % 5]));
    const shopDirs = Array.from({ length: 5 }, (_, i) => {
      const shopId = `shop-${String(i + 1).padStart(2, '0')}`;
      const shopDir = join(dir, shopId);
      mkdirSync(shopDir);
      writeFileSync(join(shopDir, 'schema.json'), JSON.stringify(schema));
      writeFileSync(join(shopDir, 'store-week.csv'), `${header}\n${lines.filter((l) => shopOf.get(l.split(',')[0]!) === i).join('\n')}\n`);
      writeFileSync(join(shopDir, 'purposes.json'), JSON.stringify(registry()));
      writeFileSync(join(shopDir, 'consents.jsonl'), '');
      return { shopId, dir: shopDir };
    });
    cluster = await startCluster({ minSubjects: 10 }, { purposes: registry() });
    merchants = await makeMerchants({ dir, shopDirs, pooledDir: dir }, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'linear-model',
      spec: { purpose: PURPOSE, data: 'store_week', formula: LM, levels: { brand: BRANDS } },
      targetMerchants: 5,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const m of merchants) await m.answerOpenQueries();
    lm = await waitForFinal(cluster, created.body.queryId, 120_000);
    const fitCreated = await api<FitView>(cluster, 'POST', '/v1/fits', {
      kind: 'logistic-model',
      spec: { purpose: PURPOSE, data: 'store_week', formula: GLM, levels: { brand: BRANDS } },
      targetMerchants: 5,
    });
    expect(fitCreated.status, JSON.stringify(fitCreated.body)).toBe(201);
    fit = await driveFit(async () => (await api<FitView>(cluster, 'GET', `/v1/fits/${fitCreated.body.fitId}`)).body, merchants);
  }, 900_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
  });

  /** R on the pooled file: coefficient names, estimates and standard errors. */
  function reference(fitLine: string, covariance: string): { names: string[]; est: number[]; se: number[] } {
    const r = runR([{ unused: 0 }], `d <- read.csv(${JSON.stringify(pooledCsv)})
d$brand <- factor(d$brand, levels = 1:11)
${fitLine}
${covariance}
out("name", names(coef(m))); out("est", coef(m)); out("se", se)`);
    return { names: r.get('name')!, est: r.get('est')!.map(Number), se: r.get('se')!.map(Number) };
  }

  it('lm: every coefficient and standard error equals R to 1e-8 relative', () => {
    expect(lm.status, lm.statusReason ?? '').toBe('released');
    const r = lm.result as LinearModelResult;
    expect(r.n).toBe(rows);
    const ref = reference(`m <- lm(${LM}, d)`, 'se <- summary(m)$coefficients[, 2]');
    // R names the brand dummies C(brand)2 … C(brand)11 from the factor's levels.
    expect(['(Intercept)', ...r.coefficients.map((c) => c.feature)]).toEqual(ref.names);
    const est = [r.intercept!.estimate, ...r.coefficients.map((c) => c.estimate)];
    const se = [r.intercept!.standardError!, ...r.coefficients.map((c) => c.standardError!)];
    let worst = 0;
    ref.names.forEach((name, i) => {
      worst = Math.max(worst, rel(est[i]!, ref.est[i]!), rel(se[i]!, ref.se[i]!));
      expect(rel(est[i]!, ref.est[i]!), `${name} estimate`).toBeLessThan(1e-8);
      expect(rel(se[i]!, ref.se[i]!), `${name} standard error`).toBeLessThan(1e-8);
    });
    console.log(`orange juice lm over ${rows} rows in 5 shops: ${ref.names.length} coefficients, worst relative difference to R ${worst.toExponential(2)}`);
  });

  it('glm(binomial) with a label expression: every coefficient and standard error equals R to 1e-8 relative', () => {
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    expect(model.converged).toBe(true);
    expect(model.trainingRows).toBe(rows);
    const ref = reference(
      `m <- glm(${GLM}, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))`,
      'X <- model.matrix(m); p <- fitted(m); se <- sqrt(diag(solve(crossprod(X, X * (p * (1 - p))))))',
    );
    expect(model.coefficients.map((c) => c.name)).toEqual(ref.names);
    let worst = 0;
    model.coefficients.forEach((c, i) => {
      worst = Math.max(worst, rel(c.estimate, ref.est[i]!), rel(c.standardError, ref.se[i]!));
      expect(rel(c.estimate, ref.est[i]!), `${c.name} estimate`).toBeLessThan(1e-8);
      expect(rel(c.standardError, ref.se[i]!), `${c.name} standard error`).toBeLessThan(1e-8);
    });
    console.log(`orange juice glm over ${rows} rows in 5 shops: ${model.coefficients.length} coefficients in ${model.rounds} rounds, worst relative difference to R ${worst.toExponential(2)}`);
  });
});
