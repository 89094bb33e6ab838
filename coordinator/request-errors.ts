/**
 * What the coordinator's domain code (publishing queries, starting fits,
 * managing API users) refuses a request with, independent of any transport.
 * Domain code throws `RequestError` naming a code from `REQUEST_ERRORS`;
 * only the HTTP edge turns it into problem+json (`http-problem-map.ts`,
 * used by the error handler in `http-app.ts`). The round's own refusals
 * (`RoundError`, `round/errors.ts`: SPEC_INVALID, LAYOUT_INVALID) propagate
 * as they are and are mapped there too.
 */

/** What kind of refusal a code is, independent of any transport. */
export type RequestFailure =
  /** The request is malformed or inconsistent with what is registered. */
  | 'invalid'
  /** The caller may not do this, whatever the input. */
  | 'denied'
  /** The request names something that does not exist. */
  | 'not-found'
  /** The request conflicts with what already exists. */
  | 'conflict';

/** Every code domain code refuses a request with, with its kind. */
export const REQUEST_ERRORS = {
  /** The query or model kind is not registered. */
  QUERY_KIND_UNKNOWN: 'invalid',
  /** A person asked for a kind that is a step of a model fit (only the fit runner creates it). */
  QUERY_KIND_INTERNAL: 'denied',
  /** The spec does not parse for its kind (a fit's spec; a query's spec is RoundError SPEC_INVALID). */
  QUERY_SPEC_INVALID: 'invalid',
  /** More contributors than a sum keeps noise budget for (a layout that could wrap is RoundError LAYOUT_INVALID). */
  OVERFLOW_RISK: 'invalid',
  /** The spec names a purpose that is not registered. */
  PURPOSE_UNKNOWN: 'invalid',
  /** No impact assessment of the purpose is in force. */
  PIA_MISSING: 'invalid',
  /** The spec reads a field outside the purpose's allow-list. */
  FIELD_NOT_ALLOWED: 'invalid',
  /** The consent cutoff is in the future. */
  CUTOFF_INVALID: 'invalid',
  /** A user's role, purposes and shop do not fit together. */
  USER_INVALID: 'invalid',
  /** A user with the id exists (or it is the bootstrap administrator's). */
  USER_EXISTS: 'conflict',
  /** No user with the id. */
  USER_NOT_FOUND: 'not-found',
} as const satisfies Record<string, RequestFailure>;

export type RequestErrorCode = keyof typeof REQUEST_ERRORS;

/** Domain code refused a request; `code` is from `REQUEST_ERRORS`, `message` says why (shown to the caller). */
export class RequestError extends Error {
  readonly failure: RequestFailure;
  constructor(
    readonly code: RequestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
    this.failure = REQUEST_ERRORS[code];
  }
}
