/**
 * `fedmart demo`: the whole system on one machine. Synthetic shops, a key
 * holder, a coordinator and one merchant node per shop, each its own process
 * on 127.0.0.1; one encrypted segment query; the released table printed
 * beside the plaintext pooled answer. A deployment folder made as `fedmart
 * init` makes it puts every connection on TLS (coordinator ↔ key holder
 * mutual TLS), as a real deployment would be.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cryptoReady, fromHex, issueEnrolmentToken } from '../crypto/index.js';
import { verifyReleaseSignature } from '../round/index.js';
import { readSeedFile } from './identity-options.js';
import { verifyAuditBundle, type AuditBundle } from '../compliance/index.js';
import { describeVerification, writeAuditReport } from './audit-command.js';
import { formatSegmentTable, largestRelativeDifference, pooledSegmentStats, type LinearModelResult, type SegmentStatsTable } from '../analytics/index.js';
import { loadPooledData } from '../client-sdk/index.js';
import { writeSynth } from '../synth/index.js';
import { pooledFeatureRows, pooledLinearModel, pooledLogisticFit } from '../synth/pooled-model.js';
import { integer, parse } from './args.js';
import { createDeployment, DEPLOYMENT_FILES } from './deployment.js';
import { CoordinatorHttpClient, waitForFit, waitForQuery } from './http-client.js';
import { fitRoundLimit, fitRoundText } from './query-command.js';
import { spawnService, type ServiceProcess } from '../bench/spawn-service.js';
import { findChromium, renderPdf } from '../coordinator/http-report-pdf.js';

export const DEMO_HELP = `fedmart demo — run the whole system locally and check it against the pooled answer

Usage: fedmart demo [--shops N] [--seed S] [--dir DIR] [--keep]

  --shops N   synthetic shops, one merchant process each (default 5)
  --seed S    data seed (default 42)
  --dir DIR   work folder (default: a new temporary folder)
  --keep      keep the work folder (data, keys, database, logs) afterwards
  --report F  where to write the signed audit report (default out/demo/audit-report.json;
              the .html report and CSV tables go beside it, and the .pdf when Chromium is installed)

Exit code 0 when the released table, the churn model and the formula model match the pooled
plaintext answers and the audit report verifies.`;

function step(message: string): void {
  process.stdout.write(`• ${message}\n`);
}

export async function demoCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    shops: { type: 'string' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    keep: { type: 'boolean' },
    report: { type: 'string' },
  });
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const shops = integer(values, 'shops', 5, 3, 50);
  const seed = typeof values.seed === 'string' ? values.seed : '42';
  const dir = typeof values.dir === 'string' ? values.dir : mkdtempSync(join(tmpdir(), 'fedmart-demo-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const started = Date.now();
  const services: ServiceProcess[] = [];
  try {
    await cryptoReady();
    step(`writing ${shops} synthetic shops (seed ${seed}) to ${dir}/data`);
    // Each shop's pseudonym key goes to its node's state folder, not into the export.
    const manifest = await writeSynth(join(dir, 'data'), { shops, seed, stateDir: join(dir, 'merchant-state') });
    const deploymentDir = join(dir, 'deployment');
    const deployment = await createDeployment(deploymentDir);
    const caFile = join(deploymentDir, DEPLOYMENT_FILES.caCert);
    step(`TLS on every connection: fedmart init made a CA and certificates in ${deploymentDir} (merchants and HTTP pin the CA; coordinator ↔ key holder mutual TLS)`);

    step('starting the key holder');
    const keyholder = await spawnService(['keyholder', '--data', join(dir, 'keyholder'), '--listen', '127.0.0.1:0', '--deployment', deploymentDir],
      join(logs, 'keyholder.log'));
    services.push(keyholder);
    const keyholderKey = String(keyholder.ready.signingKey);

    step('starting the coordinator (embedded PGlite database)');
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url');
    const coordinator = await spawnService(
      ['coordinator', '--keyholder', String(keyholder.ready.address), '--keyholder-key', keyholderKey,
        '--db', join(dir, 'coordinator-db'), '--deployment', deploymentDir, '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0'],
      join(logs, 'coordinator.log'),
      { FEDMART_API_TOKEN: token },
    );
    services.push(coordinator);

    // The administrator's side (fedmart enrol-token): one one-time token per shop from the enrolment authority.
    const authoritySeed = readSeedFile(join(deploymentDir, DEPLOYMENT_FILES.enrolmentAuthoritySeed), 'authority');
    const tokens = new Map(manifest.shops.map((shop) => [shop.shopId, issueEnrolmentToken({ authoritySeed, merchantId: shop.shopId })]));
    step(`starting ${shops} merchant nodes, each enrolling with its own one-time token from the enrolment authority`);
    const merchants = await Promise.all(
      manifest.shops.map((shop) =>
        spawnService(
          ['merchant', '--id', shop.shopId, '--data', join(dir, 'data', shop.dir), '--state', join(dir, 'merchant-state', shop.shopId),
            '--coordinator', String(coordinator.ready.grpc), '--coordinator-ca', caFile, '--keyholder-key', keyholderKey, '--poll-ms', '200'],
          join(logs, `${shop.shopId}.log`),
          // In the environment, not on the command line where other users' ps would show it.
          { FEDMART_ENROL_TOKEN: tokens.get(shop.shopId)! },
        ),
      ),
    );
    services.push(...merchants);

    step('asking for segment statistics per lifecycle stage');
    const api = new CoordinatorHttpClient(String(coordinator.ready.http), token, { ca: readFileSync(caFile) });
    const created = await api.request<{ queryId: string }>('POST', '/v1/queries', {
      kind: 'segment-stats',
      spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' },
      targetMerchants: shops,
      deadlineSeconds: 120,
    });
    let last = -1;
    const done = await waitForQuery(api, created.queryId, {
      timeoutMs: 120_000,
      onProgress: (q) => {
        if (q.contributions !== last) {
          last = q.contributions;
          step(`  ${q.contributions}/${q.targetMerchants} merchants answered (${q.status})`);
        }
      },
    });
    if (done.status !== 'released') {
      console.error(`demo: query ${done.queryId} ${done.status}: ${done.statusReason ?? ''}`);
      return 1;
    }
    const release = await api.request<{ releaseJson: string; signature: string; keyholderSigningKey: string; release: { attestedSubjects: number } }>(
      'GET', `/v1/queries/${created.queryId}/release`);
    const signatureOk = release.keyholderSigningKey === keyholderKey &&
      verifyReleaseSignature(release.releaseJson, fromHex(release.signature), fromHex(keyholderKey));
    step(`release signed by the key holder: ${signatureOk ? 'signature verified' : 'SIGNATURE INVALID'}; ${release.release.attestedSubjects} consented subjects attested by the shops`);

    const pooled = pooledSegmentStats(await loadPooledData(join(dir, 'data', 'pooled')));
    const released = done.result as SegmentStatsTable;
    console.log('');
    console.log(formatSegmentTable(released, pooled));
    const diff = largestRelativeDifference(released, pooled);
    console.log('');

    // A churn-propensity model, fitted over encrypted rounds, beside the pooled fit.
    step('fitting a churn-propensity model (流失倾向) by federated Newton–IRLS over encrypted rounds');
    const features = ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'] as const;
    const fitSpec = { purpose: 'churn-modelling', features, label: 'churning', holdoutPercent: 20 };
    const fitCreated = await api.request<{ fitId: string }>('POST', '/v1/fits', {
      kind: 'logistic-regression',
      spec: fitSpec,
      targetMerchants: shops,
      roundDeadlineSeconds: 60,
    });
    const fitLimit = fitRoundLimit('logistic-regression', fitSpec);
    const fit = await waitForFit(api, fitCreated.fitId, (round, status) => step(`  ${fitRoundText(round, fitLimit)}: ${status}`));
    if (fit.status !== 'done' || !fit.model || !fit.evaluation) {
      console.error(`demo: fit ${fitCreated.fitId} ${fit.status}: ${fit.statusReason ?? ''}`);
      return 1;
    }
    const shopDirs = manifest.shops.map((s) => ({ shopId: s.shopId, dir: join(dir, 'data', s.dir), stateDir: join(dir, 'merchant-state', s.shopId) }));
    const trainRows = await pooledFeatureRows(shopDirs, 'churn-modelling', features, 'churning', { holdoutPercent: 20, part: 'train' });
    const pooledFit = pooledLogisticFit(trainRows, features.length, features.map(() => 0));
    console.log('');
    console.log(`feature            federated β   std. error     pooled β   relative diff`);
    let worstModel = 0;
    features.forEach((f, j) => {
      const b = fit.model!.coefficients[j]!;
      const p = pooledFit.beta[j]!;
      const rel = Math.abs(b - p) / Math.max(Math.abs(p), 1e-12);
      worstModel = Math.max(worstModel, rel);
      console.log(`${f.padEnd(16)} ${b.toFixed(6).padStart(12)} ${fit.model!.standardErrors[j]!.toFixed(6).padStart(12)} ${p.toFixed(6).padStart(12)}   ${rel.toExponential(2)}`);
    });
    console.log(`${fit.model.rounds} rounds over ${fit.model.trainingRows} training rows; held-out AUC ${fit.evaluation.auc?.toFixed(4)} (${fit.evaluation.n} rows), log-loss ${fit.evaluation.logLoss?.toFixed(4)}, accuracy ${fit.evaluation.accuracy?.toFixed(4)}`);
    const scoreFile = join(dirname(typeof values.report === 'string' ? values.report : join('out', 'demo', 'audit-report.json')), `${manifest.shops[0]!.shopId}-churn-scores.csv`);
    mkdirSync(dirname(scoreFile), { recursive: true });
    const scorer = spawnSync(process.execPath, [fileURLToPath(new URL('../bin/fedmart.mjs', import.meta.url)), 'merchant', 'score',
      '--id', manifest.shops[0]!.shopId, '--data', shopDirs[0]!.dir, '--state', join(dir, 'merchant-state', manifest.shops[0]!.shopId),
      '--coordinator', String(coordinator.ready.grpc), '--coordinator-ca', caFile, '--model', fitCreated.fitId, '--out', scoreFile], { encoding: 'utf8' });
    step(`${manifest.shops[0]!.shopId} scores its own customers locally: ${scorer.stdout.trim() || scorer.stderr.trim()}`);
    console.log('');

    // A model an analyst writes as an R formula over per-customer aggregates and a categorical column.
    step('fitting a formula model (R syntax) from encrypted moment sums in one round');
    const formulaSpec = {
      purpose: 'marketing-analytics',
      data: 'customers',
      asOf: '2026-01-01T00:00:00Z',
      formula: 'log1p(spend) ~ n_orders + days_since_last + C(lifecycle_stage)',
      aggregates: { spend: 'sum(order.amount)', n_orders: 'count(orders)', days_since_last: 'days_since(order.ordered_at)' },
    };
    step(`  ${formulaSpec.formula}`);
    const lmCreated = await api.request<{ queryId: string }>('POST', '/v1/queries', { kind: 'linear-model', spec: formulaSpec, targetMerchants: shops, deadlineSeconds: 120 });
    const lmDone = await waitForQuery(api, lmCreated.queryId, { timeoutMs: 120_000 });
    if (lmDone.status !== 'released') {
      console.error(`demo: formula model ${lmDone.queryId} ${lmDone.status}: ${lmDone.statusReason ?? ''}`);
      return 1;
    }
    const lm = lmDone.result as LinearModelResult;
    const pooledLm = await pooledLinearModel(shopDirs, formulaSpec);
    const lmRows: [string, number, number | null, number][] = [
      ['(Intercept)', lm.intercept!.estimate, lm.intercept!.standardError, pooledLm.intercept!.estimate],
      ...lm.coefficients.map((c, i): [string, number, number | null, number] => [c.feature, c.estimate, c.standardError, pooledLm.coefficients[i]!.estimate]),
    ];
    console.log('');
    console.log(`${'coefficient'.padEnd(28)}   federated β   std. error     pooled β   relative diff`);
    let worstFormula = 0;
    for (const [name, b, se, p] of lmRows) {
      const rel = Math.abs(b - p) / Math.max(Math.abs(p), 1e-12);
      worstFormula = Math.max(worstFormula, rel);
      console.log(`${name.padEnd(28)} ${b.toFixed(6).padStart(13)} ${(se ?? NaN).toFixed(6).padStart(12)} ${p.toFixed(6).padStart(12)}   ${rel.toExponential(2)}`);
    }
    console.log(`${lm.n} customers, R² ${lm.rSquared?.toFixed(4)}; names as R's lm prints them`);
    console.log('');

    step('exporting the signed audit report (合规审计报告) and verifying it offline');
    const bundle = await api.request<AuditBundle>('POST', '/v1/audit/exports', { from: new Date(started - 60_000).toISOString(), to: new Date().toISOString() });
    const auditKey = deployment.coordinator.auditSigningPublicKey;
    const verification = verifyAuditBundle(bundle, { publicKeyHex: auditKey });
    const reportFile = typeof values.report === 'string' ? values.report : join('out', 'demo', 'audit-report.json');
    const written = writeAuditReport(reportFile, bundle, verification);
    console.log(describeVerification(verification));
    for (const row of bundle.sections.consentSummary) {
      const reasons = Object.entries(row.excludedByReason).map(([r, n]) => `${r} ${n}`).join(', ');
      console.log(`  consent for ${row.purpose}: ${row.subjectsIncluded} subjects included, ${row.subjectsExcluded} excluded (${reasons})`);
    }
    step(`audit report: ${written[0]} and ${written[1]}`);
    const chromium = findChromium();
    if (chromium === null) step('no headless Chromium installed: the PDF report is skipped (install Debian chromium and fonts-noto-cjk)');
    else {
      const pdfFile = written[1]!.replace(/\.html$/, '.pdf');
      try {
        writeFileSync(pdfFile, await renderPdf(readFileSync(written[1]!, 'utf8'), { chromium }));
        step(`PDF report (A4, contents and page numbers): ${pdfFile}`);
      } catch (err) {
        step(`PDF report not written: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }
    step(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (!signatureOk || diff === null || diff.value > 1e-9) {
      console.error(`demo: released table differs from the pooled answer (largest relative difference ${diff?.value ?? 'n/a'})`);
      return 1;
    }
    if (!verification.ok) {
      console.error('demo: the audit report does not verify');
      return 1;
    }
    if (worstFormula > 1e-9) {
      console.error(`demo: the formula model differs from the pooled fit (${worstFormula.toExponential(2)})`);
      return 1;
    }
    if (worstModel > 1e-6 || scorer.status !== 0) {
      console.error(`demo: the federated model differs from the pooled fit (${worstModel.toExponential(2)}) or scoring failed`);
      return 1;
    }
    return 0;
  } finally {
    await Promise.all(services.map((s) => s.stop()));
    if (!values.keep && typeof values.dir !== 'string') rmSync(dir, { recursive: true, force: true });
    else step(`work folder kept: ${dir}`);
  }
}
