/**
 * The release side of a round: the key holder builds the release document
 * from the round's terms, its own checked facts and the outcome of
 * disclosure control (`buildReleaseDocument`), and signs it; the
 * coordinator (and anyone holding the key holder's public key, such as the
 * demo or an auditor) opens it — signature, then the document, then its
 * binding to the query and the aggregate it was asked about — and
 * finalises the released totals into the kind's result. The document's
 * format and parser (`ReleaseDocument`, `parseReleaseDocument`) stay in
 * analytics/release-document.ts, because code below round/ reads it:
 * analytics' withheld-cell explanations (`withheldCellsOf`), compliance's
 * disclosure engine (which produces its `ReleaseCell`s and
 * `ReleasedNoise`) and its DP intervals (`disclosureSummary`), and neither
 * analytics nor compliance may import round/.
 */
import { blake2b256, constantTimeEqual, signDigest, toHex, verifyDigest } from '../crypto/index.js';
import { parseReleaseDocument, releasedTotalsFromDocument, type ReleaseDocument } from '../analytics/index.js';
import { formatRho, unitsToRho, zcdpToEpsilon, type DisclosureOutcome, type EffectivePolicy } from '../compliance/index.js';
import { RoundError } from './errors.js';
import type { RoundTerms } from './round-terms.js';

/** Which round a release is of: the query, its terms, and the parameter set and key the contributions were encrypted under. */
export interface ReleasedRound {
  readonly queryId: string;
  readonly paramSet: string;
  readonly keyId: Uint8Array;
  readonly terms: Pick<RoundTerms, 'kind' | 'specDigest' | 'purpose'>;
}

/** What the key holder established and decided for one release, in the order it did. */
export interface ReleaseContents {
  /** Contributing merchant ids, sorted. */
  readonly merchants: readonly string[];
  /** Hex BLAKE2b-256 of each contribution's ciphertexts, in `merchants` order. */
  readonly contributionDigests: readonly string[];
  /** BLAKE2b-256 of the aggregate the key holder re-added (and found equal to the coordinator's). */
  readonly aggregateDigest: Uint8Array;
  /** The purpose's effective policy disclosure control ran under. */
  readonly policy: EffectivePolicy;
  /** Disclosure control's result on the decrypted totals. */
  readonly outcome: Pick<DisclosureOutcome, 'cells' | 'attestedSubjects' | 'dp'>;
  /** ρ (in units) the purpose has spent, this release included: the disclosure ledger once the release is recorded. */
  readonly rhoSpentUnits: bigint;
  readonly releasedAt: Date;
}

/**
 * The release document of `round`: header and binding facts, the policy's
 * thresholds, the released cells, and the disclosure account (under a DP
 * policy: this release's ρ and ε, the purpose's spend and total). Pure; the
 * key holder signs what it returns (`signRelease`).
 */
export function buildReleaseDocument(round: ReleasedRound, release: ReleaseContents): ReleaseDocument {
  const { policy, outcome } = release;
  const dp = outcome.dp && policy.noise.mode === 'dp'
    ? {
        mechanism: outcome.dp.mechanism,
        confidence: outcome.dp.confidence,
        delta: outcome.dp.delta,
        rho: formatRho(outcome.dp.rhoUnits),
        epsilon: outcome.dp.epsilon,
        rhoSpent: formatRho(release.rhoSpentUnits),
        rhoTotal: formatRho(policy.noise.totalRhoUnits),
        epsilonSpent: zcdpToEpsilon(unitsToRho(release.rhoSpentUnits), outcome.dp.delta),
        attestedSubjectsNoise: outcome.dp.attestedSubjectsNoise,
      }
    : null;
  return {
    version: 1,
    queryId: round.queryId,
    kind: round.terms.kind,
    specDigest: toHex(round.terms.specDigest),
    paramSet: round.paramSet,
    keyId: toHex(round.keyId),
    merchants: release.merchants,
    contributionDigests: release.contributionDigests,
    aggregateDigest: toHex(release.aggregateDigest),
    policy: { minMerchants: policy.minMerchants, minSubjects: policy.minSubjects },
    attestedSubjects: outcome.attestedSubjects,
    cells: outcome.cells,
    releasedAt: release.releasedAt.toISOString(),
    disclosure: { purpose: round.terms.purpose, mode: policy.noise.mode, dominance: policy.dominance, dp },
  };
}

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
