/**
 * `fedmart merchant score` with a gradient-boosted-trees model, on a real
 * cluster (key holder, coordinator, three merchant nodes on synthetic shops,
 * SEAL, gRPC on 127.0.0.1, PGlite): a customer model (data: customers, asOf,
 * per-customer aggregates, a built-in categorical) is fitted over encrypted
 * rounds; one shop then scores its own consented customers, in process and
 * through the CLI. The scores must equal the stored trees walked by hand over
 * rows built in this test straight from the shop's orders (count and mean
 * amount before asOf, lifecycle stage), customers without an order before
 * asOf (no mean) left out and only counted. An unknown fit, a fit without a
 * model yet, are refused with their codes, and the CLI says so in one line.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import { LIFECYCLE_STAGES } from '../../analytics/shop-data.js';
import { ModelScoringError, defaultStateDir, loadShopCompliance, loadShopData, type MerchantNode } from '../../client-sdk/index.js';
import { PSEUDONYM_KEY_FILE } from '../../client-sdk/pseudonym-key.js';
import { DEFAULT_PURPOSE_REGISTRY, getPurpose } from '../../compliance/index.js';
import { api, startCluster, type Cluster } from '../../harness/cluster.js';
import { makeMerchants, makeShops, type SynthShops } from '../../harness/shops.js';
import { walkGbt } from '../helpers/gbt-walk.js';
import { driveFit } from '../helpers/store-week.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));
const K = 10;
const PURPOSE = 'marketing-analytics';
const AS_OF = '2026-01-01T00:00:00Z';
const SPEC = {
  purpose: PURPOSE,
  data: 'customers',
  asOf: AS_OF,
  aggregates: { returned_any: 'max(order.returned)', n_orders: 'count(orders)', avg_spend: 'mean(order.amount)' },
  label: { name: 'returned_any', type: 'binary' },
  variables: [
    { name: 'n_orders', type: 'numeric', edges: [2, 3, 5, 8] },
    { name: 'avg_spend', type: 'numeric', edges: [50, 100, 200, 400, 800] },
    { name: 'lifecycle_stage', type: 'categorical', levels: [...LIFECYCLE_STAGES] },
  ],
  trees: 2,
  depth: 2,
  learningRate: 0.5,
};

interface FitView {
  fitId: string;
  status: string;
  statusReason: string | null;
  round: number;
  model: GbtFitModel | null;
}

/**
 * A state folder for the CLI as the running node's would be: its signing key
 * and key evidence (the in-process node keeps them in a folder of its own) and
 * the shop's pseudonym key (in the export's default state folder here).
 */
function nodeState(nodeStateDir: string, shopDir: string, parent: string): string {
  const dir = mkdtempSync(join(parent, 'state-'));
  for (const f of readdirSync(nodeStateDir)) if (statSync(join(nodeStateDir, f)).isFile()) copyFileSync(join(nodeStateDir, f), join(dir, f));
  copyFileSync(join(defaultStateDir(shopDir), PSEUDONYM_KEY_FILE), join(dir, PSEUDONYM_KEY_FILE));
  return dir;
}

/** A state folder with the shop's pseudonym key but a signing key of its own, never enrolled. */
function strangerState(shopDir: string, parent: string): string {
  const dir = mkdtempSync(join(parent, 'stranger-'));
  copyFileSync(join(defaultStateDir(shopDir), PSEUDONYM_KEY_FILE), join(dir, PSEUDONYM_KEY_FILE));
  return dir;
}

