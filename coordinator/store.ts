/**
 * Typed access to the coordinator's tables. Exactly-once acceptance is the
 * database's job (primary key on query and merchant), not memory's.
 */
import { toHex } from '../crypto/index.js';
import { ContributionHeader } from '../protos/index.js';
import type { AuditEvent } from '../compliance/index.js';
import { CiphertextFilesError } from './ciphertext-files.js';
import { isUniqueViolation, textArray, type Database, type SqlExecutor, type SqlValue } from './database.js';

export type QueryStatus = 'open' | 'closing' | 'released' | 'failed';

export interface QueryRecord {
  readonly queryId: string;
  readonly kind: string;
  readonly specJson: string;
  readonly specDigest: Uint8Array;
  readonly paramSet: string;
  readonly keyId: Uint8Array;
  readonly maxContributors: number;
  readonly targetMerchants: number;
  readonly minMerchants: number;
  readonly deadline: Date;
  readonly purpose: string;
  /** Canonical JSON of the purpose definition at creation time. */
  readonly purposeJson: string;
  /** Canonical JSON of the query's disclosure terms (compliance/disclosure/terms.ts); '' for queries made before them. */
  readonly termsJson: string;
  /** Consent cutoff: a customer counts only if consent is valid at this time. */
  readonly cutoff: Date;
  /** The model fit this query is a round of, if any. */
  readonly fitId: string | null;
  readonly fitRound: number | null;
  readonly status: QueryStatus;
  readonly statusReason: string | null;
  /**
   * Stable code of a failure: the key holder's refusal code (DIFFERENCING,
   * BUDGET_EXHAUSTED, ...) or the coordinator's own (TOO_FEW_MERCHANTS, ...);
   * explained by `explainReason` of analytics. Null unless failed, and for
   * queries that failed before codes were stored.
   */
  readonly statusCode: string | null;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly closedAt: Date | null;
}

/** A query as it is created: everything but what its lifecycle sets later. */
export type NewQuery = Omit<QueryRecord, 'status' | 'statusReason' | 'statusCode' | 'createdAt' | 'closedAt'>;

export interface StoredContribution {
  readonly queryId: string;
  readonly merchantId: string;
  readonly envelopeDigest: Uint8Array;
  readonly header: ContributionHeader;
  readonly ciphertexts: Uint8Array;
  /** The key that signed this contribution (the merchant's key at `keySequence`). */
  readonly signingPublicKey: Uint8Array;
  readonly keySequence: number;
  /** The merchant's key evidence (JSON, `keyEvidenceToJson`), null for merchants enrolled without a token. */
  readonly keyEvidenceJson: string | null;
  readonly attestationJson: string;
  readonly subjectsIncluded: number;
}

/** A merchant's identity as the coordinator holds it. */
export interface MerchantState {
  readonly merchantId: string;
  /** Current signing key. */
  readonly signingPublicKey: Uint8Array;
  readonly keySequence: number;
  readonly keyEvidenceJson: string | null;
  readonly revokedAt: Date | null;
}

/** The facts the intake reads fresh for every contribution (`CoordinatorStore.intakeFacts`). */
export interface IntakeFacts {
  /** The merchant's current key, undefined if not enrolled. */
  readonly merchant: Pick<MerchantState, 'merchantId' | 'signingPublicKey' | 'keySequence' | 'revokedAt'> | undefined;
  /** The query's status now, undefined if there is no such query. */
  readonly queryStatus: QueryStatus | undefined;
  /** Whether this merchant's contribution to this query is already stored. */
  readonly contributed: boolean;
}

/** Token facts recorded with an enrolment. */
export interface EnrolmentTokenUse {
  readonly tokenId: Uint8Array;
  readonly keyEvidenceJson: string;
}

export type EnrolOutcome = 'enrolled' | 'already-enrolled' | 'key-conflict' | 'token-used' | 'revoked';

