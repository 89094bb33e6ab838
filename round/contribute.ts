/**
 * The shop's side of a round: from an open query and the shop's own data to
 * a signed contribution header. The shop answers only for a purpose it
 * registered itself on the query's terms, reading only fields the purpose
 * allows, over customers whose consent is valid at the cutoff; the local
 * statistic is encoded into the round's slot layout. Encryption and signing
 * are ports, so the merchant node (SEAL worker, Enc(0) pool, its key file)
 * and the load benchmark (many simulated merchants) share this code.
 */
import { blake2b256, envelopeDigest, randomBytes, type HeContext } from '../crypto/index.js';
import { canonicalSpecJson, type ShopData } from '../analytics/index.js';
import {
  ROW_SET_MAX_K,
  assertFieldsAllowed,
  buildAttestation,
  contributionRowSet,
  declaredDifference,
  disclosureTerms,
  getPurpose,
  parseDisclosureTerms,
  type ConsentAttestation,
  type ConsentLedger,
  type DisclosureTerms,
  type PurposeDefinition,
  type PurposeRegistry,
  type RoundConsentFilter,
} from '../compliance/index.js';
import { envelopeOf, type ContributionHeader, type OpenQuery } from '../protos/index.js';
import { roundView } from './round-view.js';
import { RoundError } from './errors.js';
import { RoundTerms } from './round-terms.js';

/**
 * The shop will not answer this query, for a reason it can state (terms it
 * did not register, a field its export lacks, data beyond the spec's
 * bounds); the reason names fields, never values.
 */
export class DeclinedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeclinedError';
  }
}

/** What the shop answers from: its data, consent ledger, purposes and pseudonym key. */
export interface ShopSide {
  readonly data: ShopData;
  readonly compliance: {
    readonly ledger: ConsentLedger;
    readonly registry: PurposeRegistry;
    readonly pseudonymKey: Uint8Array;
  };
}

/** A shop's statistic for one query, encoded; the same for every merchant id that sends it. */
export interface LocalStatistic {
  readonly query: OpenQuery;
  readonly terms: RoundTerms;
  readonly purpose: PurposeDefinition;
  readonly disclosure: DisclosureTerms;
  readonly filter: RoundConsentFilter;
  readonly cutoff: Date;
  readonly rowSet: ReturnType<typeof contributionRowSet>;
  /** One slot vector per ciphertext, in the layout's order. */
  readonly slots: BigUint64Array[];
  /** Consent records the statistic relied on (for the shop's receipt). */
  readonly recordIds: string[];
}

/** The ports a contribution needs from its process. */
export interface ContributionPorts {
  /** Encrypts slot vectors under the key holder's public key, one ciphertext each. */
  encrypt(slots: readonly BigUint64Array[]): Promise<Uint8Array[]> | Uint8Array[];
  /** Signs an envelope digest with the merchant's Ed25519 key. */
  sign(digest: Uint8Array): Uint8Array;
}

/** A signed contribution, ready to stream. */
export interface SignedContribution {
  readonly header: ContributionHeader;
  readonly ciphertexts: Uint8Array[];
  readonly attestation: ConsentAttestation;
  readonly recordIds: string[];
}

/**
 * The query's disclosure terms, declined (`PURPOSE_TERMS_DIFFER`) unless
 * they are the terms this shop registered the purpose under and state a k
 * at least the purpose's own; the shop's attestation carries them to the
 * key holder, which refuses when its registry disagrees.
 */
function checkDisclosureTerms(query: OpenQuery, purpose: PurposeDefinition): DisclosureTerms {
  let terms: DisclosureTerms;
  try {
    terms = parseDisclosureTerms(JSON.parse(query.termsJson));
  } catch (err) {
    throw new DeclinedError('PURPOSE_TERMS_DIFFER', `query ${query.queryId} carries no valid disclosure terms (${err instanceof Error ? err.message : 'unreadable'})`);
  }
  const own = disclosureTerms(purpose, 1);
  const differs = terms.purpose !== purpose.name ? 'purpose' : declaredDifference(terms.declared, own.declared);
  if (differs !== undefined) {
    throw new DeclinedError('PURPOSE_TERMS_DIFFER', `purpose ${purpose.name}: the query's disclosure terms differ from those registered here (${differs})`);
  }
  if (terms.minSubjects < own.minSubjects || terms.minSubjects > ROW_SET_MAX_K) {
    throw new DeclinedError('PURPOSE_TERMS_DIFFER', `purpose ${purpose.name}: the query states k=${terms.minSubjects}; this shop answers with k from ${own.minSubjects} to ${ROW_SET_MAX_K}`);
  }
  return terms;
}

/**
 * The shop's statistic for `query`, encoded into the round's layout. Throws
 * RoundError when the query is malformed (its spec digest, kind or spec),
 * DeclinedError when the shop will not answer it, PurposeError
 * (compliance) when the purpose is not registered here.
 */
