/**
 * The release engine: the only code that decrypts. It trusts nothing the
 * coordinator says about a contribution: it checks every merchant signature
 * and binding itself, adds the ciphertexts again, and refuses sums of fewer
 * than `minMerchants` distinct merchants. Then it applies the disclosure
 * policy of the query's purpose (compliance/disclosure): the differencing
 * defence and the privacy-loss budget before anything is decrypted; k-subject,
 * dominance and secondary suppression and, for DP purposes, exact integer
 * noise after. It signs what it releases and keeps it, so a release asked
 * for twice is delivered identically.
 */
import {
  HeDecryptor,
  SealWorkerFaultError,
  blake2b256,
  constantTimeEqual,
  heKeyId,
  publicKeyBundleDigest,
  signDigest,
  sumPackedContributions,
  sumStageSizes,
  byMerchantId,
  toHex,
  verifyDigest,
  verifyKeyEvidence,
  KeyEvidenceError,
  type HeContext,
} from '../crypto/index.js';
import { keyHolderSpan, keyHolderStep } from './tracing.js';
import { checkModelRules, readsNoCustomers, type ReleaseDocument } from '../analytics/index.js';
import {
  DEFAULT_MAX_SATURATION,
  DEFAULT_PURPOSES,
  DisclosureError,
  MAX_MIN_SUBJECTS,
  RandomReader,
  applyDisclosure,
  declaredDifference,
  declaredDisclosure,
  defaultRandomSource,
  effectivePolicy,
  findDifferencing,
  releaseRowSet,
  formatRho,
  type ConsentAttestation,
  type DeclaredDisclosure,
  type DifferencingHit,
  type DisclosureFloors,
  type DominanceRule,
  type EffectivePolicy,
  type PopulationRecord,
  type PurposeDefinition,
  type RandomSource,
  type ReleaseRowSet,
} from '../compliance/index.js';
import {
  keyEvidenceFromWire,
  quoteUntrusted,
  releaseRequestDigest,
  type ContributionHeader,
  type MerchantKeyEvidence,
  type PublicKeyBundle,
  type ReleaseHeader,
  type SignedRelease,
} from '../protos/index.js';
import {
  RoundError,
  RoundTerms,
  buildReleaseDocument,
  checkBinding,
  checkContribution,
  signRelease,
  type ReleaseContents,
  type RoundBinding,
  type RoundErrorCode,
} from '../round/index.js';
import { DisclosureStore } from './disclosure-store.js';
import type { KeyHolderKeys } from './key-store.js';
import type { ReleaseLedger } from './release-ledger.js';

/** The key holder's own thresholds: floors under every purpose's disclosure policy. */
export interface ReleasePolicy {
  /** Fewest distinct merchants whose sum may be decrypted. */
  readonly minMerchants: number;
  /** Fewest subjects (customers) in a cell for its values to be released. */
  readonly minSubjects: number;
  /** Dominance rule applied to every purpose (null: only where a purpose asks for one). */
  readonly dominance?: DominanceRule | null;
  /** Models keep parameters / subjects below this (default 0.2); a purpose may lower it. */
  readonly maxSaturation?: number;
}

export const DEFAULT_RELEASE_POLICY: ReleasePolicy = { minMerchants: 3, minSubjects: 10, dominance: null, maxSaturation: DEFAULT_MAX_SATURATION };

/** Where the key holder's disclosure policies, budgets and randomness come from. */
export interface KeyHolderDisclosureOptions {
  /** Registered purposes whose `disclosure` blocks apply (default: the built-in purposes). */
  readonly purposes?: readonly PurposeDefinition[] | undefined;
  /** Persistent policies, budgets and release populations (default: in memory only). */
  readonly store?: DisclosureStore | undefined;
  /** Randomness for noise (default: node:crypto). Only tests inject another. */
  readonly random?: RandomSource | undefined;
  /**
   * Who decrypts: `startKeyHolder` passes a `SealWorker` holding the secret
   * key, so a fault inside SEAL costs a worker, not the key holder. Default:
   * an in-process HeDecryptor (for tools and tests that build a KeyHolder by hand).
   */
  readonly decryptor?: AggregateDecryptor | undefined;
}

