/**
 * The round module on real parts: a real SEAL context and keys, a real
 * synthetic shop on disk, real Ed25519 signatures. The honest contribution
 * checks and decrypts to the shop's own statistic; each way a malicious but
 * enrolled merchant could bend a contribution (re-signing what it bent) is
 * refused by the one check with its own code, which the coordinator and the
 * key holder both send as the same gRPC status.
 */
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HeContext,
  HeDecryptor,
  HeEncryptor,
  blake2b256,
  cryptoReady,
  envelopeDigest,
  generateHeKeys,
  generateSigningKeyPair,
  heKeyId,
  signDigest,
  verifyDigest,
  type SigningKeyPair,
} from '../../crypto/index.js';
import { canonicalSpecJson, getQueryDefinition, parseReleaseDocument, type ReleaseCell, type ReleasedNoise } from '../../analytics/index.js';
import { DEFAULT_PURPOSE_REGISTRY, disclosureTerms, getPurpose, type EffectivePolicy } from '../../compliance/index.js';
import { loadShopCompliance, loadShopData } from '../../client-sdk/index.js';
import { envelopeOf, type ContributionHeader, type OpenQuery } from '../../protos/index.js';
import {
  ROUND_ERRORS,
  RoundError,
  RoundTerms,
  buildReleaseDocument,
  checkContribution,
  contribute,
  openRelease,
  roundView,
  signRelease,
  rpcErrorOf,
  type RoundBinding,
  type ShopSide,
  type SignedContribution,
} from '../../round/index.js';
import { makeShops } from '../../harness/shops.js';
import { FIXTURE_AGGREGATE_DIGEST, RELEASE_DOCUMENT_FIXTURE } from '../../harness/release-document.js';

const SPEC = { kind: 'segment-stats', purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' } as const;
const MERCHANT = 'shop-round-01';

let ctx: HeContext;
let he: { publicKey: Uint8Array; secretKey: Uint8Array };
let encryptor: HeEncryptor;
let decryptor: HeDecryptor;
let merchantKeys: SigningKeyPair;
let shop: ShopSide;
let query: OpenQuery;
let round: RoundBinding;
let honest: SignedContribution;

const sign = (digest: Uint8Array): Uint8Array => signDigest(digest, merchantKeys.secretKey);
const bodyOf = (c: { ciphertexts: readonly Uint8Array[] }): Uint8Array => Buffer.concat(c.ciphertexts);

/** What a malicious merchant sends: the honest header bent by `bend`, signed again with its own enrolled key. */
function resigned(bend: (h: ContributionHeader) => ContributionHeader): ContributionHeader {
  const bent = bend({ ...honest.header, signature: Buffer.alloc(0) });
  return { ...bent, signature: Buffer.from(sign(envelopeDigest(envelopeOf(bent)))) };
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof RoundError) return err.code;
    throw err;
  }
  return 'ACCEPTED';
}

beforeAll(async () => {
  await cryptoReady();
  ctx = await HeContext.create();
  he = generateHeKeys(ctx);
  encryptor = new HeEncryptor(ctx, he.publicKey);
  decryptor = new HeDecryptor(ctx, he.secretKey);
  merchantKeys = generateSigningKeyPair();
  const shops = await makeShops(1, 'round-module');
  const s = shops.shopDirs[0]!;
  shop = { data: await loadShopData(s.dir, s.shopId), compliance: await loadShopCompliance(s.dir) };
  const terms = RoundTerms.fromSpec(ctx, SPEC.kind, SPEC, 10);
  const purpose = getPurpose(DEFAULT_PURPOSE_REGISTRY, terms.purpose);
  const cutoff = new Date();
  query = {
    queryId: 'q-round-module',
    kind: SPEC.kind,
    specJson: terms.specJson,
    specDigest: Buffer.from(terms.specDigest),
    paramSet: ctx.paramSet.name,
    keyId: Buffer.from(heKeyId(he.publicKey)),
    deadlineUnixMs: BigInt(cutoff.getTime() + 60_000),
    maxContributors: 10,
    purposeJson: canonicalSpecJson(purpose),
    cutoffUnixMs: BigInt(cutoff.getTime()),
    termsJson: canonicalSpecJson(disclosureTerms(purpose, 10)),
  };
  round = { queryId: query.queryId, paramSet: query.paramSet, keyId: query.keyId, terms: RoundTerms.of(ctx, query), cutoff };
  honest = await contribute(ctx, query, MERCHANT, shop, { encrypt: (slots) => slots.map((x) => encryptor.encryptPacked(x)), sign });
}, 120_000);

