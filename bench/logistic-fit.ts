/**
 * Wall time of a federated churn-propensity fit (Newton–IRLS) with
 * encryption against the same federated fit in plaintext and a pooled fit,
 * for several shop counts, plus the bytes each shop sends per round. All in
 * one process, without the network, so the ratio isolates the cost of the
 * cryptography: encode + encrypt + sign at each shop, validate + add at the
 * coordinator, decrypt + decode at the key holder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HeContext,
  HeDecryptor,
  HeEncryptor,
  MAX_ENC_ZERO_POOL_SIZE,
  PooledEncryptor,
  type SlotLayout,
  blake2b256,
  generateHeKeys,
  generateSigningKeyPair,
  randomBytes,
  signEnvelope,
  sumPackedContributions,
} from '../crypto/index.js';
import {
  logisticFitDefinition,
  logisticRoundQuery,
  type LogisticFitSpec,
  type LogisticRoundSpec,
  type ShopData,
} from '../analytics/index.js';
import { DEFAULT_PURPOSE_REGISTRY, getPurpose } from '../compliance/index.js';
import { loadShopCompliance, loadShopData, roundView } from '../client-sdk/index.js';
import { ContributionHeader, envelopeOf } from '../protos/index.js';
import { RoundTerms } from '../round/index.js';
import { writeSynth } from '../synth/index.js';
import { pooledFeatureRows, pooledLogisticFit } from '../synth/pooled-model.js';
import { record, BenchCheckError, type BenchRecord } from './records.js';

const FEATURES = ['intercept', 'orders', 'avg_order_value', 'return_rate', 'tenure_years', 'mean_gap_days'] as const;

/** One measured setting: how many shops and how large (customers per shop). */
export interface LogisticBenchSetting {
  readonly name: string;
  readonly shops: number;
  readonly customersPerShop: { readonly min: number; readonly max: number };
}

async function shopViews(setting: LogisticBenchSetting, dir: string): Promise<{ views: ShopData[]; shopDirs: { shopId: string; dir: string }[] }> {
  const manifest = await writeSynth(dir, { shops: setting.shops, seed: `bench-${setting.name}`, customersPerShop: setting.customersPerShop });
  const purpose = getPurpose(DEFAULT_PURPOSE_REGISTRY, 'churn-modelling');
  const views: ShopData[] = [];
  const shopDirs = manifest.shops.map((s) => ({ shopId: s.shopId, dir: join(dir, s.dir) }));
  for (const s of shopDirs) {
    const data = await loadShopData(s.dir, s.shopId);
    const c = await loadShopCompliance(s.dir);
    const f = c.ledger.filterForRound({ purpose, cutoff: new Date(), customerIds: data.customers.map((x) => x.customerId) });
    views.push(roundView(data, f.includedCustomerIds, purpose, c.pseudonymKey));
  }
  return { views, shopDirs };
}

type RoundAggregator = (spec: LogisticRoundSpec, layout: SlotLayout, views: readonly ShopData[]) => { totals: bigint[]; bytesPerShop: number };

/** Runs the fit with `aggregate` doing one round's shop-to-aggregate path. */
function runFit(views: readonly ShopData[], aggregate: RoundAggregator, ctx: HeContext): { beta: number[]; rounds: number; bytesPerShop: number } {
  const fitSpec: LogisticFitSpec = logisticFitDefinition.parseFitSpec({ kind: 'logistic-regression', purpose: 'churn-modelling', features: FEATURES, label: 'churning', holdoutPercent: 20 });
  let state = logisticFitDefinition.initialState(fitSpec);
  let bytesPerShop = 0;
  for (let round = 1; ; round++) {
    const q = logisticFitDefinition.roundQuery(fitSpec, state, round, 'fit-bench');
    const terms = RoundTerms.fromSpec(ctx, q.kind, { ...q.spec, kind: q.kind }, 100);
    const spec = terms.spec as LogisticRoundSpec;
    const layout = terms.layout;
    const { totals, bytesPerShop: b } = aggregate(spec, layout, views);
    bytesPerShop = Math.max(bytesPerShop, b);
    const byField = Object.fromEntries(layout.fields.map((f, i) => [f.name, totals[i]!]));
    const result = logisticRoundQuery.finalise(spec, { cells: { all: { suppressed: false, totals: byField } } });
    const next = logisticFitDefinition.advance(fitSpec, state, result, round);
    if (next.done) return { beta: next.model.coefficients, rounds: round, bytesPerShop };
    state = next.state;
  }
}

