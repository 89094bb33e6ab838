import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyEvidenceError, authorityPublicKeyOf, cryptoReady, enrolmentEvidence, generateSigningKeyPair, issueEnrolmentToken, keyEvidenceFromJson, keyEvidenceToJson, keyEvidenceUpTo, parseEnrolmentToken, randomBytes, rotateKeyEvidence, signDigest, signingKeyPairFromSeed, verifyKeyEvidence, type KeyEvidence, type SigningKeyPair } from '../../crypto/index.js';
import { enrolmentTokenDigest, formatEnrolmentToken, tokenBindingDigest } from '../../crypto/enrolment-token.js';

let authoritySeed: Uint8Array;
let authority: Uint8Array;
let merchant: SigningKeyPair;

beforeAll(async () => {
  await cryptoReady();
  authoritySeed = randomBytes(32);
  authority = authorityPublicKeyOf(authoritySeed);
  merchant = generateSigningKeyPair();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof KeyEvidenceError ? err.code : `other: ${String(err)}`;
  }
  return undefined;
}

/** Every byte string of the evidence, with a way to put a changed copy back. */
function byteFields(e: KeyEvidence): { name: string; bytes: Uint8Array; with: (b: Uint8Array) => KeyEvidence }[] {
  const out: { name: string; bytes: Uint8Array; with: (b: Uint8Array) => KeyEvidence }[] = [
    { name: 'merchantId', bytes: Buffer.from(e.statement.merchantId, 'latin1'), with: (b) => ({ ...e, statement: { ...e.statement, merchantId: Buffer.from(b).toString('latin1') } }) },
    { name: 'tokenId', bytes: e.statement.tokenId, with: (b) => ({ ...e, statement: { ...e.statement, tokenId: b } }) },
    { name: 'tokenPublicKey', bytes: e.statement.tokenPublicKey, with: (b) => ({ ...e, statement: { ...e.statement, tokenPublicKey: b } }) },
    {
      name: 'expiresUnixMs',
      bytes: Buffer.from(e.statement.expiresUnixMs.toString(16).padStart(12, '0'), 'hex'),
      with: (b) => ({ ...e, statement: { ...e.statement, expiresUnixMs: Number.parseInt(Buffer.from(b).toString('hex'), 16) } }),
    },
    { name: 'authoritySignature', bytes: e.authoritySignature, with: (b) => ({ ...e, authoritySignature: b }) },
    { name: 'enrolledKey', bytes: e.enrolledKey, with: (b) => ({ ...e, enrolledKey: b }) },
    { name: 'tokenBinding', bytes: e.tokenBinding, with: (b) => ({ ...e, tokenBinding: b }) },
  ];
  e.rotations.forEach((r, i) => {
    const put = (patch: object) => ({ ...e, rotations: e.rotations.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
    out.push({ name: `rotations[${i}].newKey`, bytes: r.newKey, with: (b) => put({ newKey: b }) });
    out.push({ name: `rotations[${i}].signature`, bytes: r.signature, with: (b) => put({ signature: b }) });
    out.push({ name: `rotations[${i}].proofOfPossession`, bytes: r.proofOfPossession, with: (b) => put({ proofOfPossession: b }) });
  });
  return out;
}

describe('enrolment tokens', () => {
  it('a token enrols its merchant and verifies against the authority key alone', () => {
    const token = issueEnrolmentToken({ authoritySeed, merchantId: 'shop-01' });
    expect(token.startsWith('fmet1.')).toBe(true);
    const evidence = enrolmentEvidence(token, 'shop-01', merchant.publicKey);
    const verified = verifyKeyEvidence(evidence, authority, 'shop-01', merchant.publicKey, Date.now());
    expect(verified.merchantId).toBe('shop-01');
    expect(verified.sequence).toBe(0);
    expect(verified.tokenIdHex).toHaveLength(32);
    // The evidence carries no secret: its JSON round-trips and holds nothing of the seed.
    const seedHex = Buffer.from(parseEnrolmentToken(token).tokenSecretSeed).toString('hex');
    const json = keyEvidenceToJson(evidence);
    expect(json).not.toContain(seedHex);
    expect(verifyKeyEvidence(keyEvidenceFromJson(json), authority, 'shop-01', merchant.publicKey, Date.now()).tokenIdHex).toBe(verified.tokenIdHex);
  });

  it('defaults to seven days and refuses an expired token at enrolment only', () => {
    const now = Date.now();
    const t = parseEnrolmentToken(issueEnrolmentToken({ authoritySeed, merchantId: 'shop-01', nowMs: now }));
    expect(t.statement.expiresUnixMs).toBe(now + 7 * 24 * 3600 * 1000);
    const old = issueEnrolmentToken({ authoritySeed, merchantId: 'shop-01', expiresUnixMs: now - 1 });
    const e = enrolmentEvidence(old, 'shop-01', merchant.publicKey);
    expect(codeOf(() => verifyKeyEvidence(e, authority, 'shop-01', merchant.publicKey, now))).toBe('TOKEN_EXPIRED');
    expect(verifyKeyEvidence(e, authority, 'shop-01', merchant.publicKey, null).sequence).toBe(0);
  });

  it('names each way evidence can be wrong', () => {
    const token = issueEnrolmentToken({ authoritySeed, merchantId: 'shop-01' });
    const e = enrolmentEvidence(token, 'shop-01', merchant.publicKey);
    const now = Date.now();
    expect(codeOf(() => enrolmentEvidence(token, 'shop-02', merchant.publicKey))).toBe('TOKEN_MERCHANT_MISMATCH');
    expect(codeOf(() => verifyKeyEvidence(e, authority, 'shop-02', merchant.publicKey, now))).toBe('TOKEN_MERCHANT_MISMATCH');
    expect(codeOf(() => enrolmentEvidence('not a token', 'shop-01', merchant.publicKey))).toBe('TOKEN_INVALID');
    expect(codeOf(() => enrolmentEvidence(token + 'A', 'shop-01', merchant.publicKey))).toBe('TOKEN_INVALID');
    // A token signed by another key than the authority.
    const rogue = issueEnrolmentToken({ authoritySeed: randomBytes(32), merchantId: 'shop-01' });
    expect(codeOf(() => verifyKeyEvidence(enrolmentEvidence(rogue, 'shop-01', merchant.publicKey), authority, 'shop-01', merchant.publicKey, now))).toBe(
      'AUTHORITY_SIGNATURE_INVALID',
    );
    // The coordinator's move: the real statement re-bound to its own key without the token secret.
    const fake = generateSigningKeyPair();
    const rebound: KeyEvidence = { ...e, enrolledKey: fake.publicKey, tokenBinding: signDigest(tokenBindingDigest('shop-01', e.statement.tokenId, fake.publicKey), fake.secretKey) };
    expect(codeOf(() => verifyKeyEvidence(rebound, authority, 'shop-01', fake.publicKey, now))).toBe('BINDING_INVALID');
    expect(codeOf(() => verifyKeyEvidence({ ...e, enrolledKey: fake.publicKey }, authority, 'shop-01', fake.publicKey, now))).toBe('BINDING_INVALID');
    // Evidence for another key than the one asked about.
    expect(codeOf(() => verifyKeyEvidence(e, authority, 'shop-01', fake.publicKey, now))).toBe('KEY_MISMATCH');
    // A token whose secret does not match its public key.
    const t = parseEnrolmentToken(token);
    expect(codeOf(() => enrolmentEvidence(formatEnrolmentToken({ ...t, tokenSecretSeed: randomBytes(32) }), 'shop-01', merchant.publicKey))).toBe('TOKEN_INVALID');
    // The authority's signature covers the statement's digest.
    expect(enrolmentTokenDigest(t.statement)).toHaveLength(32);
  });

  it('rotations extend the chain; each key verifies at its own sequence', () => {
    const e0 = enrolmentEvidence(issueEnrolmentToken({ authoritySeed, merchantId: 'shop-01' }), 'shop-01', merchant.publicKey);
    const k1 = generateSigningKeyPair();
    const k2 = generateSigningKeyPair();
    const { evidence: e1 } = rotateKeyEvidence(e0, merchant.secretKey, k1);
    const { evidence: e2 } = rotateKeyEvidence(e1, k1.secretKey, k2);
    const v = verifyKeyEvidence(e2, authority, 'shop-01', k2.publicKey, null);
    expect(v.sequence).toBe(2);
    expect(v.keys.map((k) => Buffer.from(k).toString('hex'))).toEqual([merchant, k1, k2].map((k) => Buffer.from(k.publicKey).toString('hex')));
    expect(verifyKeyEvidence(keyEvidenceUpTo(e2, 1), authority, 'shop-01', k1.publicKey, null).sequence).toBe(1);
    expect(codeOf(() => verifyKeyEvidence(e2, authority, 'shop-01', k1.publicKey, null))).toBe('KEY_MISMATCH');
    // A rotation signed by a key that is not the current one.
    const stranger = generateSigningKeyPair();
    const { evidence: bad } = rotateKeyEvidence(e1, stranger.secretKey, k2);
    expect(codeOf(() => verifyKeyEvidence(bad, authority, 'shop-01', k2.publicKey, null))).toBe('ROTATION_INVALID');
    // Without the new key's proof of possession.
    const noPop = { ...e2, rotations: [e2.rotations[0]!, { ...e2.rotations[1]!, proofOfPossession: e2.rotations[1]!.signature }] };
    expect(codeOf(() => verifyKeyEvidence(noPop, authority, 'shop-01', k2.publicKey, null))).toBe('ROTATION_INVALID');
    // Out of order.
    const swapped = { ...e2, rotations: [{ ...e2.rotations[0]!, sequence: 2 }, e2.rotations[1]!] };
    expect(codeOf(() => verifyKeyEvidence(swapped, authority, 'shop-01', k2.publicKey, null))).toBe('ROTATION_INVALID');
  });

  it('any changed byte of the evidence fails verification (property)', () => {
    const e0 = enrolmentEvidence(issueEnrolmentToken({ authoritySeed, merchantId: 'shop-01' }), 'shop-01', merchant.publicKey);
    const k1 = signingKeyPairFromSeed(randomBytes(32));
    const { evidence } = rotateKeyEvidence(e0, merchant.secretKey, k1);
    const fields = byteFields(evidence);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (f, i, x) => {
        const field = fields[f % fields.length]!;
        const bytes = Uint8Array.from(field.bytes);
        const at = i % bytes.length;
        bytes[at] = bytes[at]! ^ x;
        const mutated = field.with(bytes);
        // Asked about the last key of the mutated chain, so a changed key is not simply a key mismatch.
        const last = mutated.rotations.length > 0 ? mutated.rotations[mutated.rotations.length - 1]!.newKey : mutated.enrolledKey;
        const merchantId = field.name === 'merchantId' ? mutated.statement.merchantId : 'shop-01';
        expect(codeOf(() => verifyKeyEvidence(mutated, authority, merchantId, last, null))).toBeDefined();
      }),
      { numRuns: 400 },
    );
  });

  it('any changed character of a token makes it unparseable or useless (property)', () => {
    const token = issueEnrolmentToken({ authoritySeed, merchantId: 'shop-01' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: alphabet.length - 1 }), (i, c) => {
        const at = i % token.length;
        if (token[at] === alphabet[c]) return;
        const mutated = token.slice(0, at) + alphabet[c] + token.slice(at + 1);
        const code = codeOf(() => {
          const e = enrolmentEvidence(mutated, 'shop-01', merchant.publicKey);
          verifyKeyEvidence(e, authority, 'shop-01', merchant.publicKey, Date.now());
        });
        expect(code).toBeDefined();
        expect(code).not.toMatch(/^other/);
      }),
      { numRuns: 400 },
    );
  });
});
