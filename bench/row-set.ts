/**
 * `npm run bench:row-set`: what the row-set differencing defence costs.
 * For synthetic shops of growing size, the shop-side cost of one sketch (the
 * row contents of a logistic round, the sketch itself, and the same rows
 * again as the next round of a fit gives them) at k = 10, beside the round's
 * own statistic; and the key holder's cost of comparing one new release
 * with a purpose's earlier releases (5 shops, 5 fields) when they differ by
 * a few customers and when they are equal. Prints a table and writes
 * bench/row-set-results.json. Medians of repeated runs; figures depend on
 * the load of the machine, which is printed with them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getQueryDefinition, rowContents, type RowContents } from '../analytics/index.js';
import { loadShopCompliance, loadShopData, roundView } from '../client-sdk/index.js';
import { buildRowSetSketch, compareRowSets, getPurpose, releaseRowSet, rowSetPowers } from '../compliance/index.js';
import { cryptoReady } from '../crypto/index.js';
import { writeSynth } from '../synth/index.js';

const K = 10;
const REPEAT = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(f: () => unknown): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

async function main(): Promise<void> {
  await cryptoReady();
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-bench-rowset-'));
  const rows: Record<string, number | string>[] = [];
  try {
    const logistic = getQueryDefinition('logistic-irls-round');
    const lspec = logistic.parseSpec({ kind: 'logistic-irls-round', purpose: 'churn-modelling', features: ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'], label: 'churning', fitId: 'f', round: 1, beta: [0, 0, 0, 0, 0, 0] });
    for (const customers of [500, 2000, 8000]) {
      const manifest = await writeSynth(join(dir, String(customers)), { shops: 1, seed: 7, customersPerShop: customers });
      const s = manifest.shops[0]!;
      const data = await loadShopData(join(dir, String(customers), s.dir), s.shopId);
      const compliance = await loadShopCompliance(join(dir, String(customers), s.dir));
      const purpose = getPurpose(compliance.registry, 'churn-modelling');
      const filter = compliance.ledger.filterForRound({ purpose, cutoff: new Date(), customerIds: data.customers.map((c) => c.customerId) });
      const view = roundView(data, filter.includedCustomerIds, purpose, compliance.pseudonymKey);
      let contents: RowContents | undefined;
      const contentsMs = median(Array.from({ length: REPEAT }, () => time(() => (contents = rowContents(view, logistic.inputFields(lspec), logistic.rowScope?.(lspec))))));
      // A new key each time: a first sketch; then the same inputs again, as the next round of a fit gives them.
      const sketchMs = median(Array.from({ length: REPEAT }, (_, r) => time(() => buildRowSetSketch(contents!, rowSetPowers(K), new Uint8Array(32).fill(r + 1)))));
      const againMs = median(Array.from({ length: REPEAT }, () => time(() => buildRowSetSketch(contents!, rowSetPowers(K), new Uint8Array(32).fill(1)))));
      const statMs = median(Array.from({ length: REPEAT }, () => time(() => logistic.computeLocal(lspec, view))));
      rows.push({ what: 'shop: one logistic round', customersInScope: contents!.customers.size, fields: contents!.fields.length, rowContentsMs: +contentsMs.toFixed(1), sketchMs: +sketchMs.toFixed(1), sameRowsAgainMs: +againMs.toFixed(1), statisticMs: +statMs.toFixed(1) });
      process.stderr.write(`• ${customers} customers: contents ${contentsMs.toFixed(1)} ms, sketch ${sketchMs.toFixed(1)} ms (same rows again ${againMs.toFixed(1)} ms), statistic ${statMs.toFixed(1)} ms\n`);
    }

    // Key holder: one release of 5 shops x 2000 customers x 5 fields against earlier ones.
    const fields = ['a.x', 'b.x', 'c.x', 'd.x', 'e.x'];
    const shop = (m: number, changed: number): RowContents => ({
      fields,
      customers: new Map(Array.from({ length: 2000 }, (_, i) => [`s${m}-c${i}`, new Map(fields.map((f) => [f, i < changed ? `v${i}-changed` : `v${i}`]))])),
      shop: new Map(),
    });
    const key = (m: number) => new Uint8Array(32).fill(m + 1);
    const release = (changed: number) => releaseRowSet(new Map(Array.from({ length: 5 }, (_, m) => [`shop-${m}`, buildRowSetSketch(shop(m, m === 0 ? changed : 0), rowSetPowers(K), key(m))])));
    const base = release(0);
    for (const changed of [0, 3, 50]) {
      const next = release(changed);
      const ms = median(Array.from({ length: 20 }, () => time(() => compareRowSets(base, next))));
      const c = compareRowSets(base, next);
      rows.push({ what: 'key holder: compare two releases', differingCustomers: changed, counted: c.customers === null ? 0 : `${c.customers.exact ? '' : '>='}${c.customers.count}`, compareMs: +ms.toFixed(2) });
      process.stderr.write(`• compare with ${changed} customers differing: ${ms.toFixed(2)} ms\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const load = loadavg().map((x) => +x.toFixed(2));
  const out = { k: K, load, node: process.version, rows };
  writeFileSync(join(import.meta.dirname, 'row-set-results.json'), JSON.stringify(out, null, 1) + '\n');
  console.table(rows);
  console.log(`load average ${load.join(' ')}; written to bench/row-set-results.json`);
}

await main();
