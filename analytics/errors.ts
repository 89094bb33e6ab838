/**
 * Typed errors of the analytics layer. Callers (the coordinator's HTTP API,
 * the merchant node) map `code` to a problem+json type or gRPC status, so the
 * codes are part of the public contract and never change meaning.
 *
 * @module
 */

/** A query specification failed validation. `path` points into the JSON. */
export class QuerySpecError extends Error {
  override readonly name = 'QuerySpecError';
  readonly code = 'QUERY_SPEC_INVALID' as const;
  /** Dotted path of the offending value, `''` for the spec itself. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(path === '' ? message : `${path}: ${message}`);
    this.path = path;
  }
}

/** No query definition is registered under the requested kind. */
export class UnknownQueryKindError extends Error {
  override readonly name = 'UnknownQueryKindError';
  readonly code = 'QUERY_KIND_UNKNOWN' as const;
  readonly kind: string;

  constructor(kind: string, known: readonly string[]) {
    super(`unknown query kind '${kind}' (known: ${known.join(', ')})`);
    this.kind = kind;
  }
}
