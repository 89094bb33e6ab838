/**
 * Where refusals of domain code become HTTP problems: the one place that
 * knows both the coordinator's domain codes (`request-errors.ts`) and the
 * round's (`round/errors.ts`) and the problem each answers with. Used by the
 * error handler of `http-app.ts`; domain code never throws `HttpProblem`.
 */
import { RoundError, type RoundErrorCode } from '../round/index.js';
import { HttpProblem, type ProblemCode } from './problems.js';
import { RequestError, type RequestErrorCode } from './request-errors.js';

/** The problem of every domain code (the type makes a new code name one). */
export const REQUEST_PROBLEMS: Readonly<Record<RequestErrorCode, ProblemCode>> = {
  QUERY_KIND_UNKNOWN: 'QUERY_KIND_UNKNOWN',
  QUERY_KIND_INTERNAL: 'QUERY_KIND_INTERNAL',
  QUERY_SPEC_INVALID: 'QUERY_SPEC_INVALID',
  OVERFLOW_RISK: 'OVERFLOW_RISK',
  PURPOSE_UNKNOWN: 'PURPOSE_UNKNOWN',
  PIA_MISSING: 'PIA_MISSING',
  FIELD_NOT_ALLOWED: 'FIELD_NOT_ALLOWED',
  CUTOFF_INVALID: 'CUTOFF_INVALID',
  USER_INVALID: 'USER_INVALID',
  USER_EXISTS: 'USER_EXISTS',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
};

/**
 * The problem of the round codes a request can cause: those `RoundTerms`
 * refuses a query's spec with. Any other round code reaching the HTTP API is
 * the coordinator's own fault (e.g. a stored query that no longer parses)
 * and answers INTERNAL.
 */
export const ROUND_PROBLEMS: Readonly<Partial<Record<RoundErrorCode, ProblemCode>>> = {
  QUERY_KIND_UNKNOWN: 'QUERY_KIND_UNKNOWN',
  SPEC_INVALID: 'QUERY_SPEC_INVALID',
  LAYOUT_INVALID: 'OVERFLOW_RISK',
};

/** A problem's code and the detail it shows (for statuses below 500). */
export interface ProblemOf {
  readonly code: ProblemCode;
  readonly detail: string | undefined;
}

/**
 * The problem `err` answers with when it is a known refusal: an
 * `HttpProblem` as it is, a `RequestError` or a mapped `RoundError` with its
 * message as the detail. Undefined for anything else.
 */
export function problemOf(err: unknown): ProblemOf | undefined {
  if (err instanceof HttpProblem) return { code: err.code, detail: err.detail };
  if (err instanceof RequestError) return { code: REQUEST_PROBLEMS[err.code], detail: err.message };
  if (err instanceof RoundError) {
    const code = ROUND_PROBLEMS[err.code];
    return code === undefined ? undefined : { code, detail: err.message };
  }
  return undefined;
}
