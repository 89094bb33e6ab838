import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  blake2b256,
  cryptoReady,
  enrolmentDigest,
  envelopeDigest,
  generateSigningKeyPair,
  heKeyId,
  publicKeyBundleDigest,
  randomBytes,
  signDigest,
  signEnvelope,
  toHex,
  validateEnvelope,
  verifyDigest,
  verifyEnvelope,
} from '../../crypto/index.js';
import type { ContributionEnvelope, SigningKeyPair } from '../../crypto/index.js';

let shop: SigningKeyPair;
let other: SigningKeyPair;
let env: ContributionEnvelope;

beforeAll(async () => {
  await cryptoReady();
  shop = generateSigningKeyPair();
  other = generateSigningKeyPair();
  env = {
    queryId: 'q-2025-05-01-rfm',
    merchantId: 'shop-017',
    specDigest: blake2b256(new TextEncoder().encode('spec')),
    keyId: blake2b256(new TextEncoder().encode('pk')),
    paramSet: 'bfv-8192-t40',
    layoutDigest: blake2b256(new TextEncoder().encode('layout')),
    ciphertextDigests: [blake2b256(Uint8Array.of(1)), blake2b256(Uint8Array.of(2))],
    ciphertextLengths: [131185, 131185],
    createdUnixMs: 1_746_057_600_000n,
    nonce: randomBytes(32),
    attestationDigest: blake2b256(new TextEncoder().encode('attestation')),
  };
});

function flip(b: Uint8Array, i = 0): Uint8Array {
  const c = b.slice();
  c[i % c.length] = c[i % c.length]! ^ 0x01;
  return c;
}

/** Every single-field change an attacker might try. */
function variants(e: ContributionEnvelope): [string, ContributionEnvelope][] {
  return [
    ['queryId', { ...e, queryId: e.queryId + 'x' }],
    ['merchantId', { ...e, merchantId: 'shop-018' }],
    ['specDigest', { ...e, specDigest: flip(e.specDigest) }],
    ['keyId', { ...e, keyId: flip(e.keyId, 31) }],
    ['paramSet', { ...e, paramSet: 'bfv-8192-t41' }],
    ['layoutDigest', { ...e, layoutDigest: flip(e.layoutDigest, 7) }],
    ['ciphertextDigests (one changed)', { ...e, ciphertextDigests: [e.ciphertextDigests[0]!, flip(e.ciphertextDigests[1]!)] }],
    ['ciphertextDigests (swapped)', { ...e, ciphertextDigests: [e.ciphertextDigests[1]!, e.ciphertextDigests[0]!] }],
    ['ciphertextDigests (dropped)', { ...e, ciphertextDigests: [e.ciphertextDigests[0]!], ciphertextLengths: [e.ciphertextLengths[0]!] }],
    ['ciphertextLengths', { ...e, ciphertextLengths: [131185, 131186] }],
    ['createdUnixMs', { ...e, createdUnixMs: e.createdUnixMs + 1n }],
    ['nonce', { ...e, nonce: flip(e.nonce, 5) }],
    ['attestationDigest', { ...e, attestationDigest: flip(e.attestationDigest, 3) }],
  ];
}

