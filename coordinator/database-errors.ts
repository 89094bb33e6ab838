/**
 * Typed errors of the storage layer, and recognisers for driver errors by
 * SQLSTATE (PGlite and node-postgres both report it in `code`).
 */
/** Raised when stored data was written by a newer fedmart than this one. */
export class SchemaTooNewError extends Error {
  readonly code = 'SCHEMA_TOO_NEW';
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(`database schema version ${found} is newer than this fedmart supports (${supported}); upgrade fedmart before starting it on this database`);
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Raised when a service started with `--no-migrate` finds the schema older
 * than its code: migrations are then an operator's step (`fedmart db
 * migrate`), run once before rolling out new processes, instead of
 * happening inside whichever process starts first.
 */
export class SchemaNotMigratedError extends Error {
  readonly code = 'SCHEMA_NOT_MIGRATED';
  constructor(
    readonly found: number,
    readonly required: number,
  ) {
    super(`database schema version ${found} is older than this fedmart needs (${required}); run fedmart db migrate with the same --db, or start without --no-migrate`);
    this.name = 'SchemaNotMigratedError';
  }
}

/** Raised for a database target that is neither a folder, `memory://`, nor a PostgreSQL URL. */
export class DatabaseTargetError extends Error {
  readonly code = 'DATABASE_TARGET_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseTargetError';
  }
}

/** True when a driver error is a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return sqlStateOf(err) === '23505';
}

/** The SQLSTATE of a driver error (both drivers put it in `code`), if any. */
export function sqlStateOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = err.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}


/**
 * Raised when the database cannot take the request now (pool exhausted,
 * connection refused or dropped, server shutting down or out of
 * connections). Retryable: merchants get gRPC UNAVAILABLE and send again.
 */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  readonly retryable = true;
  constructor(cause: unknown) {
    super('the database is unavailable or overloaded; try again', { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

const UNAVAILABLE_MESSAGE = /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE/;

/** `err` as a DatabaseUnavailableError when it says the server cannot take work now, else `err` itself. */
export function unavailableOr(err: unknown): unknown {
  const state = sqlStateOf(err);
  if (state !== undefined) {
    // 08: connection exception; 53: insufficient resources; 57P01-03: shutting down, cannot connect now.
    return state.startsWith('08') || state.startsWith('53') || /^57P0[123]$/.test(state) ? new DatabaseUnavailableError(err) : err;
  }
  return err instanceof Error && UNAVAILABLE_MESSAGE.test(err.message) ? new DatabaseUnavailableError(err) : err;
}