export function localStatistic(space: Pick<HeContext, 'plainModulus' | 'slotCount' | 'paramSet'>, query: OpenQuery, shop: ShopSide): LocalStatistic {
  const terms = RoundTerms.of(space, query);
  const { definition, spec } = terms;
  const purpose = getPurpose(shop.compliance.registry, terms.purpose);
  if (canonicalSpecJson(purpose) !== query.purposeJson) {
    throw new DeclinedError('PURPOSE_TERMS_DIFFER', `purpose ${purpose.name} is registered here on other terms than the query states`);
  }
  assertFieldsAllowed(purpose, definition.inputFields(spec));
  const missing = definition.inputFields(spec).filter((f) => shop.data.missingFields?.includes(f));
  if (missing.length > 0) {
    throw new DeclinedError('FIELD_NOT_EXPORTED', `${query.kind} reads ${missing.join(', ')}, which this shop's export does not have (declare ${missing.length === 1 ? 'it' : 'them'} in schema.json)`);
  }
  const disclosure = checkDisclosureTerms(query, purpose);

  // Consent filter: only customers whose consent for the purpose is valid at the cutoff.
  const cutoff = new Date(Number(query.cutoffUnixMs));
  const filter = shop.compliance.ledger.filterForRound({ purpose, cutoff, customerIds: shop.data.customers.map((c) => c.customerId) });
  const consented = roundView(shop.data, filter.includedCustomerIds, purpose, shop.compliance.pseudonymKey);
  // Under an exact purpose the key holder counts the customers by which releases differ from this sketch of what the statistic reads.
  const rowSet = contributionRowSet(definition, spec, consented, disclosure, shop.compliance.pseudonymKey);
  let values: bigint[];
  try {
    values = definition.computeLocal(spec, consented);
  } catch (err) {
    // The shop's data cannot answer (a value beyond the spec's bound, an undeclared level, a missing
    // column): the shop declines with the reason, which names fields, never values.
    if (err instanceof RangeError) throw new DeclinedError('DATA_CANNOT_ANSWER', err.message);
    throw err;
  }
  return {
    query,
    terms,
    purpose,
    disclosure,
    filter,
    cutoff,
    rowSet,
    slots: terms.layout.encode(values),
    recordIds: filter.recordsUsed.map((r) => r.recordId),
  };
}

/** The consent attestation of `merchantId` for a statistic: what it included, excluded and why, under which terms. */
export function attestationFor(stat: LocalStatistic, merchantId: string): ConsentAttestation {
  return buildAttestation({
    queryId: stat.query.queryId,
    merchantId,
    purpose: stat.purpose.name,
    cutoff: stat.cutoff,
    filter: stat.filter,
    terms: stat.disclosure,
    rowSet: stat.rowSet,
  });
}

/** The contribution header binding `ciphertexts` to the round, signed through `sign`. */
export function signedHeader(
  stat: LocalStatistic,
  merchantId: string,
  attestation: ConsentAttestation,
  ciphertexts: readonly Uint8Array[],
  sign: ContributionPorts['sign'],
): ContributionHeader {
  const { query } = stat;
  if (ciphertexts.length !== stat.slots.length) throw new RoundError('CIPHERTEXT_SHAPE', `expected ${stat.slots.length} ciphertext(s), got ${ciphertexts.length}`);
  const unsigned: ContributionHeader = {
    queryId: query.queryId,
    merchantId,
    specDigest: Buffer.from(query.specDigest),
    keyId: Buffer.from(query.keyId),
    paramSet: query.paramSet,
    layoutDigest: Buffer.from(stat.terms.layoutDigest),
    ciphertextDigests: ciphertexts.map((c) => Buffer.from(blake2b256(c))),
    ciphertextLengths: ciphertexts.map((c) => c.length),
    createdUnixMs: BigInt(Date.now()),
    nonce: Buffer.from(randomBytes(16)),
    signature: Buffer.alloc(0),
    consentAttestation: Buffer.from(canonicalSpecJson(attestation), 'utf8'),
  };
  return { ...unsigned, signature: Buffer.from(sign(envelopeDigest(envelopeOf(unsigned)))) };
}

/** The shop's whole side of one round: statistic, attestation, encryption and signature. */
export async function contribute(
  space: Pick<HeContext, 'plainModulus' | 'slotCount' | 'paramSet'>,
  query: OpenQuery,
  merchantId: string,
  shop: ShopSide,
  ports: ContributionPorts,
): Promise<SignedContribution> {
  const stat = localStatistic(space, query, shop);
  const attestation = attestationFor(stat, merchantId);
  const ciphertexts = await ports.encrypt(stat.slots);
  return { header: signedHeader(stat, merchantId, attestation, ciphertexts, ports.sign), ciphertexts, attestation, recordIds: stat.recordIds };
}
