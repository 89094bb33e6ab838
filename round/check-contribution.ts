/**
 * The one check of a contribution, used by the coordinator's intake and
 * again by the key holder, which trusts nothing the coordinator says. Each
 * step is exported because the coordinator runs them as the stream arrives
 * (the header's steps before it reads any ciphertext byte); the key holder,
 * which receives the whole contribution at once, runs `checkContribution`.
 * Every ciphertext byte is checked in TypeScript before SEAL could see it.
 * Steps throw `RoundError` (round/errors.ts); messages quote nothing the
 * sender wrote unescaped.
 */
import {
  blake2b256,
  constantTimeEqual,
  envelopeDigest,
  validatePackedCiphertext,
  verifyDigest,
  CiphertextFormatError,
  type HeContext,
} from '../crypto/index.js';
import { AttestationError, checkAttestation, parseAttestation, type ConsentAttestation } from '../compliance/index.js';
import { envelopeOf, quoteUntrusted, type ContributionHeader } from '../protos/index.js';
import { RoundError } from './errors.js';
import type { RoundTerms } from './round-terms.js';

/** Largest consent attestation accepted (1 MiB of JSON). */
export const MAX_ATTESTATION_BYTES = 1024 * 1024;

/** The round a contribution must be bound to. */
export interface RoundBinding {
  readonly queryId: string;
  readonly paramSet: string;
  readonly keyId: Uint8Array;
  readonly terms: RoundTerms;
  /** The consent cutoff of the round. */
  readonly cutoff: Date;
}

/**
 * Checks the header's field sizes and returns the digest its signature must
 * cover (HEADER_INVALID otherwise). Cheap: run it before anything is looked up.
 */
export function contributionDigest(h: ContributionHeader): Uint8Array {
  if (h.signature.length !== 64) throw new RoundError('HEADER_INVALID', 'signature must be 64 bytes');
  if (h.nonce.length < 16 || h.nonce.length > 64) throw new RoundError('HEADER_INVALID', 'nonce must be 16..64 bytes');
  if (h.specDigest.length !== 32 || h.keyId.length !== 32 || h.layoutDigest.length !== 32) {
    throw new RoundError('HEADER_INVALID', 'spec_digest, key_id and layout_digest must be 32 bytes');
  }
  if (h.ciphertextDigests.some((d) => d.length !== 32)) throw new RoundError('HEADER_INVALID', 'ciphertext digests must be 32 bytes');
  try {
    return envelopeDigest(envelopeOf(h));
  } catch (err) {
    throw new RoundError('HEADER_INVALID', err instanceof Error ? quoteUntrusted(err.message) : 'malformed envelope');
  }
}

/** SIGNATURE_INVALID unless `signature` signs `digest` under the merchant's `signingKey`. */
export function checkSignature(h: ContributionHeader, digest: Uint8Array, signingKey: Uint8Array): void {
  let ok = false;
  try {
    ok = verifyDigest(h.signature, digest, signingKey);
  } catch {
    ok = false;
  }
  if (!ok) throw new RoundError('SIGNATURE_INVALID', 'the envelope signature does not verify under the merchant\'s enrolled key');
}

/** The header names this round's query, key, spec and slot layout (ROUND_BINDING, KEY_MISMATCH, LAYOUT_MISMATCH). */
export function checkBinding(h: ContributionHeader, round: RoundBinding): void {
  if (h.queryId !== round.queryId) throw new RoundError('ROUND_BINDING', 'contribution is for another query');
  if (h.paramSet !== round.paramSet || !constantTimeEqual(h.keyId, round.keyId)) {
    throw new RoundError('KEY_MISMATCH', 'contribution is not under this round\'s public key');
  }
  if (!constantTimeEqual(h.specDigest, round.terms.specDigest)) throw new RoundError('ROUND_BINDING', 'contribution is bound to another spec');
  if (!constantTimeEqual(h.layoutDigest, round.terms.layoutDigest)) throw new RoundError('LAYOUT_MISMATCH', 'contribution is encoded with another slot layout');
}