/** Runs `fedmart merchant score ...`; resolves with the exit code and output once it ends. */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'merchant', 'score', ...args], { env: { ...process.env, FEDMART_API_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Lines of stderr that are not JSON log lines. */
const plainLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

describe('scoring a gradient-boosted-trees customer model at the shop', () => {
  let cluster: Cluster;
  let shops: SynthShops;
  let merchants: MerchantNode[] = [];
  let fit: FitView;
  const out = mkdtempSync(join(tmpdir(), 'fedmart-gbt-score-'));
  /** Shop 0's consented customers by own id: the variables built here, or null when a variable is missing. */
  const expected = new Map<string, Record<string, number | string> | null>();

  beforeAll(async () => {
    cluster = await startCluster({ minSubjects: K });
    shops = await makeShops(3, 'gbt-score', { customersPerShop: { min: 200, max: 400 } });
    merchants = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const created = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'gradient-boosted-trees', spec: SPEC, targetMerchants: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    fit = await driveFit(async () => (await api<FitView>(cluster, 'GET', `/v1/fits/${created.body.fitId}`)).body, merchants);

    // Shop 0's rows, from its export: consented customers (the ledger's filter at now), orders before asOf.
    const shop = shops.shopDirs[0]!;
    const data = await loadShopData(shop.dir, shop.shopId);
    const compliance = await loadShopCompliance(shop.dir);
    const filter = compliance.ledger.filterForRound({ purpose: getPurpose(DEFAULT_PURPOSE_REGISTRY, PURPOSE), cutoff: new Date(), customerIds: data.customers.map((c) => c.customerId) });
    const asOf = Date.parse(AS_OF) / 1000;
    for (const c of data.customers) {
      if (!filter.includedCustomerIds.has(c.customerId)) continue;
      const amounts = data.orders.filter((o) => o.customerId === c.customerId && o.orderedUnixS < asOf).map((o) => Number(o.amountCents) / 100);
      expected.set(c.customerId, amounts.length === 0 ? null : { n_orders: amounts.length, avg_spend: amounts.reduce((a, b) => a + b, 0) / amounts.length, lifecycle_stage: c.lifecycleStage });
    }
  }, 400_000);

  afterAll(async () => {
    for (const m of merchants) m.close();
    await cluster?.close();
    rmSync(out, { recursive: true, force: true });
    if (shops) rmSync(shops.dir, { recursive: true, force: true });
  });

  it("scores the shop's own consented customers as the stored trees walked by hand, leaving out and counting those missing a variable", async () => {
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model!;
    expect(model.trees.some((t) => t.nodes.some((n) => n.kind === 'split'))).toBe(true);
    const scored = await merchants[0]!.scoreCustomers(fit.fitId);
    expect(scored).toMatchObject({ kind: 'gradient-boosted-trees', idColumn: 'customer_id', output: 'probability', label: 'returned_any' });
    const scorable = [...expected].filter(([, x]) => x !== null);
    expect(scored.leftOut).toBe(expected.size - scorable.length);
    expect(scored.scores.map((s) => s.id).sort()).toEqual(scorable.map(([id]) => id).sort());
    let worst = 0;
    for (const s of scored.scores) worst = Math.max(worst, Math.abs(s.score - walkGbt(model, expected.get(s.id)!)));
    expect(worst).toBeLessThan(1e-12);
    expect(new Set(scored.scores.map((s) => s.score.toFixed(12))).size).toBeGreaterThan(1);
    console.log(`gbt score: ${scored.scores.length} customers scored, ${scored.leftOut} left out (no order before asOf), largest difference to the hand walk ${worst.toExponential(2)}`);

    // The CLI writes the same scores, one line per customer, and says how many were left out.
    const file = join(out, 'scores.csv');
    const shop = shops.shopDirs[0]!;
    const run = await cli(['--id', shop.shopId, '--data', shop.dir, '--state', nodeState(merchants[0]!.stateDir, shop.dir, out), '--coordinator', cluster.coordinator.grpcAddress, '--model', fit.fitId, '--out', file]);
    expect(run.code, run.stderr).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('customer_id,score');
    expect(lines.slice(1).sort()).toEqual(scored.scores.map((s) => `${s.id},${s.score.toFixed(6)}`).sort());
    expect(run.stdout).toContain(`scored ${scored.scores.length} customers with gradient-boosted-trees (probability of returned_any)`);
    if (scored.leftOut > 0) expect(run.stdout).toContain(`${scored.leftOut} customers left out`);

    // A .json file gets the scores as computed, with what they are.
    const jsonFile = join(out, 'scores.json');
    const jsonRun = await cli(['--id', shop.shopId, '--data', shop.dir, '--state', nodeState(merchants[0]!.stateDir, shop.dir, out), '--coordinator', cluster.coordinator.grpcAddress, '--model', fit.fitId, '--out', jsonFile]);
    expect(jsonRun.code, jsonRun.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(jsonFile, 'utf8')) as { model: string; output: string; idColumn: string; leftOut: number; scores: { id: string; score: number }[] };
    expect(doc).toMatchObject({ model: fit.fitId, output: 'probability', idColumn: 'customer_id', leftOut: scored.leftOut });
    expect([...doc.scores].sort((a, b) => a.id.localeCompare(b.id))).toEqual([...scored.scores].map((s) => ({ id: s.id, score: s.score })).sort((a, b) => a.id.localeCompare(b.id)));
  }, 120_000);

  it('refuses an unknown fit and a fit without a model yet, with their codes and one line from the CLI', async () => {
    const unknown = await merchants[0]!.scoreCustomers('fit-0123456789abcdef').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ModelScoringError);
    expect((unknown as ModelScoringError).code).toBe('MODEL_UNKNOWN');
    // A second fit nobody answers: it stays at its first round, without a model.
    const running = await api<FitView>(cluster, 'POST', '/v1/fits', { kind: 'gradient-boosted-trees', spec: SPEC, targetMerchants: 3 });
    expect(running.status).toBe(201);
    const notReady = await merchants[0]!.scoreCustomers(running.body.fitId).catch((e: unknown) => e);
    expect(notReady).toBeInstanceOf(ModelScoringError);
    expect((notReady as ModelScoringError).code).toBe('MODEL_NOT_READY');
    expect((notReady as ModelScoringError).message).toMatch(/running/);

    const shop = shops.shopDirs[0]!;
    for (const [id, code] of [['fit-0123456789abcdef', 'MODEL_UNKNOWN'], [running.body.fitId, 'MODEL_NOT_READY']] as const) {
      const run = await cli(['--id', shop.shopId, '--data', shop.dir, '--state', nodeState(merchants[0]!.stateDir, shop.dir, out), '--coordinator', cluster.coordinator.grpcAddress, '--model', id, '--out', join(out, `${code}.csv`)]);
      expect(run.code).toBe(1);
      const said = plainLines(run.stderr);
      expect(said, run.stderr).toHaveLength(1);
      expect(said[0]).toMatch(new RegExp(`^fedmart merchant: cannot score with ${id}: .*\\[${code}\\]$`));
    }
    // A node whose --state holds another key than the one enrolled (the default folder, never enrolled here) gets no model.
    const stranger = await cli(['--id', shop.shopId, '--data', shop.dir, '--state', strangerState(shop.dir, out), '--coordinator', cluster.coordinator.grpcAddress, '--model', running.body.fitId, '--out', join(out, 'stranger.csv')]);
    expect(stranger.code).toBe(1);
    const said = plainLines(stranger.stderr);
    expect(said, stranger.stderr).toHaveLength(1);
    expect(said[0]).toMatch(/^fedmart merchant: cannot score with .*: the coordinator gives models to enrolled shops only; this node's key is not the one enrolled for shop-\d+ \(SIGNATURE_INVALID\).*\[MODEL_ACCESS_REFUSED\]$/);
  }, 120_000);
});
