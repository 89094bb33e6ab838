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
  | 'precondition'
  /** Try again later; nothing was decided (gRPC UNAVAILABLE). */
  | 'unavailable';

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

  // The release: what the key holder refuses before anything is decrypted or leaves.
  /** The release request is not signed by the coordinator's request key. */
  REQUEST_SIGNATURE_INVALID: 'unauthenticated',
  /** The request is for another BFV parameter set than the key holder's. */
  PARAM_SET_MISMATCH: 'precondition',
  /** A merchant appears twice in one release. */
  DUPLICATE_MERCHANT: 'invalid',
  /** A merchant's signing key does not trace back to the enrolment authority for that merchant id. */
  MERCHANT_UNVERIFIED: 'denied',
  /** Fewer merchants than the purpose's m. */
  TOO_FEW_MERCHANTS: 'precondition',
  /** More contributions than the layout's max_contributors. */
  TOO_MANY_MERCHANTS: 'precondition',
  /** Fewer attested consented subjects than the purpose's k. */
  TOO_FEW_SUBJECTS: 'precondition',
  /** The query was released before from another set of contributions. */
  ALREADY_RELEASED: 'precondition',
  /** The rows behind the release differ from an earlier one's by 1..k-1 customers. */
  DIFFERENCING: 'precondition',
  /** The merchants behind the release differ from an earlier one's by 1..m-1 merchants. */
  MERCHANT_DIFFERENCING: 'precondition',
  /** The purpose's privacy-loss budget cannot pay for the release. */
  BUDGET_EXHAUSTED: 'precondition',
  /** The coordinator's aggregate is not the sum of the contributions it sent. */
  AGGREGATE_MISMATCH: 'precondition',
  /** Decrypted sums that honest shops cannot produce (bounds or relations between fields). */
  INPUT_OUT_OF_BOUNDS: 'precondition',
  /** A model's group rests on fewer than k subjects. */
  LEVEL_TOO_FEW_SUBJECTS: 'precondition',
  /** A model has too many parameters for its subjects. */
  SATURATION: 'precondition',
  /** The shops' disclosure terms differ from each other or from the key holder's registry. */
  POLICY_MISMATCH: 'precondition',
  /** A purpose's configured policy is weaker than the one already applied. */
  POLICY_LOOSENED: 'precondition',
  /** A purpose's disclosure policy or its stored state does not parse. */
  DISCLOSURE_POLICY_INVALID: 'precondition',
  /** The key holder's stored disclosure state is unreadable or inconsistent. */
  DISCLOSURE_STATE_CORRUPT: 'precondition',
  /** A shop's disclosure terms do not parse. */
  DISCLOSURE_TERMS_INVALID: 'invalid',
  /** The shops' row-set sketches cannot be combined. */
  ROW_SET_INVALID: 'invalid',
  /** Decryption failed on two fresh SEAL workers. */
  SEAL_WORKER_FAULT: 'unavailable',
  /** The release's signature does not verify under the pinned key holder key. */
  RELEASE_SIGNATURE_INVALID: 'precondition',
  /** The signed release is of another query or another aggregate. */
  RELEASE_MISMATCH: 'precondition',
} as const satisfies Record<string, RoundFailure>;

export type RoundErrorCode = keyof typeof ROUND_ERRORS;

/** Whether `code` is in the table. */
export function isRoundErrorCode(code: string): code is RoundErrorCode {
  return Object.hasOwn(ROUND_ERRORS, code);
}

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
