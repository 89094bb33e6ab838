/**
 * The release engine: the only code that decrypts. It trusts nothing the
 * coordinator says about a contribution: it checks every merchant signature
 * and binding itself, adds the ciphertexts again, refuses sums of fewer than
 * `minMerchants` distinct merchants, suppresses cells with fewer than
 * `minSubjects` subjects, and signs what it releases.
 */
import { status } from '@grpc/grpc-js';
import {
  HeDecryptor,
  SlotLayout,
  blake2b256,
  constantTimeEqual,
  heKeyId,
  publicKeyBundleDigest,
  signDigest,
  sumPackedContributions,
  validatePackedCiphertext,
  toHex,
  verifyEnvelope,
  type HeContext,
} from '../crypto/index.js';
import { getQueryDefinition, type ReleaseCell, type ReleaseDocument } from '../analytics/index.js';
import { AttestationError, checkAttestation, parseAttestation } from '../compliance/index.js';
import { RpcError, envelopeOf, type ContributionHeader, type PublicKeyBundle, type ReleaseHeader, type SignedRelease } from '../protos/index.js';
import type { KeyHolderKeys } from './key-store.js';
import type { ReleaseLedger } from './release-ledger.js';

/** Disclosure thresholds applied to every release. */
export interface ReleasePolicy {
  /** Fewest distinct merchants whose sum may be decrypted. */
  readonly minMerchants: number;
  /** Fewest subjects (customers) in a cell for its values to be released. */
  readonly minSubjects: number;
}

export const DEFAULT_RELEASE_POLICY: ReleasePolicy = { minMerchants: 3, minSubjects: 10 };

/** One contribution as the coordinator forwards it. */
export interface ContributionForRelease {
  readonly header: ContributionHeader;
  readonly merchantSigningKey: Uint8Array;
  readonly ciphertexts: Uint8Array;
}

function refuse(code: string, message: string, grpcStatus: status = status.FAILED_PRECONDITION): never {
  throw new RpcError(grpcStatus, code, message);
}

export class KeyHolder {
  readonly keyId: Uint8Array;
  /** How many aggregates this instance has decrypted; tests use it to prove refusals decrypt nothing. */
  decryptions = 0;
  private readonly decryptor: HeDecryptor;

  constructor(
    private readonly ctx: HeContext,
    private readonly keys: KeyHolderKeys,
    readonly policy: ReleasePolicy,
    private readonly ledger: ReleaseLedger,
  ) {
    if (!Number.isSafeInteger(policy.minMerchants) || policy.minMerchants < 2) {
      throw new RangeError('policy.minMerchants must be an integer >= 2');
    }
    if (!Number.isSafeInteger(policy.minSubjects) || policy.minSubjects < 1) {
      throw new RangeError('policy.minSubjects must be an integer >= 1');
    }
    this.keyId = heKeyId(keys.hePublicKey);
    this.decryptor = new HeDecryptor(ctx, keys.heSecretKey);
  }

  close(): void {
    this.decryptor.close();
  }

  get signingPublicKey(): Uint8Array {
    return this.keys.signing.publicKey;
  }

  /** The public key merchants encrypt under, signed so they can pin the key holder. */
  publicKeyBundle(): PublicKeyBundle {
    const paramSet = this.ctx.paramSet.name;
    return {
      paramSet,
      publicKey: Buffer.from(this.keys.hePublicKey),
      keyId: Buffer.from(this.keyId),
      keyholderSigningKey: Buffer.from(this.keys.signing.publicKey),
      signature: Buffer.from(signDigest(publicKeyBundleDigest(paramSet, this.keyId), this.keys.signing.secretKey)),
    };
  }

