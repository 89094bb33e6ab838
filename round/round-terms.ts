/**
 * What a round is, derived once from its query: the kind's definition, the
 * parsed spec, its canonical JSON and digest, the purpose it names and the
 * slot layout with its digest. The shop, the coordinator and the key holder
 * each build the same `RoundTerms` from the same three inputs (kind, spec
 * JSON, max contributors), so they cannot disagree about the layout a
 * contribution must use; no process derives a layout any other way.
 *
 * The purpose's disclosure terms are deliberately not part of `RoundTerms`:
 * the terms stop at what the query itself fixes, and `of` stays pure. Each
 * process takes the purpose's terms from its own registry, and which
 * registry it trusts is its policy, not a duplicated look-up: the
 * coordinator reads its purpose register (asynchronously, with the PIA in
 * force and its own k floor) once, when it publishes the query's terms; the
 * shop reads the purposes it registered itself and declines when the
 * query's stated terms differ (round/contribute.ts); the key holder reads
 * the purposes it was started with and its stored effective policy, which
 * may only tighten, under its own floors, and refuses when the terms a
 * shop's attestation carries differ. A `withPurpose(...)` would be built
 * from three different sources and still be checked differently by each,
 * so it would add a step without removing one; what they share is already
 * one function each in compliance/disclosure/terms.ts (`disclosureTerms`,
 * `declaredDisclosure`, and `declaredDifference` for the shop's and the key
 * holder's comparison).
 */
import { SlotLayout, blake2b256, constantTimeEqual } from '../crypto/index.js';
import { canonicalSpecJson, getQueryDefinition, type AnyQueryDefinition } from '../analytics/index.js';
import { RoundError } from './errors.js';

/** The plaintext space a layout is cut into (an `HeContext` is one). */
export interface PlaintextSpace {
  readonly plainModulus: bigint;
  readonly slotCount: number;
  /** The parameter set's noise limit: sums hold at most `maxAddends` contributions, more are added in stages. */
  readonly paramSet: { readonly maxAddends: number };
}

/**
 * Most contributions one round may have. Sums beyond the parameter set's
 * `maxAddends` go in stages, so the noise budget no longer bounds this; what
 * does is that the coordinator reads a round's contributions at close and
 * the key holder receives them in one request (about 1.2 GB at 10,000
 * one-ciphertext contributions).
 */
export const MAX_ROUND_CONTRIBUTORS = 10_000;

/**
 * Contributions in one homomorphic sum of a round of `maxContributors`:
 * all of them up to the parameter set's `maxAddends`, else `maxAddends`
 * (the round is summed in stages, crypto/sum-contributions.ts). The limbs
 * need room for one stage's sum, not the whole round's: the key holder adds
 * the stages' decrypted totals in BigInt.
 */
export function stageContributors(space: PlaintextSpace, maxContributors: number): number {
  return Math.min(maxContributors, space.paramSet.maxAddends);
}

/** A round as a query states it. */
export interface RoundQuery {
  readonly kind: string;
  /** The spec as JSON text (canonical when the coordinator stored it). */
  readonly specJson: string;
  /** When given, must be the BLAKE2b-256 of `specJson` (SPEC_DIGEST_MISMATCH otherwise). */
  readonly specDigest?: Uint8Array;
  /** Most contributions the round may have; with `maxAddends` (stages) it bounds the limb width. */
  readonly maxContributors: number;
}

/** The definition registered for `kind`; RoundError QUERY_KIND_UNKNOWN when there is none. */
export function definitionOf(kind: string): AnyQueryDefinition {
  try {
    return getQueryDefinition(kind);
  } catch (err) {
    throw new RoundError('QUERY_KIND_UNKNOWN', err instanceof Error ? err.message : `no query kind ${kind}`);
  }
}

/**
 * A stored query's definition and parsed spec, without a layout: for
 * finalising a release that was checked when it was stored. Throws
 * RoundError QUERY_KIND_UNKNOWN or SPEC_INVALID.
 */
export function parsedSpec(kind: string, specJson: string): { readonly definition: AnyQueryDefinition; readonly spec: unknown } {
  let json: unknown;
  try {
    json = JSON.parse(specJson);
  } catch {
    throw new RoundError('SPEC_INVALID', 'spec_json is not JSON');
  }
  const definition = definitionOf(kind);
  return { definition, spec: parseSpec(definition, json) };
}

export class RoundTerms {
  /** BLAKE2b-256 of `specJson`: what contributions and releases are bound to. */
  readonly specDigest: Uint8Array;
  /** The registered purpose the spec names. */
  readonly purpose: string;
  readonly layout: SlotLayout;
  /** `layout.digest()`, computed once (a BLAKE2b over the layout's description); do not modify. */
  readonly layoutDigest: Uint8Array;

  private constructor(
    space: PlaintextSpace,
    readonly kind: string,
    readonly definition: AnyQueryDefinition,
    readonly spec: unknown,
    /** The spec's JSON as the query states it (canonical: the coordinator stores `canonicalSpecJson` of the parsed spec). */
    readonly specJson: string,
    readonly maxContributors: number,
  ) {
    this.specDigest = blake2b256(Buffer.from(this.specJson, 'utf8'));
    this.purpose = definition.purposeOf(spec);
    if (!Number.isSafeInteger(maxContributors) || maxContributors < 1 || maxContributors > MAX_ROUND_CONTRIBUTORS) {
      throw new RoundError('LAYOUT_INVALID', `max_contributors must be an integer from 1 to ${MAX_ROUND_CONTRIBUTORS}, got ${String(maxContributors)}`);
    }
    try {
      this.layout = new SlotLayout(definition.fields(spec), {
        plainModulus: space.plainModulus,
        slotCount: space.slotCount,
        maxContributors: stageContributors(space, maxContributors),
      });
      this.layout.assertNoWrap(stageContributors(space, maxContributors));
    } catch (err) {
      // e.g. max_contributors so large that the sum could wrap the plaintext modulus
      throw new RoundError('LAYOUT_INVALID', err instanceof Error ? err.message : 'no slot layout for this spec');
    }
    this.layoutDigest = this.layout.digest();
  }

  /**
   * The terms of a stored or received query. Throws RoundError:
   * SPEC_DIGEST_MISMATCH, QUERY_KIND_UNKNOWN, SPEC_INVALID (the message names
   * the path), LAYOUT_INVALID.
   */
  static of(space: PlaintextSpace, query: RoundQuery): RoundTerms {
    if (query.specDigest !== undefined && !constantTimeEqual(blake2b256(Buffer.from(query.specJson, 'utf8')), query.specDigest)) {
      throw new RoundError('SPEC_DIGEST_MISMATCH', 'spec_digest is not the digest of spec_json');
    }
    const { definition, spec } = parsedSpec(query.kind, query.specJson);
    return new RoundTerms(space, query.kind, definition, spec, query.specJson, query.maxContributors);
  }

  /** As `of`, from a spec already parsed from JSON (an HTTP body); its canonical JSON is derived here. */
  static fromSpec(space: PlaintextSpace, kind: string, json: unknown, maxContributors: number): RoundTerms {
    const definition = definitionOf(kind);
    const spec = parseSpec(definition, json);
    return new RoundTerms(space, kind, definition, spec, canonicalSpecJson(spec), maxContributors);
  }
}

function parseSpec(definition: AnyQueryDefinition, json: unknown): unknown {
  try {
    return definition.parseSpec(json);
  } catch (err) {
    throw new RoundError('SPEC_INVALID', err instanceof Error ? err.message : 'invalid query spec');
  }
}
