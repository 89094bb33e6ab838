/**
 * Simulated merchant nodes for the load benchmark. Each one has its own
 * Ed25519 key, its own gRPC channel to the coordinator, its own enrolment
 * and its own signed envelope over a freshly encrypted contribution. Their
 * statistics come from a few real synthetic shops (merchant i computes on
 * shop i mod K), through the same steps a MerchantNode takes: consent filter
 * at the cutoff, de-identified round view, local statistic, slot encoding,
 * BFV encryption under the key holder's key, consent attestation bound to
 * the merchant and the query, signature. Only one SEAL context is shared
 * (a MerchantNode each would cost a context per merchant).
 */
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  HeEncryptor,
  enrolmentDigest,
  enrolmentEvidence,
  generateSigningKeyPair,
  issueEnrolmentToken,
  keyEvidenceUpTo,
  signDigest,
  type HeContext,
  type SigningKeyPair,
} from '../crypto/index.js';
import type { ShopData } from '../analytics/index.js';
import { attestationFor, localStatistic, signedHeader } from '../round/index.js';
import { loadShopCompliance, loadShopData, CHUNK_BYTES, type ShopCompliance } from '../client-sdk/index.js';
import {
  MerchantServiceClient,
  callUnary,
  checkPublicKeyBundle,
  errorCodeOf,
  keyEvidenceToWire,
  type ContributionHeader,
  type OpenQuery,
  type PublicKeyBundle,
} from '../protos/index.js';
import { writeSynth } from '../synth/index.js';

export interface SimulatedMerchant {
  readonly merchantId: string;
  readonly keys: SigningKeyPair;
  /** Its own channel (a local subchannel pool, so its own TCP connection). */
  readonly client: MerchantServiceClient;
  /** Index of the synthetic shop whose data it answers from. */
  readonly shop: number;
}

export function createMerchants(prefix: string, count: number, coordinatorGrpc: string, shops: number): SimulatedMerchant[] {
  return Array.from({ length: count }, (_, i) => ({
    merchantId: `${prefix}-${String(i).padStart(4, '0')}`,
    keys: generateSigningKeyPair(),
    client: new MerchantServiceClient(coordinatorGrpc, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
    }),
    shop: i % shops,
  }));
}

export function closeMerchants(merchants: readonly SimulatedMerchant[]): void {
  for (const m of merchants) m.client.close();
}

/**
 * Enrols one simulated merchant with the coordinator as the administrator
 * and MerchantNode.enrol() would: a one-time token issued for this merchant
 * by the enrolment authority (`fedmart enrol-token`), the key evidence made
 * from it, the merchant's key and its proof of possession. The one place to
 * change when enrolment changes.
 */
export async function enrolMerchant(m: SimulatedMerchant, authoritySeed: Uint8Array): Promise<void> {
  const token = issueEnrolmentToken({ authoritySeed, merchantId: m.merchantId });
  const evidence = enrolmentEvidence(token, m.merchantId, m.keys.publicKey);
  await callUnary(m.client.enroll.bind(m.client), {
    merchantId: m.merchantId,
    signingPublicKey: Buffer.from(m.keys.publicKey),
    proofOfPossession: Buffer.from(signDigest(enrolmentDigest(m.merchantId, m.keys.publicKey), m.keys.secretKey)),
    keyEvidence: keyEvidenceToWire(keyEvidenceUpTo(evidence, 0)),
  });
}

/** Runs `task` over `items`, at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) await task(items[i]!, i);
  }));
}

export interface ShopTemplate {
  readonly data: ShopData;
  readonly compliance: ShopCompliance;
}

/** Writes `count` synthetic shops under `dir` and loads them. */
export async function loadShopTemplates(dir: string, count: number): Promise<ShopTemplate[]> {
  const manifest = await writeSynth(dir, { shops: count, seed: 'load-bench', customersPerShop: { min: 50, max: 120 } });
  return Promise.all(manifest.shops.map(async (s) => {
    const shopDir = join(dir, s.dir);
    return { data: await loadShopData(shopDir, s.shopId), compliance: await loadShopCompliance(shopDir) };
  }));
}

