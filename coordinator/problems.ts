/**
 * The catalogue of HTTP problems (RFC 9457 problem+json) the coordinator
 * answers with. Each has a stable code; 5xx responses never carry internals.
 */
export const PROBLEMS = {
  UNAUTHENTICATED: { status: 401, title: 'Missing or invalid API token' },
  ROLE_FORBIDDEN: { status: 403, title: 'Your role may not use this route' },
  PURPOSE_NOT_GRANTED: { status: 403, title: 'You are not granted the purpose this request is for' },
  NOT_OWN_MERCHANT: { status: 403, title: 'Merchant operators may only see their own shop' },
  VALIDATION_FAILED: { status: 400, title: 'The request does not match the schema' },
  QUERY_KIND_UNKNOWN: { status: 400, title: 'Unknown query kind' },
  QUERY_KIND_INTERNAL: { status: 403, title: 'This kind is a step of a model fit; only the fit runner creates it' },
  QUERY_INTERNAL: { status: 403, title: 'This query is a round of a model fit; its values stay with the fit runner' },
  RELEASE_INTERNAL: { status: 403, title: 'This release holds a model\'s inputs; only the model is published' },
  QUERY_SPEC_INVALID: { status: 400, title: 'The query specification is invalid' },
  OVERFLOW_RISK: { status: 400, title: 'The declared bounds could wrap the plaintext modulus' },
  PURPOSE_UNKNOWN: { status: 400, title: 'The query names a purpose that is not registered' },
  PIA_MISSING: { status: 400, title: 'No personal-information impact assessment is recorded for the purpose' },
  FIELD_NOT_ALLOWED: { status: 400, title: 'The query reads a field outside its purpose\'s allow-list' },
  CUTOFF_INVALID: { status: 400, title: 'The consent cutoff must not be in the future' },
  AUDIT_RANGE_INVALID: { status: 400, title: 'The requested audit range is invalid' },
  PURPOSE_INVALID: { status: 400, title: 'The purpose or PIA is invalid' },
  USER_INVALID: { status: 400, title: 'The user definition is invalid' },
  QUERY_NOT_FOUND: { status: 404, title: 'No such query' },
  FIT_NOT_FOUND: { status: 404, title: 'No such model fit' },
  JOB_NOT_FOUND: { status: 404, title: 'No such job' },
  USER_NOT_FOUND: { status: 404, title: 'No such user' },
  MERCHANT_NOT_FOUND: { status: 404, title: 'No such merchant' },
  JOB_NOT_DONE: { status: 409, title: 'The job has not finished successfully' },
  USER_EXISTS: { status: 409, title: 'A user with this id already exists' },
  SELF_REVOKE: { status: 409, title: 'An administrator may not revoke their own token' },
  RELEASE_NOT_READY: { status: 409, title: 'The query has no release yet' },
  NOT_FOUND: { status: 404, title: 'No such route' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  URI_TOO_LONG: { status: 414, title: 'A path parameter is too long' },
  MALFORMED_REQUEST: { status: 400, title: 'The request is not well-formed HTTP' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  EXPECTATION_FAILED: { status: 417, title: 'Only Expect: 100-continue is supported' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Send the body as application/json' },
  RATE_LIMITED: { status: 429, title: 'Too many requests; retry after the time in Retry-After' },
  INTERNAL: { status: 500, title: 'Internal error' },
  PDF_UNAVAILABLE: { status: 503, title: 'PDF rendering is not available on this coordinator' },
  JOB_ABANDONED: { status: 503, title: 'The coordinator running this job stopped before it finished; start it again' },
  NOT_READY: { status: 503, title: 'The coordinator cannot take work now; checks names what is failing' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

/** A failure that becomes a problem+json response. */
export class HttpProblem extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.name = 'HttpProblem';
  }
}

export function problemBody(code: ProblemCode, detail: string | undefined, instance: string): Record<string, unknown> {
  const p = PROBLEMS[code];
  return {
    type: `urn:fedmart:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: p.title,
    status: p.status,
    code,
    ...(detail !== undefined && p.status < 500 ? { detail } : {}),
    instance,
  };
}