/** Decrypts packed aggregates into slot values (a SealWorker, or in-process SEAL). */
export interface AggregateDecryptor {
  decryptPacked(packed: readonly Uint8Array[]): Promise<BigUint64Array[]>;
  close(): Promise<void> | void;
}

function inProcessDecryptor(ctx: HeContext, secretKey: Uint8Array): AggregateDecryptor {
  const d = new HeDecryptor(ctx, secretKey);
  return {
    decryptPacked: async (packed) => packed.map((p) => d.decryptPacked(p)),
    close: () => d.close(),
  };
}

/** One contribution as the coordinator forwards it. */
export interface ContributionForRelease {
  readonly header: ContributionHeader;
  readonly merchantSigningKey: Uint8Array;
  readonly ciphertexts: Uint8Array;
  /** The merchant's key evidence up to `merchantSigningKey`, verified back to the enrolment authority. */
  readonly keyEvidence: MerchantKeyEvidence | undefined;
}

/**
 * Whom the key holder believes, fixed at start and never taken from a
 * request: the enrolment authority, which vouches for every merchant key,
 * and the coordinator's request-signing key.
 */
export interface KeyHolderIdentity {
  /** Ed25519 public key of the enrolment authority (32 bytes). */
  readonly enrolmentAuthorityPublicKey: Uint8Array;
  /** Ed25519 public key the coordinator signs release requests with (32 bytes). */
  readonly coordinatorRequestKey: Uint8Array;
}

/** Refuses the release: a round code (round/errors.ts), which the gRPC edge maps to its status. */
function refuse(code: RoundErrorCode, message: string): never {
  throw new RoundError(code, message);
}

/** The merchants of a release and what they attest, after every contribution was checked. */
interface VerifiedShops {
  readonly merchants: ReadonlySet<string>;
  readonly subjectsByMerchant: Record<string, number>;
  readonly attestations: ReadonlyMap<string, ConsentAttestation>;
  readonly attestedSubjects: number;
}

export class KeyHolder {
  readonly keyId: Uint8Array;
  /** How many aggregates this instance has decrypted; tests use it to prove refusals decrypt nothing. */
  decryptions = 0;
  /** Releases signed and delivered for the first time (metrics). */
  releasesSigned = 0;
  /** Releases asked for again and delivered unchanged from storage (metrics). */
  releasesRepeated = 0;
  private readonly decryptor: AggregateDecryptor;
  /** Releases run one at a time, as they did before decryption became asynchronous. */
  private releaseQueue: Promise<unknown> = Promise.resolve();
  readonly disclosure: DisclosureStore;
  private readonly rng: RandomReader;
  /** Declared disclosure blocks of the configured purposes. */
  private readonly declared = new Map<string, DeclaredDisclosure>();