/** Fetches the coordinator's public key bundle through `m` and checks it against the pinned key holder key. */
export async function fetchPublicKey(m: SimulatedMerchant, ctx: HeContext, keyholderKeyHex: string): Promise<PublicKeyBundle> {
  const bundle = await callUnary(m.client.getPublicKey.bind(m.client), {});
  checkPublicKeyBundle(bundle, ctx, keyholderKeyHex);
  return bundle;
}

export async function openQuery(m: SimulatedMerchant, queryId: string): Promise<OpenQuery> {
  const res = await callUnary(m.client.listOpenQueries.bind(m.client), { merchantId: m.merchantId });
  const q = res.queries.find((x) => x.queryId === queryId);
  if (!q) throw new Error(`query ${queryId} is not open`);
  return q;
}

export interface PreparedContribution {
  readonly header: ContributionHeader;
  readonly body: Uint8Array;
}

/**
 * Builds every merchant's contribution to `query`: the statistic and slots
 * of each shop once, then per merchant a fresh encryption, its own
 * attestation and its own signature.
 */
export function prepareContributions(
  ctx: HeContext,
  bundle: PublicKeyBundle,
  query: OpenQuery,
  shops: readonly ShopTemplate[],
  merchants: readonly SimulatedMerchant[],
  progress: (done: number) => void,
): PreparedContribution[] {
  // The shop's side of the round once per shop template (round/contribute.ts), then per merchant its own attestation, encryption and signature.
  const perShop = shops.map((shop) => localStatistic(ctx, query, shop));
  const encryptor = new HeEncryptor(ctx, bundle.publicKey);
  try {
    return merchants.map((m, i) => {
      const stat = perShop[m.shop]!;
      const attestation = attestationFor(stat, m.merchantId);
      const ciphertexts = stat.slots.map((slots) => encryptor.encryptPacked(slots));
      const header = signedHeader(stat, m.merchantId, attestation, ciphertexts, (digest) => signDigest(digest, m.keys.secretKey));
      if (i % 50 === 49) progress(i + 1);
      return { header, body: Buffer.concat(ciphertexts) };
    });
  } finally {
    encryptor.close();
  }
}

export interface SubmitOutcome {
  /** 'ACCEPTED', or the coordinator's fedmart error code, or the gRPC status name if it sent none. */
  readonly code: string;
  readonly grpcStatus: string;
  /** The status details of a refusal. */
  readonly details?: string;
  readonly startedMs: number;
  readonly endedMs: number;
}

/** Streams one contribution (header, then 256 KiB chunks) on the merchant's own channel; never rejects. */
export function submitContribution(m: SimulatedMerchant, p: PreparedContribution, timeoutMs: number): Promise<SubmitOutcome> {
  const startedMs = performance.now();
  return new Promise((resolve) => {
    const call = m.client.submitContribution(new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err: ServiceError | null) => {
      const endedMs = performance.now();
      if (!err) resolve({ code: 'ACCEPTED', grpcStatus: 'OK', startedMs, endedMs });
      else resolve({ code: errorCodeOf(err) ?? status[err.code] ?? 'UNKNOWN', grpcStatus: status[err.code] ?? String(err.code), details: err.details, startedMs, endedMs });
    });
    call.on('error', () => undefined);
    void (async () => {
      const write = async (msg: Parameters<typeof call.write>[0]) => {
        if (!call.write(msg)) await new Promise((r) => call.once('drain', r));
      };
      await write({ header: p.header });
      for (let off = 0; off < p.body.length; off += CHUNK_BYTES) await write({ data: Buffer.from(p.body.subarray(off, off + CHUNK_BYTES)) });
      call.end();
    })().catch(() => undefined);
  });
}