export async function runLogisticFitBench(settings: readonly LogisticBenchSetting[], progress: (m: string) => void): Promise<BenchRecord[]> {
  const ctx = await HeContext.create();
  const { publicKey, secretKey } = generateHeKeys(ctx);
  const encryptor = new HeEncryptor(ctx, publicKey);
  const decryptor = new HeDecryptor(ctx, secretKey);
  const signer = generateSigningKeyPair();
  const out: BenchRecord[] = [];
  try {
    for (const setting of settings) {
      const shops = setting.shops;
      const dir = mkdtempSync(join(tmpdir(), 'fedmart-bench-logistic-'));
      try {
        progress(`logistic fit: preparing ${shops} shops`);
        const { views, shopDirs } = await shopViews(setting, dir);

        progress(`logistic fit: ${shops} shops, plaintext federated`);
        let t = performance.now();
        const plain = runFit(views, (spec, layout, vs) => {
          const totals = layout.fields.map(() => 0n);
          for (const v of vs) logisticRoundQuery.computeLocal(spec, v).forEach((x, i) => (totals[i]! += x));
          return { totals, bytesPerShop: layout.fields.length * 8 };
        }, ctx);
        const plainS = (performance.now() - t) / 1000;

        progress(`logistic fit: ${shops} shops, encrypted federated`);
        let ciphertextsMade = 0;
        const encrypted = (encrypt: (slots: BigUint64Array) => Uint8Array): RoundAggregator => (spec, layout, vs) => {
          const contributions: Uint8Array[] = [];
          let bytes = 0;
          for (const v of vs) {
            const cts = layout.encode(logisticRoundQuery.computeLocal(spec, v)).map((slots) => {
              ciphertextsMade++;
              return encrypt(slots);
            });
            const header: ContributionHeader = {
              queryId: 'q-bench', merchantId: 'shop', specDigest: Buffer.alloc(32), keyId: Buffer.alloc(32), paramSet: ctx.paramSet.name,
              layoutDigest: Buffer.from(layout.digest()), ciphertextDigests: cts.map((c) => Buffer.from(blake2b256(c))),
              ciphertextLengths: cts.map((c) => c.length), createdUnixMs: BigInt(Date.now()), nonce: Buffer.from(randomBytes(16)),
              signature: Buffer.alloc(0), consentAttestation: Buffer.alloc(600),
            };
            const signed = { ...header, signature: Buffer.from(signEnvelope(envelopeOf(header), signer.secretKey)) };
            bytes = ContributionHeader.encode(signed).finish().length + cts.reduce((a, c) => a + c.length, 0);
            contributions.push(Buffer.concat(cts));
          }
          const sums = sumPackedContributions(ctx, contributions, layout.ciphertextCount);
          return { totals: layout.decode(sums.map((s) => decryptor.decryptPacked(s))), bytesPerShop: bytes };
        };
        t = performance.now();
        const enc = runFit(views, encrypted((slots) => encryptor.encryptPacked(slots)), ctx);
        const encS = (performance.now() - t) / 1000;

        // The same fit with every shop encrypting from an Enc(0) pool filled before the fit
        // (shops know the key ahead and fill while they wait); the fill is timed on its own.
        progress(`logistic fit: ${shops} shops, encrypted federated from an Enc(0) pool`);
        const poolSize = Math.min(MAX_ENC_ZERO_POOL_SIZE, ciphertextsMade);
        const pooledEncryptor = new PooledEncryptor(ctx, publicKey, { poolSize, autoRefill: false });
        let fillS: number;
        let poolS: number;
        let encPool: ReturnType<typeof runFit>;
        try {
          t = performance.now();
          pooledEncryptor.pool.add(pooledEncryptor.keyId, pooledEncryptor.encryptZerosHere(poolSize));
          fillS = (performance.now() - t) / 1000;
          t = performance.now();
          encPool = runFit(views, encrypted((slots) => pooledEncryptor.encryptPacked(slots)), ctx);
          poolS = (performance.now() - t) / 1000;
          if (pooledEncryptor.fresh !== 0) throw new BenchCheckError(`logistic fit: the Enc(0) pool ran dry (${pooledEncryptor.fresh} fresh encryptions)`);
        } finally {
          pooledEncryptor.close();
        }

        progress(`logistic fit: ${shops} shops, pooled`);
        t = performance.now();
        const rows = await pooledFeatureRows(shopDirs, 'churn-modelling', FEATURES, 'churning', { holdoutPercent: 20, part: 'train' });
        const pooled = pooledLogisticFit(rows, FEATURES.length, FEATURES.map(() => 0));
        const pooledS = (performance.now() - t) / 1000;

        const worst = Math.max(...enc.beta.map((b, j) => Math.abs(b - pooled.beta[j]!) / Math.max(1e-12, Math.abs(pooled.beta[j]!))));
        if (worst > 1e-6 || enc.rounds !== plain.rounds) throw new BenchCheckError(`encrypted fit differs from the pooled fit (${worst}) or the plaintext fit's rounds`);
        if (encPool.rounds !== enc.rounds || encPool.beta.some((b, j) => b !== enc.beta[j])) throw new BenchCheckError('the fit encrypted from the Enc(0) pool differs from the fit encrypted fresh');
        const p = `logistic.${setting.name}`;
        out.push(
          record(`${p}.customers`, views.reduce((a, v) => a + v.customers.length, 0), 'customers', `${shops} shops, ${setting.customersPerShop.min}-${setting.customersPerShop.max} customers each before consent`),
          record(`${p}.rounds`, enc.rounds, 'rounds'),
          record(`${p}.encrypted_fit_s`, encS, 's', 'shops compute, encode, encrypt, sign; coordinator validates and adds; key holder decrypts'),
          record(`${p}.plaintext_fit_s`, plainS, 's', 'the same federated fit with plaintext sums'),
          record(`${p}.pooled_fit_s`, pooledS, 's', 'one table, same Newton-IRLS (feature extraction included)'),
          record(`${p}.encryption_overhead`, encS / plainS, 'x', 'encrypted / plaintext federated; goal < 1.5 (Paillier in FATE ~7x)'),
          record(`${p}.encrypted_pool_fit_s`, poolS, 's', 'as encrypted_fit_s, each shop encrypting from an Enc(0) pool filled before the fit'),
          record(`${p}.pool_fill_s`, fillS, 's', `filling the pools before the fit: ${poolSize} Enc(0)s, one per ciphertext of the fit`),
          record(`${p}.encryption_overhead_pool`, poolS / plainS, 'x', 'encrypted from the pool / plaintext federated (fill not counted: done while shops wait)'),
          record(`${p}.bytes_per_shop_per_round`, enc.bytesPerShop, 'bytes', 'packed ciphertexts + signed header with consent attestation'),
          record(`${p}.max_relative_coefficient_difference`, worst, 'ratio', 'encrypted federated vs pooled coefficients'),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    encryptor.close();
    decryptor.close();
    ctx.close();
  }
  const largest = settings[settings.length - 1];
  const overhead = largest && out.find((r) => r.name === `logistic.${largest.name}.encryption_overhead`);
  if (overhead && largest) out.push(record('logistic.encryption_overhead_largest', overhead.value, 'x', `at ${largest.shops} shops of ${largest.customersPerShop.min}-${largest.customersPerShop.max} customers`));
  return out;
}
