/**
 * One table of the round's error codes. Round code throws `RoundError`
 * naming a code and what kind of failure it is; only the transport edges
 * turn that kind into a gRPC status (`round/rpc.ts`) or an HTTP status, so
 * the coordinator and the key holder refuse the same contribution with the
 * same code and the same status.
 */

/** What kind of failure a code is, independent of any transport. */
export type RoundFailure =
  /** The input is malformed or bound to something else (gRPC INVALID_ARGUMENT). */
  | 'invalid'
  /** A signature does not verify (gRPC UNAUTHENTICATED). */
  | 'unauthenticated'
  /** The sender is not allowed (gRPC PERMISSION_DENIED). */
  | 'denied'
  /** The state of the round does not allow it (gRPC FAILED_PRECONDITION). */
  | 'precondition';

/** Every code round code throws, with its kind. */
export const ROUND_ERRORS = {
  /** The query kind is not registered. */
  QUERY_KIND_UNKNOWN: 'invalid',
  /** The spec does not parse for its kind. */
  SPEC_INVALID: 'invalid',
  /** `spec_digest` is not the BLAKE2b of `spec_json`. */
  SPEC_DIGEST_MISMATCH: 'invalid',
  /** No slot layout fits the spec (e.g. max_contributors so large that sums could wrap t). */
  LAYOUT_INVALID: 'invalid',
  /** A contribution names another query or spec than the round's. */
  ROUND_BINDING: 'invalid',
  /** A contribution is under another parameter set or public key than the round's. */
  KEY_MISMATCH: 'invalid',
  /** A contribution was encoded with another slot layout than the round's. */
  LAYOUT_MISMATCH: 'invalid',
  /** Ciphertext count or sizes differ from the layout's. */
  CIPHERTEXT_SHAPE: 'invalid',
  /** A ciphertext is not the one its signed digest names. */
  CIPHERTEXT_DIGEST: 'invalid',
  /** A ciphertext's bytes are not a well-formed ciphertext of this parameter set. */
  CIPHERTEXT_INVALID: 'invalid',
  /** The header's envelope cannot be hashed (bad field sizes). */
  HEADER_INVALID: 'invalid',
  /** The envelope's signature does not verify under the merchant's key. */
  SIGNATURE_INVALID: 'unauthenticated',
  /** A contribution carries no consent attestation. */
  ATTESTATION_MISSING: 'invalid',
  /** The consent attestation does not parse. */
  ATTESTATION_INVALID: 'invalid',
  /** The consent attestation is for another round, merchant, purpose or cutoff. */
  ATTESTATION_MISMATCH: 'invalid',
} as const satisfies Record<string, RoundFailure>;

export type RoundErrorCode = keyof typeof ROUND_ERRORS;

/** A step of the round refused its input; `code` is from `ROUND_ERRORS`. */
export class RoundError extends Error {
  readonly failure: RoundFailure;
  constructor(
    readonly code: RoundErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RoundError';
    this.failure = ROUND_ERRORS[code];
  }
}