  /**
   * Throws RangeError naming the field for bad thresholds, and
   * DisclosureError (`DISCLOSURE_POLICY_INVALID`, `POLICY_LOOSENED`) when a
   * purpose's policy does not parse or is weaker than the one already applied.
   */
  constructor(
    private readonly ctx: HeContext,
    private readonly keys: KeyHolderKeys,
    readonly policy: ReleasePolicy,
    private readonly ledger: ReleaseLedger,
    private readonly identity: KeyHolderIdentity,
    options: KeyHolderDisclosureOptions = {},
  ) {
    if (!(identity?.enrolmentAuthorityPublicKey instanceof Uint8Array) || identity.enrolmentAuthorityPublicKey.length !== 32) {
      throw new RangeError('identity.enrolmentAuthorityPublicKey must be a 32-byte Ed25519 public key');
    }
    if (!(identity.coordinatorRequestKey instanceof Uint8Array) || identity.coordinatorRequestKey.length !== 32) {
      throw new RangeError('identity.coordinatorRequestKey must be a 32-byte Ed25519 public key');
    }
    if (!Number.isSafeInteger(policy.minMerchants) || policy.minMerchants < 2) {
      throw new RangeError('policy.minMerchants must be an integer >= 2');
    }
    if (!Number.isSafeInteger(policy.minSubjects) || policy.minSubjects < 1 || policy.minSubjects > MAX_MIN_SUBJECTS) {
      throw new RangeError(`policy.minSubjects must be an integer from 1 to ${MAX_MIN_SUBJECTS}`);
    }
    if (policy.dominance !== null && policy.dominance !== undefined && !(policy.dominance.maxSharePercent > 0 && policy.dominance.maxSharePercent <= 100)) {
      throw new RangeError('policy.dominance.maxSharePercent must be in (0, 100]');
    }
    if (policy.maxSaturation !== undefined && !(policy.maxSaturation > 0 && policy.maxSaturation <= 1)) {
      throw new RangeError('policy.maxSaturation must be in (0, 1]');
    }
    this.disclosure = options.store ?? new DisclosureStore();
    this.rng = new RandomReader(options.random ?? defaultRandomSource());
    // Adopt every configured purpose's policy now, so a loosened policy stops the start.
    for (const p of options.purposes ?? DEFAULT_PURPOSES) {
      this.disclosure.adopt(effectivePolicy(p.name, p.disclosure, this.floors()));
      this.declared.set(p.name, declaredDisclosure(p.name, p.disclosure));
    }
    this.keyId = heKeyId(keys.hePublicKey);
    this.decryptor = options.decryptor ?? inProcessDecryptor(ctx, keys.heSecretKey);
  }

  private floors(): DisclosureFloors {
    return {
      minMerchants: this.policy.minMerchants,
      minSubjects: this.policy.minSubjects,
      dominance: this.policy.dominance ?? null,
      maxSaturation: this.policy.maxSaturation ?? DEFAULT_MAX_SATURATION,
    };
  }

  /**
   * The policy for `purpose`: the stored one (configured purposes were
   * adopted at start); a purpose the key holder was never told about gets
   * its floors, exact, and keeps them from then on.
   */
  policyFor(purpose: string): EffectivePolicy {
    return this.disclosure.policy(purpose) ?? this.disclosure.adopt(effectivePolicy(purpose, undefined, this.floors()));
  }

  async close(): Promise<void> {
    await this.decryptor.close();
  }