export interface StoredRelease {
  readonly queryId: string;
  readonly releaseJson: string;
  readonly keyholderSigningKey: Uint8Array;
  readonly signature: Uint8Array;
  readonly resultJson: string;
  readonly createdAt: Date;
}

/** Why an insert of a contribution did not happen. */
/** A verified contribution as {@link CoordinatorStore.insertContributions} stores it. */
export interface NewContribution {
  readonly queryId: string;
  readonly merchantId: string;
  readonly envelopeDigest: Uint8Array;
  readonly header: ContributionHeader;
  readonly ciphertexts: Uint8Array;
  readonly attestationJson: string;
  readonly subjectsIncluded: number;
  /** Sequence of the merchant key that signed it (default 0). */
  readonly keySequence?: number;
  /** A file `stageCiphertexts` already wrote these ciphertexts to. */
  readonly ciphertextsFile?: string | null;
  /** Runs in the storing transaction right after this row is inserted. */
  readonly inTx?: (tx: SqlExecutor) => Promise<unknown>;
  /** Its audit entry, appended in the storing transaction with the batch's others (see {@link AuditRecorder}). */
  readonly auditEvent?: AuditEvent;
}

/** Appends audit events inside a transaction, all under one hold of the log's lock (`AuditTrail`). */
export interface AuditRecorder {
  recordMany(events: readonly AuditEvent[], tx: SqlExecutor): Promise<unknown>;
}

export type InsertContributionOutcome =
  | { readonly ok: true; readonly storedAt: Date }
  | { readonly ok: false; readonly reason: 'query-unknown' | 'query-closed' | 'duplicate' | 'merchant-revoked' };

export interface QueryRow {
  query_id: string;
  kind: string;
  spec_json: string;
  spec_digest: Uint8Array;
  param_set: string;
  key_id: Uint8Array;
  max_contributors: number;
  target_merchants: number;
  min_merchants: number;
  deadline: Date;
  purpose: string;
  purpose_json: string;
  terms_json: string;
  cutoff: Date;
  fit_id: string | null;
  fit_round: number | null;
  status: QueryStatus;
  status_reason: string | null;
  status_code: string | null;
  created_by: string;
  created_at: Date;
  closed_at: Date | null;
}

export function toQuery(row: QueryRow): QueryRecord {
  return {
    queryId: row.query_id,
    kind: row.kind,
    specJson: row.spec_json,
    specDigest: row.spec_digest,
    paramSet: row.param_set,
    keyId: row.key_id,
    maxContributors: row.max_contributors,
    targetMerchants: row.target_merchants,
    minMerchants: row.min_merchants,
    deadline: row.deadline,
    purpose: row.purpose,
    purposeJson: row.purpose_json,
    termsJson: row.terms_json,
    cutoff: row.cutoff,
    fitId: row.fit_id,
    fitRound: row.fit_round,
    status: row.status,
    statusReason: row.status_reason,
    statusCode: row.status_code ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    closedAt: row.closed_at,
  };
}

/** Raised when ciphertexts are asked for after retention erased them. */
export class CiphertextsErasedError extends Error {
  readonly code = 'CIPHERTEXTS_ERASED';
  constructor(queryId: string, merchantId: string) {
    super(`the ciphertexts of ${merchantId} for ${queryId} were erased when their retention period ended`);
    this.name = 'CiphertextsErasedError';
  }
}

/** Ciphertext files read at once when a round's contributions are loaded. */
const FILE_READS_IN_FLIGHT = 16;

export class CoordinatorStore {
  constructor(readonly db: Database) {}

