/**
 * Typed errors of disclosure control. Codes are stable: the key holder sends
 * them as the gRPC error code, the coordinator records them as the reason of
 * a failed query in the audit log, and tests and operators match on them.
 *
 * @module
 */

/** Machine-readable causes of a {@link DisclosureError}. */
export type DisclosureErrorCode =
  /** The purpose's privacy-loss budget cannot pay for another release. */
  | 'BUDGET_EXHAUSTED'
  /** The rows behind a release differ from an earlier release of the purpose by 1..k-1 customers. */
  | 'DIFFERENCING'
  /** The merchants behind a release differ from an earlier release of the purpose by 1..m-1 merchants. */
  | 'MERCHANT_DIFFERENCING'
  /** The terms a query was published under disagree with the key holder's registry. */
  | 'POLICY_MISMATCH'
  /** Disclosure terms or a row-set sketch do not parse. */
  | 'DISCLOSURE_TERMS_INVALID'
  | 'ROW_SET_INVALID'
  /** A configured policy is weaker than the one the key holder already applied. */
  | 'POLICY_LOOSENED'
  /** A disclosure policy or its persisted state does not parse. */
  | 'DISCLOSURE_POLICY_INVALID'
  /** The persisted disclosure state is unreadable or inconsistent. */
  | 'DISCLOSURE_STATE_CORRUPT';

/** A release was refused, or a policy or state is unusable; `code` is stable. */
export class DisclosureError extends Error {
  override readonly name = 'DisclosureError';
  readonly code: DisclosureErrorCode;
  /** The purpose concerned, when there is one. */
  readonly purpose: string | undefined;

  constructor(code: DisclosureErrorCode, message: string, purpose?: string) {
    super(message);
    this.code = code;
    this.purpose = purpose;
  }
}