describe('contribution envelopes', () => {
  it('a signature verifies under the signer key only', () => {
    const sig = signEnvelope(env, shop.secretKey);
    expect(sig.length).toBe(64);
    expect(verifyEnvelope(env, sig, shop.publicKey)).toBe(true);
    expect(verifyEnvelope(env, sig, other.publicKey)).toBe(false);
    expect(verifyEnvelope(env, flip(sig, 40), shop.publicKey)).toBe(false);
    expect(verifyEnvelope(env, sig.subarray(0, 63), shop.publicKey)).toBe(false);
    // The signature is over envelopeDigest, so the generic verifier agrees.
    expect(verifyDigest(sig, envelopeDigest(env), shop.publicKey)).toBe(true);
  });

  it('any field change breaks verification and changes the digest', () => {
    const sig = signEnvelope(env, shop.secretKey);
    const digests = new Set([toHex(envelopeDigest(env))]);
    for (const [name, changed] of variants(env)) {
      expect(verifyEnvelope(changed, sig, shop.publicKey), name).toBe(false);
      digests.add(toHex(envelopeDigest(changed)));
    }
    expect(digests.size).toBe(variants(env).length + 1);
  });

  it('property: a random one-byte change in any byte field breaks verification', () => {
    const sig = signEnvelope(env, shop.secretKey);
    const byteFields = ['specDigest', 'keyId', 'layoutDigest', 'nonce', 'attestationDigest'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...byteFields), fc.nat(63), fc.integer({ min: 1, max: 255 }), (field, pos, x) => {
        const b = env[field].slice();
        b[pos % b.length] = b[pos % b.length]! ^ x;
        expect(verifyEnvelope({ ...env, [field]: b }, sig, shop.publicKey)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('does not depend on property order or extra properties', () => {
    const reordered = Object.fromEntries(Object.entries(env).reverse()) as unknown as ContributionEnvelope;
    const extra = { ...env, comment: 'ignored' } as ContributionEnvelope;
    expect(toHex(envelopeDigest(reordered))).toBe(toHex(envelopeDigest(env)));
    expect(toHex(envelopeDigest(extra))).toBe(toHex(envelopeDigest(env)));
  });

  it('rejects malformed envelopes with errors naming the field', () => {
    const bad: [Partial<Record<keyof ContributionEnvelope, unknown>>, RegExp][] = [
      [{ queryId: '' }, /env\.queryId/],
      [{ merchantId: 7 }, /env\.merchantId/],
      [{ specDigest: new Uint8Array(31) }, /env\.specDigest/],
      [{ keyId: 'k' }, /env\.keyId/],
      [{ ciphertextDigests: [] }, /env\.ciphertextDigests/],
      [{ ciphertextLengths: [1] }, /env\.ciphertextLengths/],
      [{ ciphertextLengths: [1, 0] }, /env\.ciphertextLengths\[1\]/],
      [{ createdUnixMs: 5 }, /env\.createdUnixMs/],
      [{ createdUnixMs: -1n }, /env\.createdUnixMs/],
      [{ nonce: new Uint8Array(8) }, /env\.nonce/],
    ];
    for (const [patch, re] of bad) {
      const e = { ...env, ...patch } as ContributionEnvelope;
      expect(() => validateEnvelope(e)).toThrow(re);
      expect(() => envelopeDigest(e)).toThrow(re);
    }
  });
});

describe('other signed statements', () => {
  it('enrolment digest binds merchant id and key (proof of possession)', () => {
    const d = enrolmentDigest('shop-017', shop.publicKey);
    const sig = signDigest(d, shop.secretKey);
    expect(verifyDigest(sig, d, shop.publicKey)).toBe(true);
    expect(verifyDigest(sig, enrolmentDigest('shop-018', shop.publicKey), shop.publicKey)).toBe(false);
    expect(toHex(enrolmentDigest('shop-017', other.publicKey))).not.toBe(toHex(d));
    expect(() => enrolmentDigest('shop-017', new Uint8Array(31))).toThrow(/signingPublicKey/);
  });

  it('public key bundle digest binds parameter set and key id; domains never collide', () => {
    const keyId = heKeyId(Uint8Array.of(1, 2, 3));
    expect(toHex(keyId)).toBe(toHex(blake2b256(Uint8Array.of(1, 2, 3))));
    const d = publicKeyBundleDigest('bfv-8192-t40', keyId);
    expect(toHex(publicKeyBundleDigest('bfv-8192-t41', keyId))).not.toBe(toHex(d));
    expect(toHex(publicKeyBundleDigest('bfv-8192-t40', flip(keyId)))).not.toBe(toHex(d));
    // Same values under the enrolment domain hash differently (domain separation).
    expect(toHex(enrolmentDigest('bfv-8192-t40', keyId))).not.toBe(toHex(d));
    expect(() => publicKeyBundleDigest('bfv-8192-t40', new Uint8Array(16))).toThrow(/keyId/);
    expect(() => heKeyId(new Uint8Array(0))).toThrow(/publicKey/);
  });
});
