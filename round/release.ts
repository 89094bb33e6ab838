/**
 * The release side of a round: the key holder signs the release document
 * it built; the coordinator (and anyone holding the key holder's public key,
 * such as the demo or an auditor) opens it — signature, then the document,
 * then its binding to the query and the aggregate it was asked about — and
 * finalises the released totals into the kind's result. The document's
 * format (`ReleaseDocument`) stays in analytics/, because the disclosure
 * explanations of analytics and compliance read it too.
 */
import { blake2b256, constantTimeEqual, signDigest, toHex, verifyDigest } from '../crypto/index.js';
import { parseReleaseDocument, releasedTotalsFromDocument, type ReleaseDocument } from '../analytics/index.js';
import { RoundError } from './errors.js';
import type { RoundTerms } from './round-terms.js';

/** What the key holder's signature covers: BLAKE2b-256 of the release JSON as sent. */
export function releaseDigest(releaseJson: string): Uint8Array {
  return blake2b256(Buffer.from(releaseJson, 'utf8'));
}

/** Serialises and signs `doc` with the key holder's Ed25519 secret key. */
export function signRelease(doc: ReleaseDocument, secretKey: Uint8Array): { readonly releaseJson: string; readonly signature: Uint8Array } {
  const releaseJson = JSON.stringify(doc);
  return { releaseJson, signature: signDigest(releaseDigest(releaseJson), secretKey) };
}

/** Whether `signature` is the key holder's over `releaseJson` (never throws). */
export function verifyReleaseSignature(releaseJson: string, signature: Uint8Array, keyholderSigningKey: Uint8Array): boolean {
  try {
    return verifyDigest(signature, releaseDigest(releaseJson), keyholderSigningKey);
  } catch {
    return false;
  }
}

/** A release as the key holder returns it. */
export interface SignedReleaseParts {
  readonly releaseJson: string;
  readonly signature: Uint8Array;
  readonly keyholderSigningKey: Uint8Array;
}

/**
 * The release document, once its signature verifies under the pinned key
 * holder key (RELEASE_SIGNATURE_INVALID otherwise) and it is the release of
 * `queryId` over exactly `aggregateDigest` (RELEASE_MISMATCH otherwise).
 * A signed document that does not parse throws TypeError.
 */
export function openRelease(
  signed: SignedReleaseParts,
  expected: { readonly keyholderSigningKey: Uint8Array; readonly queryId: string; readonly aggregateDigest: Uint8Array },
): ReleaseDocument {
  if (!constantTimeEqual(signed.keyholderSigningKey, expected.keyholderSigningKey) ||
      !verifyReleaseSignature(signed.releaseJson, signed.signature, expected.keyholderSigningKey)) {
    throw new RoundError('RELEASE_SIGNATURE_INVALID', 'release signature does not verify under the key holder key');
  }
  const doc = parseReleaseDocument(JSON.parse(signed.releaseJson));
  if (doc.queryId !== expected.queryId || doc.aggregateDigest !== toHex(expected.aggregateDigest)) {
    throw new RoundError('RELEASE_MISMATCH', 'release does not match this query\'s aggregate');
  }
  return doc;
}

/** The kind's result from a release's totals (withheld cells stay withheld). */
export function finaliseRelease(terms: Pick<RoundTerms, 'definition' | 'spec'>, doc: Pick<ReleaseDocument, 'cells' | 'policy'>): unknown {
  return terms.definition.finalise(terms.spec, releasedTotalsFromDocument(doc));
}