  /**
   * Verifies, re-adds, decrypts and signs. Throws RpcError (never decrypting)
   * when anything about the request or a contribution does not hold.
   */
  release(header: ReleaseHeader, contributions: readonly ContributionForRelease[]): SignedRelease {
    if (header.paramSet !== this.ctx.paramSet.name) refuse('PARAM_SET_MISMATCH', `parameter set ${header.paramSet} is not ${this.ctx.paramSet.name}`);
    if (!constantTimeEqual(header.keyId, this.keyId)) refuse('KEY_MISMATCH', 'contributions are not under this key holder\'s public key');
    if (!constantTimeEqual(blake2b256(Buffer.from(header.specJson, 'utf8')), header.specDigest)) {
      refuse('SPEC_DIGEST_MISMATCH', 'spec_digest is not the digest of spec_json', status.INVALID_ARGUMENT);
    }
    let definition;
    let spec: unknown;
    try {
      definition = getQueryDefinition(header.kind);
      spec = definition.parseSpec(JSON.parse(header.specJson));
    } catch (err) {
      refuse('SPEC_INVALID', err instanceof Error ? err.message : 'invalid query spec', status.INVALID_ARGUMENT);
    }
    const layout = new SlotLayout(definition.fields(spec), {
      plainModulus: this.ctx.plainModulus,
      slotCount: this.ctx.slotCount,
      maxContributors: header.maxContributors,
    });
    const layoutDigest = layout.digest();

    const merchants = new Set<string>();
    let attestedSubjects = 0;
    const purpose = definition.purposeOf(spec);
    const cutoff = new Date(Number(header.cutoffUnixMs));
    for (const c of contributions) {
      this.verifyContribution(header, c, layoutDigest, layout.ciphertextCount, merchants);
      attestedSubjects += this.attestedSubjectsOf(c, header.queryId, purpose, cutoff);
    }

    if (merchants.size < this.policy.minMerchants) {
      refuse('TOO_FEW_MERCHANTS', `${merchants.size} merchants contributed; at least ${this.policy.minMerchants} are required before anything is decrypted`);
    }
    if (merchants.size > header.maxContributors) refuse('TOO_MANY_MERCHANTS', `more contributions than max_contributors ${header.maxContributors}`);
    layout.assertNoWrap(merchants.size);
    if (attestedSubjects < this.policy.minSubjects) {
      refuse('TOO_FEW_SUBJECTS', `the shops attest ${attestedSubjects} consented subjects; at least ${this.policy.minSubjects} are required`);
    }

    const sorted = [...contributions].sort((a, b) => (a.header.merchantId < b.header.merchantId ? -1 : 1));
    const contributionDigests = sorted.map((c) => toHex(blake2b256(c.ciphertexts)));
    const previous = this.ledger.previous(header.queryId);
    if (previous && previous.join(',') !== contributionDigests.join(',')) {
      refuse('ALREADY_RELEASED', 'this query was released from a different set of contributions; a second release could isolate a merchant');
    }

    // Re-add ciphertext by ciphertext and compare with the coordinator's sum.
    const sums = sumPackedContributions(this.ctx, sorted.map((c) => c.ciphertexts), layout.ciphertextCount);
    const aggregateDigest = blake2b256(Buffer.concat(sums));
    if (!constantTimeEqual(aggregateDigest, header.aggregateDigest)) {
      refuse('AGGREGATE_MISMATCH', 'the coordinator\'s aggregate differs from the sum of the contributions it sent');
    }

    this.ledger.record(header.queryId, contributionDigests);
    this.decryptions++;
    const totals = layout.decode(sums.map((s) => this.decryptor.decryptPacked(s)));
    const byField = new Map(layout.fields.map((f, i) => [f.name, totals[i] ?? 0n]));

    const cells: Record<string, ReleaseCell> = {};
    for (const cell of definition.cells(spec)) {
      const subjects = byField.get(cell.subjectsField) ?? 0n;
      if (subjects < BigInt(this.policy.minSubjects)) {
        cells[cell.name] = { suppressed: true, reason: `fewer than ${this.policy.minSubjects} subjects` };
      } else {
        cells[cell.name] = {
          suppressed: false,
          subjects: subjects.toString(),
          totals: Object.fromEntries(cell.fields.map((f) => [f, (byField.get(f) ?? 0n).toString()])),
        };
      }
    }
    const doc: ReleaseDocument = {
      version: 1,
      queryId: header.queryId,
      kind: header.kind,
      specDigest: toHex(header.specDigest),
      paramSet: header.paramSet,
      keyId: toHex(this.keyId),
      merchants: sorted.map((c) => c.header.merchantId),
      contributionDigests,
      aggregateDigest: toHex(aggregateDigest),
      policy: { minMerchants: this.policy.minMerchants, minSubjects: this.policy.minSubjects },
      attestedSubjects,
      cells,
      releasedAt: new Date().toISOString(),
    };
    const releaseJson = JSON.stringify(doc);
    return {
      releaseJson,
      keyholderSigningKey: Buffer.from(this.keys.signing.publicKey),
      signature: Buffer.from(signDigest(blake2b256(Buffer.from(releaseJson, 'utf8')), this.keys.signing.secretKey)),
    };
  }