afterAll(() => {
  encryptor?.close();
  decryptor?.close();
});

describe('RoundTerms', () => {
  it('is the same derived from a stored query, from its spec, and with the digest checked', () => {
    const fromSpec = RoundTerms.fromSpec(ctx, SPEC.kind, SPEC, 10);
    const stored = RoundTerms.of(ctx, { kind: query.kind, specJson: query.specJson, maxContributors: 10 });
    const checked = RoundTerms.of(ctx, { kind: query.kind, specJson: query.specJson, specDigest: query.specDigest, maxContributors: 10 });
    for (const t of [stored, checked]) {
      expect(Buffer.from(t.layoutDigest)).toEqual(Buffer.from(fromSpec.layoutDigest));
      expect(Buffer.from(t.specDigest)).toEqual(Buffer.from(fromSpec.specDigest));
      expect(t.purpose).toBe('marketing-analytics');
    }
    expect(Buffer.from(fromSpec.specDigest)).toEqual(Buffer.from(blake2b256(Buffer.from(fromSpec.specJson, 'utf8'))));
    expect(Buffer.from(fromSpec.layoutDigest)).toEqual(Buffer.from(fromSpec.layout.digest()));
    // Another grouping is another layout: a contribution must say which it was encoded with.
    const other = RoundTerms.fromSpec(ctx, SPEC.kind, { ...SPEC, groupBy: 'age_band' }, 10);
    expect(Buffer.from(other.layoutDigest)).not.toEqual(Buffer.from(fromSpec.layoutDigest));
  });

  it.each([
    ['a spec digest of other bytes', { kind: SPEC.kind, specJson: JSON.stringify(SPEC), specDigest: new Uint8Array(32), maxContributors: 10 }, 'SPEC_DIGEST_MISMATCH'],
    ['spec JSON that does not parse', { kind: SPEC.kind, specJson: '{"kind":', maxContributors: 10 }, 'SPEC_INVALID'],
    ['a spec its kind refuses', { kind: SPEC.kind, specJson: '{"kind":"segment-stats","groupBy":"nope"}', maxContributors: 10 }, 'SPEC_INVALID'],
    ['an unknown kind', { kind: 'no-such-kind', specJson: '{}', maxContributors: 10 }, 'QUERY_KIND_UNKNOWN'],
    ['more contributors than a round may have (sums beyond 1024 go in stages, but a round is at most 10,000)', { kind: SPEC.kind, specJson: JSON.stringify(SPEC), maxContributors: 10_001 }, 'LAYOUT_INVALID'],
    ['2^40 contributors', { kind: SPEC.kind, specJson: JSON.stringify(SPEC), maxContributors: 2 ** 40 }, 'LAYOUT_INVALID'],
    ['no contributors', { kind: SPEC.kind, specJson: JSON.stringify(SPEC), maxContributors: 0 }, 'LAYOUT_INVALID'],
  ])('refuses %s', (_what, q, code) => {
    expect(codeOf(() => RoundTerms.of(ctx, q))).toBe(code);
  });

  it('answers any JSON as a spec with terms or a RoundError, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.jsonValue(), fc.integer({ min: -5, max: 1000 }), (kind, json, maxContributors) => {
        const k = kind.length % 2 === 0 ? SPEC.kind : kind;
        const code = codeOf(() => RoundTerms.fromSpec(ctx, k, json, maxContributors));
        expect(code === 'ACCEPTED' || code in ROUND_ERRORS).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('contribute and checkContribution', () => {
  it('accepts the honest contribution, which decrypts to the shop\'s own statistic over its consented customers', () => {
    const { digest, attestation } = checkContribution(ctx, round, honest.header, bodyOf(honest), merchantKeys.publicKey);
    expect(Buffer.from(digest)).toEqual(Buffer.from(envelopeDigest(envelopeOf(honest.header))));
    expect(attestation.merchantId).toBe(MERCHANT);
    // Independently of round/: the definition's own statistic over the consent filter's customers.
    const purpose = getPurpose(shop.compliance.registry, 'marketing-analytics');
    const filter = shop.compliance.ledger.filterForRound({ purpose, cutoff: round.cutoff, customerIds: shop.data.customers.map((c) => c.customerId) });
    expect(attestation.subjectsIncluded).toBe(filter.includedCustomerIds.size);
    const definition = getQueryDefinition(SPEC.kind);
    const spec = definition.parseSpec(SPEC);
    const expected = definition.computeLocal(spec, roundView(shop.data, filter.includedCustomerIds, purpose, shop.compliance.pseudonymKey));
    const decoded = round.terms.layout.decode(honest.ciphertexts.map((c) => decryptor.decryptPacked(c)));
    expect(decoded).toEqual(expected);
    expect(expected.some((v) => v > 0n)).toBe(true);
  });

  const ctLength = () => ctx.packedCiphertextByteLength;
  const cases: [string, () => [ContributionHeader, Uint8Array], string, status][] = [
    ['a flipped signature', () => [{ ...honest.header, signature: Buffer.from(honest.header.signature.map((b, i) => (i === 0 ? b ^ 1 : b))) }, bodyOf(honest)], 'SIGNATURE_INVALID', status.UNAUTHENTICATED],
    ['a 3-byte nonce', () => [{ ...honest.header, nonce: Buffer.alloc(3) }, bodyOf(honest)], 'HEADER_INVALID', status.INVALID_ARGUMENT],
    ['another query', () => [resigned((h) => ({ ...h, queryId: 'q-other' })), bodyOf(honest)], 'ROUND_BINDING', status.INVALID_ARGUMENT],
    ['another public key', () => [resigned((h) => ({ ...h, keyId: Buffer.alloc(32, 7) })), bodyOf(honest)], 'KEY_MISMATCH', status.INVALID_ARGUMENT],
    ['another spec', () => [resigned((h) => ({ ...h, specDigest: Buffer.alloc(32, 7) })), bodyOf(honest)], 'ROUND_BINDING', status.INVALID_ARGUMENT],
    ['another slot layout', () => [resigned((h) => ({ ...h, layoutDigest: Buffer.alloc(32, 7) })), bodyOf(honest)], 'LAYOUT_MISMATCH', status.INVALID_ARGUMENT],
    ['one ciphertext too many', () => {
      const extra = [...honest.ciphertexts, honest.ciphertexts[0]!];
      return [resigned((h) => ({ ...h, ciphertextDigests: extra.map((c) => Buffer.from(blake2b256(c))), ciphertextLengths: extra.map((c) => c.length) })), Buffer.concat(extra)];
    }, 'CIPHERTEXT_SHAPE', status.INVALID_ARGUMENT],
    ['a body byte changed after signing', () => {
      const body = Buffer.from(bodyOf(honest));
      body[ctLength() - 1]! ^= 1;
      return [honest.header, body];
    }, 'CIPHERTEXT_DIGEST', status.INVALID_ARGUMENT],
    ['bytes that are no ciphertext, with their own signed digests', () => {
      const junk = honest.ciphertexts.map((c) => Buffer.alloc(c.length, 0xff));
      return [resigned((h) => ({ ...h, ciphertextDigests: junk.map((c) => Buffer.from(blake2b256(c))) })), Buffer.concat(junk)];
    }, 'CIPHERTEXT_INVALID', status.INVALID_ARGUMENT],
    ['another merchant\'s attestation', () => {
      const att = { ...honest.attestation, merchantId: 'shop-someone-else' };
      return [resigned((h) => ({ ...h, consentAttestation: Buffer.from(canonicalSpecJson(att), 'utf8') })), bodyOf(honest)];
    }, 'ATTESTATION_MISMATCH', status.INVALID_ARGUMENT],
    ['no attestation', () => [resigned((h) => ({ ...h, consentAttestation: Buffer.alloc(0) })), bodyOf(honest)], 'ATTESTATION_MISSING', status.INVALID_ARGUMENT],
    ['an attestation that is not JSON', () => [resigned((h) => ({ ...h, consentAttestation: Buffer.from('{not json', 'utf8') })), bodyOf(honest)], 'ATTESTATION_INVALID', status.INVALID_ARGUMENT],
  ];

  describe.each(cases)('%s', (_what, make, code, grpcStatus) => {
    it(`is refused ${code}, sent as gRPC ${status[grpcStatus]}`, () => {
      const [header, body] = make();
      let caught: unknown;
      try {
        checkContribution(ctx, round, header, body, merchantKeys.publicKey);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RoundError);
      const err = caught as RoundError;
      expect(err.code).toBe(code);
      const rpc = rpcErrorOf(err, 'contribution of shop-round-01');
      expect([rpc.status, rpc.code]).toEqual([grpcStatus, code]);
      expect(rpc.message.startsWith('contribution of shop-round-01: ')).toBe(true);
    });
  });
});

describe('signRelease and openRelease', () => {
  const doc = RELEASE_DOCUMENT_FIXTURE;
  const aggregateDigest = FIXTURE_AGGREGATE_DIGEST;

  it('opens what the key holder signed, and verifies independently with Ed25519 over BLAKE2b-256 of the JSON', () => {
    const keyholder = generateSigningKeyPair();
    const { releaseJson, signature } = signRelease(doc, keyholder.secretKey);
    expect(verifyDigest(signature, blake2b256(Buffer.from(releaseJson, 'utf8')), keyholder.publicKey)).toBe(true);
    const opened = openRelease({ releaseJson, signature, keyholderSigningKey: keyholder.publicKey }, { keyholderSigningKey: keyholder.publicKey, queryId: doc.queryId, aggregateDigest });
    expect(opened).toEqual(doc);
  });

  it.each([
    ['signed by another key', (k: SigningKeyPair, other: SigningKeyPair) => ({ ...signRelease(doc, other.secretKey), keyholderSigningKey: k.publicKey }), 'RELEASE_SIGNATURE_INVALID'],
    ['naming another signing key than the pinned one', (_k: SigningKeyPair, other: SigningKeyPair) => ({ ...signRelease(doc, other.secretKey), keyholderSigningKey: other.publicKey }), 'RELEASE_SIGNATURE_INVALID'],
    ['of another query', (k: SigningKeyPair) => ({ ...signRelease({ ...doc, queryId: 'q-other' }, k.secretKey), keyholderSigningKey: k.publicKey }), 'RELEASE_MISMATCH'],
    ['over another aggregate', (k: SigningKeyPair) => ({ ...signRelease({ ...doc, aggregateDigest: '00'.repeat(32) }, k.secretKey), keyholderSigningKey: k.publicKey }), 'RELEASE_MISMATCH'],
  ])('refuses a release %s', (_what, make, code) => {
    const keyholder = generateSigningKeyPair();
    const signed = make(keyholder, generateSigningKeyPair());
    expect(codeOf(() => openRelease(signed, { keyholderSigningKey: keyholder.publicKey, queryId: doc.queryId, aggregateDigest }))).toBe(code);
  });
});

describe('buildReleaseDocument', () => {
  const cells: Record<string, ReleaseCell> = {
    new: { suppressed: true, reason: 'fewer than 10 subjects', reasonCode: 'FEWER_THAN_K_SUBJECTS' },
    loyal: { suppressed: false, subjects: '41', totals: { 'loyal.customers': '41', 'loyal.order_value_sum_cents': '90210' } },
  };
  const contents = {
    merchants: ['m1', 'm2', 'm3'],
    contributionDigests: ['aa', 'bb', 'cc'],
    aggregateDigest: new Uint8Array(32).fill(0x5a),
    rhoSpentUnits: 0n,
    releasedAt: new Date(Date.UTC(2026, 5, 1, 12, 30)),
  };
  const exact: EffectivePolicy = { purpose: 'marketing-analytics', minMerchants: 4, minSubjects: 12, dominance: { maxSharePercent: 80 }, maxSaturation: 0.2, noise: { mode: 'exact' } };

  it('states the round, the binding facts, the policy\'s thresholds and the cells, under an exact policy', () => {
    const released = { queryId: 'q-build', paramSet: 'bfv-test', keyId: new Uint8Array([1, 2, 254]), terms: round.terms };
    const doc = buildReleaseDocument(released, { ...contents, policy: exact, outcome: { cells, attestedSubjects: 57, dp: null } });
    expect(doc).toEqual({
      version: 1,
      queryId: 'q-build',
      kind: 'segment-stats',
      specDigest: Buffer.from(blake2b256(Buffer.from(query.specJson, 'utf8'))).toString('hex'),
      paramSet: 'bfv-test',
      keyId: '0102fe',
      merchants: ['m1', 'm2', 'm3'],
      contributionDigests: ['aa', 'bb', 'cc'],
      aggregateDigest: '5a'.repeat(32),
      policy: { minMerchants: 4, minSubjects: 12 },
      attestedSubjects: 57,
      cells,
      releasedAt: '2026-06-01T12:30:00.000Z',
      disclosure: { purpose: 'marketing-analytics', mode: 'exact', dominance: { maxSharePercent: 80 }, dp: null },
    });
    // What it builds is a document the parser accepts, and opens once signed.
    expect(parseReleaseDocument(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
    const keyholder = generateSigningKeyPair();
    const signed = { ...signRelease(doc, keyholder.secretKey), keyholderSigningKey: keyholder.publicKey };
    expect(openRelease(signed, { keyholderSigningKey: keyholder.publicKey, queryId: 'q-build', aggregateDigest: contents.aggregateDigest })).toEqual(doc);
  });

  it('carries the DP account: this release\'s ρ and ε, the purpose\'s spend and total', () => {
    const noise: ReleasedNoise = { mechanism: 'discrete-gaussian', parameter: '9/1', sd: 3, noisy: '55', ci: ['49', '61'] };
    const dpPolicy: EffectivePolicy = {
      ...exact,
      dominance: null,
      noise: { mode: 'dp', mechanism: 'discrete-gaussian', rhoPerQueryUnits: 100_000_000n, totalRhoUnits: 1_000_000_000n, delta: 1e-6, confidence: 0.95 },
    };
    const dp = { mechanism: 'discrete-gaussian' as const, rhoUnits: 100_000_000n, epsilon: 1.43, delta: 1e-6, confidence: 0.95, attestedSubjectsNoise: noise, touched: 2 };
    const doc = buildReleaseDocument(round, { ...contents, rhoSpentUnits: 300_000_000n, policy: dpPolicy, outcome: { cells, attestedSubjects: 55, dp } });
    // ε of ρ-zCDP at δ (Bun & Steinke 2016, Prop. 1.3): ρ + 2√(ρ ln(1/δ)), with ρ = 0.3 spent so far.
    const epsilonSpent = 0.3 + 2 * Math.sqrt(0.3 * Math.log(1e6));
    expect(doc.disclosure).toEqual({
      purpose: 'marketing-analytics',
      mode: 'dp',
      dominance: null,
      dp: { mechanism: 'discrete-gaussian', confidence: 0.95, delta: 1e-6, rho: '0.1', epsilon: 1.43, rhoSpent: '0.3', rhoTotal: '1', epsilonSpent: expect.closeTo(epsilonSpent, 9) as number, attestedSubjectsNoise: noise },
    });
    expect(doc.attestedSubjects).toBe(55);
    expect([doc.queryId, doc.paramSet, doc.keyId]).toEqual([query.queryId, query.paramSet, query.keyId.toString('hex')]);
    expect(parseReleaseDocument(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
  });
});