  /**
   * Enrols a merchant with its key and, when given, the token it used (each
   * token enrols once). Enrolling again with the same key is idempotent
   * ('already-enrolled'); another key is a 'key-conflict', a token already
   * used for another key 'token-used', a revoked merchant 'revoked'.
   */
  async enrolMerchant(
    merchantId: string,
    signingPublicKey: Uint8Array,
    inTx?: (tx: SqlExecutor) => Promise<unknown>,
    token?: EnrolmentTokenUse,
  ): Promise<EnrolOutcome> {
    // Two enrolments racing (a resend, or two keys for one token) meet at a
    // primary key; the loser looks again and sees what the winner stored.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.enrolOnce(merchantId, signingPublicKey, inTx, token);
      } catch (err) {
        if (attempt < 3 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  private async enrolOnce(
    merchantId: string,
    signingPublicKey: Uint8Array,
    inTx: ((tx: SqlExecutor) => Promise<unknown>) | undefined,
    token: EnrolmentTokenUse | undefined,
  ): Promise<EnrolOutcome> {
    return this.db.transaction(async (tx) => {
      if (token) {
        const used = await tx.query<{ merchant_id: string; signing_public_key: Uint8Array }>(
          'SELECT merchant_id, signing_public_key FROM enrolment_tokens WHERE token_id = $1',
          [token.tokenId],
        );
        const use = used[0];
        if (use && (use.merchant_id !== merchantId || !Buffer.from(use.signing_public_key).equals(signingPublicKey))) return 'token-used';
      }
      const existing = await tx.query<{ signing_public_key: Uint8Array; key_evidence: string | null; revoked_at: Date | null }>(
        'SELECT signing_public_key, key_evidence, revoked_at FROM merchants WHERE merchant_id = $1 FOR UPDATE',
        [merchantId],
      );
      const row = existing[0];
      if (row) {
        if (row.revoked_at !== null) return 'revoked';
        if (!Buffer.from(row.signing_public_key).equals(signingPublicKey)) return 'key-conflict';
        if (token && row.key_evidence === null) {
          // Enrolled before tokens existed: the same key now gets its evidence.
          await tx.query('UPDATE merchants SET key_evidence = $2, token_id = $3 WHERE merchant_id = $1', [merchantId, token.keyEvidenceJson, token.tokenId]);
          await tx.query('INSERT INTO enrolment_tokens (token_id, merchant_id, signing_public_key) VALUES ($1, $2, $3)', [token.tokenId, merchantId, signingPublicKey]);
        }
        return 'already-enrolled';
      }
      await tx.query('INSERT INTO merchants (merchant_id, signing_public_key, key_evidence, token_id) VALUES ($1, $2, $3, $4)',
        [merchantId, signingPublicKey, token?.keyEvidenceJson ?? null, token?.tokenId ?? null]);
      await tx.query('INSERT INTO merchant_keys (merchant_id, sequence, signing_public_key) VALUES ($1, 0, $2)', [merchantId, signingPublicKey]);
      if (token) {
        await tx.query('INSERT INTO enrolment_tokens (token_id, merchant_id, signing_public_key) VALUES ($1, $2, $3)', [token.tokenId, merchantId, signingPublicKey]);
      }
      await inTx?.(tx);
      return 'enrolled';
    });
  }

  /** The merchant's current key (also when revoked; see `merchantState`). */
  async merchantKey(merchantId: string): Promise<Uint8Array | undefined> {
    const rows = await this.db.query<{ signing_public_key: Uint8Array }>(
      'SELECT signing_public_key FROM merchants WHERE merchant_id = $1',
      [merchantId],
    );
    return rows[0]?.signing_public_key;
  }

  async merchantState(merchantId: string, tx: SqlExecutor = this.db, forUpdate = false): Promise<MerchantState | undefined> {
    const rows = await tx.query<{ signing_public_key: Uint8Array; key_sequence: number; key_evidence: string | null; revoked_at: Date | null }>(
      `SELECT signing_public_key, key_sequence, key_evidence, revoked_at FROM merchants WHERE merchant_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [merchantId],
    );
    const r = rows[0];
    return r
      ? { merchantId, signingPublicKey: r.signing_public_key, keySequence: r.key_sequence, keyEvidenceJson: r.key_evidence, revokedAt: r.revoked_at }
      : undefined;
  }

  /**
   * Replaces the merchant's key by `newKey` at the current sequence plus
   * one, storing the extended evidence, if the current sequence is still
   * `expectedSequence` at commit ('stale' otherwise).
   */
  async rotateMerchantKey(
    merchantId: string,
    expectedSequence: number,
    newKey: Uint8Array,
    keyEvidenceJson: string,
    inTx?: (tx: SqlExecutor) => Promise<unknown>,
  ): Promise<'rotated' | 'stale' | 'revoked' | 'unknown'> {
    return this.db.transaction(async (tx) => {
      const m = await this.merchantState(merchantId, tx, true);
      if (!m) return 'unknown';
      if (m.revokedAt !== null) return 'revoked';
      if (m.keySequence !== expectedSequence) return 'stale';
      const sequence = expectedSequence + 1;
      await tx.query('UPDATE merchants SET signing_public_key = $2, key_sequence = $3, key_evidence = $4 WHERE merchant_id = $1',
        [merchantId, newKey, sequence, keyEvidenceJson]);
      await tx.query('INSERT INTO merchant_keys (merchant_id, sequence, signing_public_key) VALUES ($1, $2, $3)', [merchantId, sequence, newKey]);
      await inTx?.(tx);
      return 'rotated';
    });
  }

  /** Revokes a merchant: later contributions are refused, earlier ones stay. */
  async revokeMerchant(merchantId: string, reason: string, inTx?: (tx: SqlExecutor) => Promise<unknown>): Promise<'revoked' | 'already-revoked' | 'unknown'> {
    return this.db.transaction(async (tx) => {
      const m = await this.merchantState(merchantId, tx, true);
      if (!m) return 'unknown';
      if (m.revokedAt !== null) return 'already-revoked';
      await tx.query('UPDATE merchants SET revoked_at = now(), revoked_reason = $2 WHERE merchant_id = $1', [merchantId, reason]);
      await inTx?.(tx);
      return 'revoked';
    });
  }

  /** Creates a query; `inTx` runs in the same transaction (for its audit entry). */
  async createQuery(q: NewQuery, inTx?: (tx: SqlExecutor, query: QueryRecord) => Promise<unknown>): Promise<QueryRecord> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<QueryRow>(
        `INSERT INTO queries (query_id, kind, spec_json, spec_digest, param_set, key_id, max_contributors,
           target_merchants, min_merchants, deadline, status, created_by, purpose, purpose_json, cutoff, fit_id, fit_round, terms_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $13, $14, $15, $16, $17) RETURNING *`,
        [q.queryId, q.kind, q.specJson, q.specDigest, q.paramSet, q.keyId, q.maxContributors, q.targetMerchants,
          q.minMerchants, q.deadline, q.createdBy, q.purpose, q.purposeJson, q.cutoff, q.fitId, q.fitRound, q.termsJson],
      );
      const row = rows[0];
      if (!row) throw new Error('insert returned no row');
      const query = toQuery(row);
      await inTx?.(tx, query);
      return query;
    });
  }

  async getQuery(queryId: string, tx: SqlExecutor = this.db): Promise<QueryRecord | undefined> {
    const rows = await tx.query<QueryRow>('SELECT * FROM queries WHERE query_id = $1', [queryId]);
    return rows[0] ? toQuery(rows[0]) : undefined;
  }

  /** The latest round (highest round number, its latest attempt) of model fit `fitId`, if it published any. */
  async latestRoundOfFit(fitId: string): Promise<QueryRecord | undefined> {
    const rows = await this.db.query<QueryRow>('SELECT * FROM queries WHERE fit_id = $1 ORDER BY fit_round DESC, created_at DESC, query_id DESC LIMIT 1', [fitId]);
    return rows[0] ? toQuery(rows[0]) : undefined;
  }

  async listQueries(status?: QueryStatus): Promise<QueryRecord[]> {
    const rows = status
      ? await this.db.query<QueryRow>('SELECT * FROM queries WHERE status = $1 ORDER BY created_at, query_id', [status])
      : await this.db.query<QueryRow>('SELECT * FROM queries ORDER BY created_at, query_id');
    return rows.map(toQuery);
  }

  /** Those of `queryIds` that are still open or closing. */
  async unfinishedQueryIds(queryIds: readonly string[]): Promise<string[]> {
    const rows = await this.db.query<{ query_id: string }>(
      `SELECT query_id FROM queries WHERE query_id = ANY($1::text[]) AND status IN ('open', 'closing')`,
      [textArray(queryIds)],
    );
    return rows.map((r) => r.query_id);
  }

  async contributionCount(queryId: string): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM contributions WHERE query_id = $1', [queryId]);
    return rows[0]?.n ?? 0;
  }

  /**
   * What the intake must know fresh before it reads a contribution, in one
   * statement: the merchant's current key and revocation, whether the query
   * exists and its status, and whether this merchant already contributed.
   * (The query's other fields never change and may be cached.)
   */
  async intakeFacts(merchantId: string, queryId: string): Promise<IntakeFacts> {
    const rows = await this.db.query<{
      signing_public_key: Uint8Array | null;
      key_sequence: number | null;
      revoked_at: Date | null;
      status: QueryStatus | null;
      contributed: boolean;
    }>(
      `SELECT m.signing_public_key, m.key_sequence, m.revoked_at, q.status,
              EXISTS (SELECT 1 FROM contributions c WHERE c.query_id = $2 AND c.merchant_id = $1) AS contributed
         FROM (SELECT 1) AS one
         LEFT JOIN merchants m ON m.merchant_id = $1
         LEFT JOIN queries q ON q.query_id = $2`,
      [merchantId, queryId],
    );
    const r = rows[0];
    const merchant = r !== undefined && r.signing_public_key !== null
      ? { merchantId, signingPublicKey: r.signing_public_key, keySequence: r.key_sequence ?? 0, revokedAt: r.revoked_at }
      : undefined;
    return { merchant, queryStatus: r?.status ?? undefined, contributed: r?.contributed === true };
  }

  async hasContribution(queryId: string, merchantId: string): Promise<boolean> {
    const rows = await this.db.query<{ one: number }>(
      'SELECT 1 AS one FROM contributions WHERE query_id = $1 AND merchant_id = $2',
      [queryId, merchantId],
    );
    return rows.length > 0;
  }

  /**
   * Stores a verified contribution if, at commit time, its query is still
   * open and this merchant has not contributed to it. The caller
   * acknowledges the merchant only after this resolves with ok.
   */
  async insertContribution(c: NewContribution, inTx?: (tx: SqlExecutor) => Promise<unknown>): Promise<InsertContributionOutcome> {
    const [outcome] = await this.insertContributions([inTx ? { ...c, inTx } : c]);
    return outcome as InsertContributionOutcome;
  }

  /**
   * Stores several verified contributions in one transaction (group commit:
   * one commit, one hold of the audit log's lock), each under the same
   * conditions as {@link insertContribution}, with one outcome per item in
   * order. Each item's `inTx` runs in the transaction after its row is
   * inserted, in item order; then the `auditEvent`s of the stored items go
   * to `recorder` in one call (one INSERT of the audit entries, not one
   * round trip each). If anything throws, nothing is stored.
   * @throws TypeError when an item carries an auditEvent and no recorder is given
   */
  async insertContributions(items: readonly NewContribution[], recorder?: AuditRecorder): Promise<InsertContributionOutcome[]> {
    if (recorder === undefined && items.some((c) => c.auditEvent !== undefined)) throw new TypeError('recorder is required for items that carry an auditEvent');
    if (items.length === 0) return [];
    // On PGlite the bytes go to files first, and the rows name them: see ciphertext-files.ts.
    const files = this.db.ciphertextFiles;
    const names = files ? await Promise.all(items.map(async (c) => c.ciphertextsFile ?? files.write(c.ciphertexts))) : items.map(() => null);
    let outcomes: InsertContributionOutcome[] | undefined;
    try {
      outcomes = await this.db.transaction(async (tx) => {
        const out: InsertContributionOutcome[] = new Array(items.length);
        // FOR SHARE: contributions to one query commit side by side, but the
        // query cannot move to closing until they have. The deadline is read
        // against the database clock, which every coordinator shares.
        // One statement for both: FOR SHARE on the queries (contributions to
        // one query commit side by side, but the query cannot move to closing
        // until they have; the deadline is read against the database clock,
        // which every coordinator shares) and on the merchants (a revocation
        // commits before or after these contributions, never beside them).
        const facts = await tx.query<{ id: string; is_query: boolean; status: QueryStatus | null; flag: boolean }>(
          `WITH q AS (SELECT query_id, status, deadline <= clock_timestamp() AS expired FROM queries WHERE query_id = ANY($1::text[]) FOR SHARE),
                m AS (SELECT merchant_id, revoked_at IS NOT NULL AS revoked FROM merchants WHERE merchant_id = ANY($2::text[]) FOR SHARE)
           SELECT query_id AS id, true AS is_query, status, expired AS flag FROM q
           UNION ALL SELECT merchant_id, false, NULL, revoked FROM m`,
          [textArray(items.map((c) => c.queryId)), textArray(items.map((c) => c.merchantId))],
        );
        const queries = new Map(facts.filter((f) => f.is_query).map((f) => [f.id, { status: f.status, expired: f.flag }]));
        const revoked = new Map(facts.filter((f) => !f.is_query).map((f) => [f.id, f.flag]));
        const keyOf = (queryId: string, merchantId: string) => `${queryId}\u0000${merchantId}`;
        const candidates: number[] = [];
        const seen = new Set<string>();
        items.forEach((c, i) => {
          const query = queries.get(c.queryId);
          const key = keyOf(c.queryId, c.merchantId);
          const digest = toHex(c.envelopeDigest);
          if (!query) out[i] = { ok: false, reason: 'query-unknown' };
          else if (query.status !== 'open' || query.expired) out[i] = { ok: false, reason: 'query-closed' };
          else if (revoked.get(c.merchantId) === true) out[i] = { ok: false, reason: 'merchant-revoked' };
          else if (seen.has(key) || seen.has(digest)) out[i] = { ok: false, reason: 'duplicate' };
          else {
            seen.add(key).add(digest);
            candidates.push(i);
          }
        });
        if (candidates.length === 0) return out;
        const params: SqlValue[] = [];
        const tuples = candidates.map((i) => {
          const c = items[i] as NewContribution;
          const name = names[i] ?? null;
          const at = params.length;
          params.push(c.queryId, c.merchantId, c.envelopeDigest, ContributionHeader.encode(c.header).finish(), name === null ? c.ciphertexts : null,
            name, c.attestationJson, c.subjectsIncluded, c.keySequence ?? 0);
          return `(${Array.from({ length: 9 }, (_, k) => `$${at + k + 1}`).join(', ')})`;
        });
        // A row already stored (a resend racing its first send, or another
        // coordinator's) is skipped, not an error that would undo the others.
        const inserted = new Map((await tx.query<{ query_id: string; merchant_id: string; received_at: Date }>(
          `INSERT INTO contributions (query_id, merchant_id, envelope_digest, header, ciphertexts, ciphertexts_file, attestation_json, subjects_included, key_sequence)
           VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING RETURNING query_id, merchant_id, received_at`,
          params,
        )).map((r) => [keyOf(r.query_id, r.merchant_id), r.received_at]));
        const events: AuditEvent[] = [];
        for (const i of candidates) {
          const c = items[i] as NewContribution;
          const storedAt = inserted.get(keyOf(c.queryId, c.merchantId));
          if (storedAt === undefined) {
            out[i] = { ok: false, reason: 'duplicate' };
            continue;
          }
          await c.inTx?.(tx);
          if (c.auditEvent !== undefined) events.push(c.auditEvent);
          out[i] = { ok: true, storedAt };
        }
        if (events.length > 0) await recorder?.recordMany(events, tx);
        return out;
      });
      return outcomes;
    } finally {
      // Each file is this attempt's own (a fresh name): without its row, nobody needs it.
      const unused = names.filter((n, i): n is string => n !== null && outcomes?.[i]?.ok !== true);
      if (unused.length > 0) await files?.remove(unused);
    }
  }

  /**
   * Writes a contribution's ciphertexts where its row will name them, ahead
   * of {@link insertContributions} (which deletes the file if the row is not
   * stored); null where the ciphertexts go into the row itself.
   */
  async stageCiphertexts(ciphertexts: Uint8Array): Promise<string | null> {
    return this.db.ciphertextFiles ? this.db.ciphertextFiles.write(ciphertexts) : null;
  }

  /**
   * The ciphertexts of stored rows, from the row or from the file it names;
   * throws CiphertextsErasedError for rows retention erased, and
   * CiphertextFilesError for a named file that is gone.
   */
  private async ciphertextsOf(rows: readonly { query_id: string; merchant_id: string; ciphertexts: Uint8Array | null; ciphertexts_file: string | null }[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = new Array(rows.length);
    const pending: number[] = [];
    rows.forEach((r, i) => {
      if (r.ciphertexts !== null) out[i] = r.ciphertexts;
      else if (r.ciphertexts_file !== null) pending.push(i);
      else throw new CiphertextsErasedError(r.query_id, r.merchant_id);
    });
    if (pending.length === 0) return out;
    const files = this.db.ciphertextFiles;
    if (!files) throw new CiphertextFilesError('contributions name ciphertext files, but this database keeps no ciphertext files');
    for (let start = 0; start < pending.length; start += FILE_READS_IN_FLIGHT) {
      await Promise.all(pending.slice(start, start + FILE_READS_IN_FLIGHT).map(async (i) => {
        out[i] = await files.read((rows[i] as { ciphertexts_file: string }).ciphertexts_file);
      }));
    }
    return out;
  }

  /**
   * Deletes ciphertext files no contribution names (left by a crash between
   * a file's write and its row's commit, or between an erasure and the
   * file's deletion). Call at start, before intake opens; resolves with the
   * number deleted (0 where ciphertexts live in the rows).
   */
  async sweepCiphertextFiles(): Promise<number> {
    const files = this.db.ciphertextFiles;
    if (!files) return 0;
    const rows = await this.db.query<{ f: string }>('SELECT ciphertexts_file AS f FROM contributions WHERE ciphertexts_file IS NOT NULL');
    return files.sweep(new Set(rows.map((r) => r.f)));
  }

  async contributions(queryId: string): Promise<StoredContribution[]> {
    const rows = await this.db.query<{
      query_id: string;
      merchant_id: string;
      envelope_digest: Uint8Array;
      header: Uint8Array;
      ciphertexts: Uint8Array | null;
      ciphertexts_file: string | null;
      signing_public_key: Uint8Array;
      key_sequence: number;
      key_evidence: string | null;
      attestation_json: string;
      subjects_included: number;
    }>(
      `SELECT c.query_id, c.merchant_id, c.envelope_digest, c.header, c.ciphertexts, c.ciphertexts_file, k.signing_public_key, c.key_sequence,
              m.key_evidence, c.attestation_json, c.subjects_included
         FROM contributions c JOIN merchants m USING (merchant_id)
         JOIN merchant_keys k ON k.merchant_id = c.merchant_id AND k.sequence = c.key_sequence
        WHERE c.query_id = $1 ORDER BY c.merchant_id`,
      [queryId],
    );
    const ciphertexts = await this.ciphertextsOf(rows);
    return rows.map((r, i) => ({
      queryId: r.query_id,
      merchantId: r.merchant_id,
      envelopeDigest: r.envelope_digest,
      header: ContributionHeader.decode(r.header),
      ciphertexts: ciphertexts[i] as Uint8Array,
      signingPublicKey: r.signing_public_key,
      keySequence: r.key_sequence,
      keyEvidenceJson: r.key_evidence,
      attestationJson: r.attestation_json,
      subjectsIncluded: r.subjects_included,
    }));
  }

  /**
   * Moves a query from `from` to `to`, recording `reason` (words) and `code`
   * (the stable failure code); false if it was not in `from` (someone else
   * moved it).
   */
  async transition(
    queryId: string,
    from: QueryStatus,
    to: QueryStatus,
    reason: string | null = null,
    inTx?: (tx: SqlExecutor) => Promise<unknown>,
    code: string | null = null,
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const moved = await this.transitionIn(tx, queryId, from, to, reason, code);
      if (moved) await inTx?.(tx);
      return moved;
    });
  }

  private async transitionIn(tx: SqlExecutor, queryId: string, from: QueryStatus, to: QueryStatus, reason: string | null, code: string | null): Promise<boolean> {
    const rows = await tx.query<{ query_id: string }>(
      `UPDATE queries SET status = $3, status_reason = $4, status_code = $5,
              closed_at = CASE WHEN $3 = 'closing' THEN now() ELSE closed_at END,
              claimed_by = CASE WHEN $3 = 'closing' THEN claimed_by ELSE NULL END,
              claimed_until = CASE WHEN $3 = 'closing' THEN claimed_until ELSE NULL END
        WHERE query_id = $1 AND status = $2 RETURNING query_id`,
      [queryId, from, to, reason, code],
    );
    if (rows.length === 1 && to !== 'open' && to !== 'closing') {
      await tx.query('DELETE FROM partial_aggregates WHERE query_id = $1', [queryId]);
    }
    return rows.length === 1;
  }

  /**
   * Stores the release of a closing query and marks it released, with
   * `inTx` (its audit entries) in the same transaction; the query's partial
   * aggregates and closing claim go with it. Resolves false, storing
   * nothing, if the query is no longer closing: another coordinator whose
   * claim outlived ours stored (the same) release first.
   */
  async saveRelease(r: Omit<StoredRelease, 'createdAt'>, inTx?: (tx: SqlExecutor) => Promise<unknown>): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const current = await tx.query<{ status: QueryStatus }>('SELECT status FROM queries WHERE query_id = $1 FOR UPDATE', [r.queryId]);
      if (current[0]?.status !== 'closing') return false;
      await tx.query(
        `INSERT INTO releases (query_id, release_json, keyholder_signing_key, signature, result_json)
         VALUES ($1, $2, $3, $4, $5)`,
        [r.queryId, r.releaseJson, r.keyholderSigningKey, r.signature, r.resultJson],
      );
      await tx.query(
        `UPDATE queries SET status = 'released', status_reason = NULL, status_code = NULL, claimed_by = NULL, claimed_until = NULL WHERE query_id = $1`,
        [r.queryId],
      );
      await tx.query('DELETE FROM partial_aggregates WHERE query_id = $1', [r.queryId]);
      await inTx?.(tx);
      return true;
    });
  }

  async getRelease(queryId: string): Promise<StoredRelease | undefined> {
    const rows = await this.db.query<{
      query_id: string;
      release_json: string;
      keyholder_signing_key: Uint8Array;
      signature: Uint8Array;
      result_json: string;
      created_at: Date;
    }>('SELECT * FROM releases WHERE query_id = $1', [queryId]);
    const r = rows[0];
    return r
      ? {
          queryId: r.query_id,
          releaseJson: r.release_json,
          keyholderSigningKey: r.keyholder_signing_key,
          signature: r.signature,
          resultJson: r.result_json,
          createdAt: r.created_at,
        }
      : undefined;
  }
}