  /** The subject count of a contribution's signed consent attestation, after checking its binding. */
  private attestedSubjectsOf(c: ContributionForRelease, queryId: string, purpose: string, cutoff: Date): number {
    try {
      const att = parseAttestation(JSON.parse(Buffer.from(c.header.consentAttestation).toString('utf8')));
      checkAttestation(att, { queryId, merchantId: c.header.merchantId, purpose, cutoff });
      return att.subjectsIncluded;
    } catch (err) {
      const code = err instanceof AttestationError ? err.code : 'ATTESTATION_INVALID';
      refuse(code, `contribution of ${c.header.merchantId}: consent attestation ${err instanceof Error ? err.message : 'invalid'}`, status.INVALID_ARGUMENT);
    }
  }

  private verifyContribution(
    header: ReleaseHeader,
    c: ContributionForRelease,
    layoutDigest: Uint8Array,
    ciphertextCount: number,
    merchants: Set<string>,
  ): void {
    const h = c.header;
    const who = `contribution of ${h.merchantId}`;
    if (h.queryId !== header.queryId) refuse('ROUND_BINDING', `${who} is for another query`, status.INVALID_ARGUMENT);
    if (h.paramSet !== header.paramSet || !constantTimeEqual(h.keyId, this.keyId)) refuse('KEY_MISMATCH', `${who} is under another key`, status.INVALID_ARGUMENT);
    if (!constantTimeEqual(h.specDigest, header.specDigest)) refuse('ROUND_BINDING', `${who} is for another spec`, status.INVALID_ARGUMENT);
    if (!constantTimeEqual(h.layoutDigest, layoutDigest)) refuse('LAYOUT_MISMATCH', `${who} uses another slot layout`, status.INVALID_ARGUMENT);
    if (merchants.has(h.merchantId)) refuse('DUPLICATE_MERCHANT', `${h.merchantId} appears twice`, status.INVALID_ARGUMENT);
    let signatureOk = false;
    try {
      signatureOk = verifyEnvelope(envelopeOf(h), h.signature, c.merchantSigningKey);
    } catch (err) {
      refuse('HEADER_INVALID', `${who}: ${err instanceof Error ? err.message : 'malformed envelope'}`, status.INVALID_ARGUMENT);
    }
    if (!signatureOk) {
      refuse('SIGNATURE_INVALID', `${who} has an invalid signature`, status.UNAUTHENTICATED);
    }
    const ctLength = this.ctx.packedCiphertextByteLength;
    if (h.ciphertextDigests.length !== ciphertextCount || h.ciphertextLengths.length !== ciphertextCount ||
        h.ciphertextLengths.some((n) => n !== ctLength) || c.ciphertexts.length !== ciphertextCount * ctLength) {
      refuse('CIPHERTEXT_SHAPE', `${who} does not carry ${ciphertextCount} ciphertexts of ${ctLength} bytes`, status.INVALID_ARGUMENT);
    }
    for (let i = 0; i < ciphertextCount; i++) {
      const ct = c.ciphertexts.subarray(i * ctLength, (i + 1) * ctLength);
      if (!constantTimeEqual(blake2b256(ct), h.ciphertextDigests[i] ?? new Uint8Array())) {
        refuse('CIPHERTEXT_DIGEST', `${who}: ciphertext ${i} does not match its signed digest`, status.INVALID_ARGUMENT);
      }
      try {
        validatePackedCiphertext(this.ctx, ct);
      } catch (err) {
        refuse('CIPHERTEXT_INVALID', `${who}: ${err instanceof Error ? err.message : 'invalid ciphertext'}`, status.INVALID_ARGUMENT);
      }
    }
    merchants.add(h.merchantId);
  }
}