  /**
   * Refuses a release request the coordinator's request-signing key did not
   * sign (UNAUTHENTICATED REQUEST_SIGNATURE_INVALID). The gRPC service calls
   * it as soon as the header arrives; `release` calls it again.
   */
  checkRequest(header: ReleaseHeader): void {
    let ok = false;
    try {
      ok = verifyDigest(header.coordinatorSignature, releaseRequestDigest(header), this.identity.coordinatorRequestKey);
    } catch {
      ok = false;
    }
    if (!ok) refuse('REQUEST_SIGNATURE_INVALID', 'the release request is not signed by the coordinator\'s request key');
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
   * Verifies, re-adds, decrypts and signs. Throws RoundError (never decrypting)
   * when anything about the request or a contribution does not hold.
   */
  release(header: ReleaseHeader, contributions: readonly ContributionForRelease[]): Promise<SignedRelease> {
    // One span per release as run (a no-op without tracing): ids and counts only.
    const run = () => keyHolderSpan('fedmart.keyholder.release', {
      'fedmart.query.id': header.queryId,
      'fedmart.query.kind': header.kind,
      'fedmart.contributions': contributions.length,
    }, (span) => this.releaseNow(header, contributions, (repeated) => span.setAttribute('fedmart.release.repeated', repeated)));
    const p = this.releaseQueue.then(run, run);
    this.releaseQueue = p.catch(() => undefined);
    return p;
  }

  /**
   * One release, step by step; every step before `ledger.record` refuses
   * without decrypting, and every step after it refuses without releasing.
   */
  private async releaseNow(header: ReleaseHeader, contributions: readonly ContributionForRelease[], onRepeated: (repeated: boolean) => void): Promise<SignedRelease> {
    const checked = keyHolderStep('fedmart.keyholder.verify', () => {
      const terms = this.termsOf(header);
      const cutoff = new Date(Number(header.cutoffUnixMs));
      // An int64 from the wire: a time Date cannot hold would reach the attestation check as Invalid Date.
      if (!Number.isFinite(cutoff.getTime())) refuse('HEADER_INVALID', 'the release header\'s cutoff_unix_ms is not a representable time');
      const round: RoundBinding = { queryId: header.queryId, paramSet: header.paramSet, keyId: this.keyId, terms, cutoff };
      const shops = this.verifyContributions(round, contributions);
      const policy = this.admit(header, terms, shops);

      // Merchant-id order: the order the coordinator adds in, so that both cut the same stages.
      const sorted = [...contributions].sort((a, b) => byMerchantId(a.header, b.header));
      const contributionDigests = sorted.map((c) => toHex(blake2b256(c.ciphertexts)));
      const repeated = this.repeatedRelease(header.queryId, contributionDigests);
      if (repeated) return { repeated, terms: undefined } as const;
      const population = this.checkEarlierReleases(header, terms, policy, shops);
      return { terms, round, shops, policy, sorted, contributionDigests, population } as const;
    });
    onRepeated(checked.terms === undefined);
    if (checked.terms === undefined) return checked.repeated;
    const { terms, round, shops, policy, sorted, contributionDigests, population } = checked;

    // Re-add ciphertext by ciphertext (in stages of maxAddends) and compare with the coordinator's sum.
    const { sums, aggregateDigest } = keyHolderStep('fedmart.keyholder.aggregate', () => {
      const added = sumPackedContributions(this.ctx, sorted.map((c) => c.ciphertexts), terms.layout.ciphertextCount);
      const digest = blake2b256(Buffer.concat(added));
      if (!constantTimeEqual(digest, header.aggregateDigest)) {
        refuse('AGGREGATE_MISMATCH', 'the coordinator\'s aggregate differs from the sum of the contributions it sent');
      }
      return { sums: added, aggregateDigest: digest };
    });

    const byField = await keyHolderSpan('fedmart.keyholder.decrypt', { 'fedmart.ciphertexts': sums.length }, async () => {
      this.ledger.record(header.queryId, contributionDigests);
      this.decryptions++;
      return this.checkedTotals(header, terms, shops.merchants.size, await this.decryptAggregate(sums));
    });
    const { releaseJson, signature } = keyHolderStep('fedmart.keyholder.disclose', () => {
      const doc = this.disclose(round, policy, shops, population, byField, {
        merchants: sorted.map((c) => c.header.merchantId),
        contributionDigests,
        aggregateDigest,
      });
      const signed = signRelease(doc, this.keys.signing.secretKey);
      this.disclosure.storeRelease(header.queryId, { releaseJson: signed.releaseJson, signature: toHex(signed.signature) });
      return signed;
    });
    this.releasesSigned++;
    return {
      releaseJson,
      keyholderSigningKey: Buffer.from(this.keys.signing.publicKey),
      signature: Buffer.from(signature),
    };
  }

  /** The request is the coordinator's, under this key holder's key, and its spec derives the round's terms. */
  private termsOf(header: ReleaseHeader): RoundTerms {
    this.checkRequest(header);
    if (header.paramSet !== this.ctx.paramSet.name) refuse('PARAM_SET_MISMATCH', `parameter set ${quoteUntrusted(header.paramSet)} is not ${this.ctx.paramSet.name}`);
    if (!constantTimeEqual(header.keyId, this.keyId)) refuse('KEY_MISMATCH', 'contributions are not under this key holder\'s public key');
    return RoundTerms.of(this.ctx, { kind: header.kind, specJson: header.specJson, specDigest: header.specDigest, maxContributors: header.maxContributors });
  }

  /** Every contribution checked (`verifyContribution`), with what the shops attest. */
  private verifyContributions(round: RoundBinding, contributions: readonly ContributionForRelease[]): VerifiedShops {
    const merchants = new Set<string>();
    const subjectsByMerchant: Record<string, number> = {};
    const attestations = new Map<string, ConsentAttestation>();
    let attestedSubjects = 0;
    for (const c of contributions) {
      const att = this.verifyContribution(round, c, merchants);
      attestations.set(c.header.merchantId, att);
      subjectsByMerchant[c.header.merchantId] = att.subjectsIncluded;
      attestedSubjects += att.subjectsIncluded;
    }
    return { merchants, subjectsByMerchant, attestations, attestedSubjects };
  }

  /** The purpose's policy, once the shops' terms agree with it and there are at least m merchants and k subjects. */
  private admit(header: ReleaseHeader, terms: RoundTerms, shops: VerifiedShops): EffectivePolicy {
    const { definition, spec, purpose } = terms;
    let policy: EffectivePolicy;
    try {
      policy = this.policyFor(purpose);
    } catch (err) {
      if (err instanceof DisclosureError) refuse(err.code, err.message);
      throw err;
    }
    this.checkTerms(purpose, policy, shops.attestations);
    const merchants = shops.merchants.size;
    if (merchants < policy.minMerchants) {
      refuse('TOO_FEW_MERCHANTS', `${merchants} merchants contributed; at least ${policy.minMerchants} are required before anything is decrypted`);
    }
    if (merchants > header.maxContributors) refuse('TOO_MANY_MERCHANTS', `more contributions than max_contributors ${header.maxContributors}`);
    // Each stage sum holds at most maxAddends contributions (crypto/sum-contributions.ts).
    terms.layout.assertNoWrap(Math.min(merchants, this.ctx.paramSet.maxAddends));
    // A release over business tables only (no customer read) has no consented subjects; its cells' rows carry k.
    const customerFree = readsNoCustomers(definition.inputFields(spec), definition.rowScope?.(spec));
    if (!customerFree && shops.attestedSubjects < policy.minSubjects) {
      refuse('TOO_FEW_SUBJECTS', `the shops attest ${shops.attestedSubjects} consented subjects; at least ${policy.minSubjects} are required`);
    }
    return policy;
  }

  /**
   * The release already made of this query, asked for again (e.g. a lost
   * reply): delivered unchanged, with the same noise. ALREADY_RELEASED when
   * the query was released from another set of contributions.
   */
  private repeatedRelease(queryId: string, contributionDigests: readonly string[]): SignedRelease | undefined {
    const previous = this.ledger.previous(queryId);
    if (!previous) return undefined;
    if (previous.join(',') !== contributionDigests.join(',')) {
      refuse('ALREADY_RELEASED', 'this query was released from a different set of contributions; a second release could isolate a merchant');
    }
    const stored = this.disclosure.storedRelease(queryId);
    if (!stored) return undefined;
    this.releasesRepeated++;
    return {
      releaseJson: stored.releaseJson,
      keyholderSigningKey: Buffer.from(this.keys.signing.publicKey),
      signature: Buffer.from(stored.signature, 'hex'),
    };
  }

  /**
   * The release's population, once it differs from every earlier release of
   * the purpose by at least k customers and m merchants (exact purposes), or
   * the purpose's budget pays for it (DP purposes).
   */
  private checkEarlierReleases(header: ReleaseHeader, terms: RoundTerms, policy: EffectivePolicy, shops: VerifiedShops): PopulationRecord {
    const { definition, spec, purpose } = terms;
    const purposeLedger = this.disclosure.ledger(purpose);
    const fitId = definition.fitIdOf?.(spec);
    let rowSet: ReleaseRowSet | undefined;
    if (policy.noise.mode === 'exact') {
      try {
        rowSet = releaseRowSet(new Map([...shops.attestations].map(([m, att]) => [m, att.rowSet])));
      } catch (err) {
        if (err instanceof DisclosureError) refuse(err.code, err.message);
        throw err;
      }
    }
    const population: PopulationRecord = {
      queryId: header.queryId,
      kind: header.kind,
      specDigest: toHex(header.specDigest),
      merchants: shops.subjectsByMerchant,
      attestedSubjects: shops.attestedSubjects,
      releasedAt: '',
      ...(fitId !== undefined ? { fitId } : {}),
      ...(rowSet !== undefined ? { rowSet } : {}),
    };
    if (policy.noise.mode === 'exact') {
      const hit = findDifferencing(purposeLedger.releases, population, { minSubjects: policy.minSubjects, minMerchants: policy.minMerchants });
      if (hit) refuse(hit.code, differencingMessage(purpose, header.kind, hit, policy));
    } else {
      const left = policy.noise.totalRhoUnits - purposeLedger.rhoSpentUnits;
      if (left < policy.noise.rhoPerQueryUnits) {
        refuse('BUDGET_EXHAUSTED', `purpose '${purpose}': privacy-loss budget exhausted: ρ=${formatRho(left > 0n ? left : 0n)} of ρ=${formatRho(policy.noise.totalRhoUnits)} remains and a release costs ρ=${formatRho(policy.noise.rhoPerQueryUnits)} (zCDP)`);
      }
    }
    return population;
  }

  /**
   * The decrypted totals by field, refused (INPUT_OUT_OF_BOUNDS) when honest
   * shops could not have summed to them. `slots` holds the stage sums one
   * after the other (crypto/sum-contributions.ts); each stage is checked
   * against its own shops' bounds and the totals are added here, so no
   * stage's figures leave this function.
   */
  private checkedTotals(header: ReleaseHeader, terms: RoundTerms, merchants: number, slots: BigUint64Array[]): Map<string, bigint> {
    const { definition, spec, layout, purpose } = terms;
    const stages = sumStageSizes(merchants, this.ctx.paramSet.maxAddends);
    const perStage = layout.ciphertextCount;
    if (slots.length !== stages.length * perStage) refuse('AGGREGATE_MISMATCH', `expected ${stages.length} stage sums of ${perStage} ciphertexts, decrypted ${slots.length}`);
    const totals: bigint[] = layout.fields.map(() => 0n);
    stages.forEach((shops, s) => {
      const stageSlots = slots.slice(s * perStage, (s + 1) * perStage);
      const stageTotals = layout.decode(stageSlots);
      // A shop that skips its own bound checks can put any value below t in a slot: refuse what honest shops cannot sum to.
      const violation = layout.boundsViolation(stageSlots, shops, stageTotals);
      if (violation) {
        const where = stages.length > 1 ? ` in stage ${s + 1} of ${stages.length} (${shops} shops)` : '';
        refuse('INPUT_OUT_OF_BOUNDS', `purpose '${purpose}', ${header.kind}: the decrypted sums of ${merchants} shops exceed what the query's declared bounds allow${where} (${violation}); a shop sent values outside them, and nothing is released`);
      }
      stageTotals.forEach((t, i) => (totals[i] = (totals[i] as bigint) + t));
    });
    const byField = new Map(layout.fields.map((f, i) => [f.name, totals[i] ?? 0n]));
    // Nor what honest shops' sums never hold together, field against field (analytics/input-relations.ts).
    const broken = definition.inputViolation?.(spec, byField, merchants);
    if (broken !== undefined) refuse('INPUT_OUT_OF_BOUNDS', `purpose '${purpose}', ${header.kind}: the decrypted sums of ${merchants} shops break a relation every honest shop's sums satisfy (${broken}); a shop sent values no honest shop can, and nothing is released`);
    return byField;
  }

  /**
   * Disclosure control on the decrypted totals (model rules, cell
   * integrity, k, dominance, secondary suppression, noise), the spend and
   * population recorded, and the release document (`buildReleaseDocument`,
   * round/release.ts).
   */
  private disclose(
    round: RoundBinding,
    policy: EffectivePolicy,
    shops: VerifiedShops,
    population: PopulationRecord,
    byField: ReadonlyMap<string, bigint>,
    sums: Pick<ReleaseContents, 'merchants' | 'contributionDigests' | 'aggregateDigest'>,
  ): ReleaseDocument {
    const { kind, definition, spec, layout, purpose } = round.terms;
    // A model's groups and saturation (exact purposes; under DP the noise protects them): nothing leaves on a refusal.
    const rules = policy.noise.mode === 'exact' ? definition.modelRules?.(spec) : undefined;
    const ruled = rules ? checkModelRules(rules, byField, policy.minSubjects, policy.maxSaturation) : undefined;
    if (ruled?.refusal) refuse(ruled.refusal.code, `purpose '${purpose}', ${kind}: ${ruled.refusal.message}`);

    // Cells whose exact totals are not what they claim (a bucket of two levels) are withheld before anything leaves.
    const integrity = definition.cellIntegrity;
    const integrityFailed = integrity ? new Set(definition.cells(spec).filter((c) => !integrity.call(definition, spec, c, byField)).map((c) => c.name)) : undefined;
    const outcome = applyDisclosure({
      cells: definition.cells(spec),
      fields: layout.fields,
      totals: byField,
      attestedSubjects: shops.attestedSubjects,
      policy,
      sensitivity: definition.subjectSensitivity?.(spec),
      margins: definition.margins?.(spec),
      rng: this.rng,
      smallGroupCells: ruled?.withheld,
      integrityFailedCells: integrityFailed,
    });
    const releasedAt = new Date();
    // Spend and population are on disk before the release leaves.
    const spent = this.disclosure.recordRelease(purpose, { ...population, releasedAt: releasedAt.toISOString() }, outcome.dp?.rhoUnits ?? 0n);
    return buildReleaseDocument(round, { ...sums, policy, outcome, rhoSpentUnits: spent.rhoSpentUnits, releasedAt });
  }

  /**
   * Decrypts in the SEAL worker. A worker fault has already been retried
   * once on a fresh worker; a second one is UNAVAILABLE (try again later).
   * The ledger keeps the contribution set, so the same release asked again decrypts again.
   */
  private async decryptAggregate(sums: readonly Uint8Array[]): Promise<BigUint64Array[]> {
    try {
      return await this.decryptor.decryptPacked(sums);
    } catch (err) {
      if (err instanceof SealWorkerFaultError) {
        refuse('SEAL_WORKER_FAULT', `decryption failed on two fresh SEAL workers (${err.code}); try again`);
      }
      throw err;
    }
  }

  /**
   * The purpose's disclosure block as this key holder was configured with
   * it (none: exact under the floors), in the explicit form terms carry.
   */
  declaredFor(purpose: string): DeclaredDisclosure {
    return this.declared.get(purpose) ?? declaredDisclosure(purpose, undefined);
  }

  /**
   * Refuses (`POLICY_MISMATCH`) unless every shop answered under the same
   * terms, their declared block is this key holder's for the purpose, and
   * the k they state is at least the one applied here (their row-set
   * sketches are sized for it). A purpose declared DP anywhere is never
   * released exact.
   */
  private checkTerms(purpose: string, policy: EffectivePolicy, attestations: ReadonlyMap<string, ConsentAttestation>): void {
    const own = this.declaredFor(purpose);
    let first: string | undefined;
    for (const [merchant, att] of attestations) {
      const json = JSON.stringify(att.terms);
      first ??= json;
      if (json !== first) refuse('POLICY_MISMATCH', `purpose '${purpose}': the shops answered under different disclosure terms (${merchant} differs)`);
      const differs = declaredDifference(att.terms.declared, own);
      if (differs !== undefined) {
        refuse('POLICY_MISMATCH', `purpose '${purpose}': the query's disclosure terms differ from this key holder's registry (${differs}); the key holder releases nothing until the purpose is registered on the same terms everywhere`);
      }
      if (att.terms.minSubjects < policy.minSubjects) {
        refuse('POLICY_MISMATCH', `purpose '${purpose}': the query states k=${att.terms.minSubjects} but this key holder applies k=${policy.minSubjects}; start the coordinator with --min-subjects ${policy.minSubjects}`);
      }
      if (policy.noise.mode === 'exact' && att.rowSet === null) {
        refuse('POLICY_MISMATCH', `purpose '${purpose}': ${merchant} sent no row-set sketch, which an exact purpose needs`);
      }
    }
  }

  /**
   * The contribution check the coordinator ran (round/check-contribution.ts),
   * run again here, plus what only the key holder can check: one
   * contribution per merchant, and a signing key that traces back to the
   * enrolment authority for this very merchant id, so the coordinator
   * cannot invent merchants or keys. Returns the consent attestation.
   */
  private verifyContribution(round: RoundBinding, c: ContributionForRelease, merchants: Set<string>): ConsentAttestation {
    const h = c.header;
    const who = `contribution of ${quoteUntrusted(h.merchantId)}`;
    try {
      checkBinding(h, round);
      if (merchants.has(h.merchantId)) refuse('DUPLICATE_MERCHANT', `${h.merchantId} appears twice`);
      const evidence = keyEvidenceFromWire(c.keyEvidence);
      if (!evidence) refuse('MERCHANT_UNVERIFIED', `${who} carries no key evidence`);
      try {
        verifyKeyEvidence(evidence, this.identity.enrolmentAuthorityPublicKey, h.merchantId, c.merchantSigningKey, null);
      } catch (err) {
        if (!(err instanceof KeyEvidenceError)) throw err;
        refuse('MERCHANT_UNVERIFIED', `${who}: key evidence refused (${err.code}: ${err.message})`);
      }
      const { attestation } = checkContribution(this.ctx, round, h, c.ciphertexts, c.merchantSigningKey);
      merchants.add(h.merchantId);
      return attestation;
    } catch (err) {
      if (err instanceof RoundError) throw new RoundError(err.code, `${who}: ${err.message}`);
      throw err;
    }
  }
}

/** The refusal message of a differencing hit, naming both queries and the thresholds. */
function differencingMessage(purpose: string, kind: string, hit: DifferencingHit, policy: EffectivePolicy): string {
  const earlier = `released query ${hit.earlier.queryId} (${hit.earlier.kind})`;
  if (hit.code === 'MERCHANT_DIFFERENCING') {
    return `purpose '${purpose}': the shops behind this ${kind} query differ from those of ${earlier} by ${hit.difference} merchant(s) (${(hit.merchants ?? []).join(', ')}), fewer than m=${policy.minMerchants}; releasing both would give those shops' figures by subtraction`;
  }
  const what = hit.via === 'members' ? 'customers in one and not the other' : hit.via === 'counts' ? 'from the attested consent counts' : `customers whose ${hit.via} rows differ`;
  return `purpose '${purpose}': the rows behind this ${kind} query differ from those of ${earlier} by ${hit.exact ? '' : 'at least '}${hit.difference} customer(s) (${what}), fewer than k=${policy.minSubjects}; releasing both would expose those customers by subtraction`;
}