/** The header declares the layout's number of ciphertexts, each of the parameter set's size (CIPHERTEXT_SHAPE). */
export function checkCiphertextShape(ctx: HeContext, h: ContributionHeader, terms: RoundTerms): void {
  const count = terms.layout.ciphertextCount;
  const ctLength = ctx.packedCiphertextByteLength;
  if (h.ciphertextDigests.length !== count || h.ciphertextLengths.length !== count || h.ciphertextLengths.some((n) => n !== ctLength)) {
    throw new RoundError('CIPHERTEXT_SHAPE', `expected ${count} ciphertext(s) of exactly ${ctLength} bytes`);
  }
}

/**
 * The body is the header's ciphertexts: the declared length, each matching
 * its signed digest (CIPHERTEXT_DIGEST) and each a well-formed ciphertext
 * of the parameter set (CIPHERTEXT_INVALID), checked before SEAL reads it.
 */
export function checkCiphertexts(ctx: HeContext, h: ContributionHeader, body: Uint8Array): void {
  const ctLength = ctx.packedCiphertextByteLength;
  const count = h.ciphertextDigests.length;
  if (body.length !== count * ctLength) throw new RoundError('CIPHERTEXT_SHAPE', `expected ${count * ctLength} ciphertext bytes, got ${body.length}`);
  for (let i = 0; i < count; i++) {
    const ct = body.subarray(i * ctLength, (i + 1) * ctLength);
    if (!constantTimeEqual(blake2b256(ct), h.ciphertextDigests[i] ?? new Uint8Array())) {
      throw new RoundError('CIPHERTEXT_DIGEST', `ciphertext ${i} does not match its signed digest`);
    }
    try {
      validatePackedCiphertext(ctx, ct);
    } catch (err) {
      if (err instanceof CiphertextFormatError) throw new RoundError('CIPHERTEXT_INVALID', `ciphertext ${i}: ${err.code}: ${err.message}`);
      throw err;
    }
  }
}

/**
 * The consent attestation the envelope signs, parsed and checked against
 * the round (ATTESTATION_MISSING, ATTESTATION_INVALID, ATTESTATION_MISMATCH).
 */
export function contributionAttestation(h: ContributionHeader, round: RoundBinding): ConsentAttestation {
  if (h.consentAttestation.length === 0) throw new RoundError('ATTESTATION_MISSING', 'a contribution must carry a consent attestation');
  if (h.consentAttestation.length > MAX_ATTESTATION_BYTES) throw new RoundError('ATTESTATION_INVALID', 'consent attestation larger than 1 MiB');
  try {
    const att = parseAttestation(JSON.parse(Buffer.from(h.consentAttestation).toString('utf8')));
    checkAttestation(att, { queryId: round.queryId, merchantId: h.merchantId, purpose: round.terms.purpose, cutoff: round.cutoff });
    return att;
  } catch (err) {
    // Its message quotes fields of the attestation the sender wrote.
    if (err instanceof AttestationError) throw new RoundError(err.code, `consent attestation: ${quoteUntrusted(err.message)}`);
    if (err instanceof SyntaxError) throw new RoundError('ATTESTATION_INVALID', 'consent attestation is not JSON');
    throw err;
  }
}

/**
 * Every step on a contribution received whole: header sizes, signature
 * under `signingKey`, binding, shape, ciphertexts, attestation. Returns the
 * envelope digest and the attestation.
 */
export function checkContribution(
  ctx: HeContext,
  round: RoundBinding,
  h: ContributionHeader,
  body: Uint8Array,
  signingKey: Uint8Array,
): { readonly digest: Uint8Array; readonly attestation: ConsentAttestation } {
  const digest = contributionDigest(h);
  checkSignature(h, digest, signingKey);
  checkBinding(h, round);
  checkCiphertextShape(ctx, h, round.terms);
  checkCiphertexts(ctx, h, body);
  return { digest, attestation: contributionAttestation(h, round) };
}
