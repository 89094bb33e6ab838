/**
 * Runs iterative model fits (logistic regression, k-means) as chains of
 * ordinary encrypted rounds. A fit publishes round 1; whenever a round of
 * the fit is released, the model definition turns the finalised aggregate
 * into the next parameters, and the runner publishes the next round or
 * stores the model and publishes its evaluation round on held-out rows.
 * A round that closes without merchants that took part in the previous one
 * goes on with the rest (the key holder's thresholds still apply) and the
 * audit log names who was missing.
 *
 * Slow shops (docs/operations.md, "Slow shops in fits"): a round that closes
 * with fewer than its minimum of merchants (TOO_FEW_MERCHANTS: nothing was
 * decrypted) is published again with the same state, up to
 * `maxRoundRetries` times, each time with twice the previous wait, and each
 * retry audited (`round.retried`) and listed in the fit's `retries`; the
 * fit fails only when the retries are spent. A round's wait is the fit's
 * `roundDeadlineSeconds`, or 1.5 times what the slowest shop of the
 * previous released round took when that is longer, never more than
 * `deadlineCapFactor` times `roundDeadlineSeconds`.
 */
import type { Logger } from 'pino';
import { blake2b256, randomBytes, toHex } from '../crypto/index.js';
import {
  canonicalSpecJson,
  getModelDefinition,
  parseReleaseDocument,
  SCORE_HISTOGRAM_KIND,
  type LogisticModel,
  HessianNotPositiveDefiniteError,
} from '../analytics/index.js';
import { finaliseRelease, parsedSpec } from '../round/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { Database, SqlExecutor } from './database.js';
import type { QueryService } from './query-service.js';
import { RequestError } from './request-errors.js';
import type { QueryRecord } from './store.js';

export type FitStatus = 'running' | 'evaluating' | 'done' | 'failed';

/** The code of a round that closed with fewer than its minimum of merchants; such a round is retried. */
export const TOO_FEW_MERCHANTS = 'TOO_FEW_MERCHANTS';

/** How fit rounds wait for slow shops. */
export interface FitRoundPolicy {
  /** How often one round that closed with too few merchants is published again before the fit fails (default 3). */
  readonly maxRoundRetries?: number | undefined;
  /** A round never waits longer than this many times the fit's `roundDeadlineSeconds` (default 8). */
  readonly deadlineCapFactor?: number | undefined;
}

export const DEFAULT_FIT_ROUND_RETRIES = 3;
export const DEFAULT_FIT_DEADLINE_CAP_FACTOR = 8;
/** A round waits this many times the slowest answer of the previous released round, when that is longer than the fit's deadline. */
export const MEASURED_DEADLINE_MARGIN = 1.5;

/**
 * The wait of a fit round, in whole seconds: twice the wait of the attempt
 * it retries, or else the fit's `base` or `MEASURED_DEADLINE_MARGIN` times
 * the slowest answer of the previous released round, whichever is longer;
 * never more than `capFactor` × `base` (nor less than `base`).
 */
export function fitRoundDeadlineSeconds(base: number, capFactor: number, previous: { retriedWaitSeconds?: number | undefined; slowestAnswerSeconds?: number | undefined }): number {
  const cap = Math.max(base, Math.floor(base * capFactor));
  const wanted = previous.retriedWaitSeconds !== undefined
    ? 2 * previous.retriedWaitSeconds
    : Math.max(base, Math.ceil(MEASURED_DEADLINE_MARGIN * (previous.slowestAnswerSeconds ?? 0)));
  return Math.min(cap, Math.max(base, Math.ceil(wanted)));
}

/** A round of a fit that closed with too few merchants and was published again. */
export interface FitRoundRetry {
  readonly round: number;
  /** Which attempt of the round failed (1 = as first published). */
  readonly attempt: number;
  readonly code: string;
  /** Shops that had answered the failed attempt. */
  readonly contributions: number;
  readonly failedAt: Date | null;
}

/** The code of a fit whose model cannot go on from what a round released (e.g. k-means left with too few clusters). */
export const FIT_CANNOT_CONTINUE = 'FIT_CANNOT_CONTINUE';
/** The code of a logistic fit stopped because a round's pooled Hessian was not positive definite: no Newton step was taken from it. */
export const HESSIAN_NOT_POSITIVE_DEFINITE = 'HESSIAN_NOT_POSITIVE_DEFINITE';

export interface FitRecord {
  readonly fitId: string;
  readonly kind: string;
  readonly spec: Record<string, unknown>;
  readonly purpose: string;
  readonly status: FitStatus;
  readonly statusReason: string | null;
  /** Stable code of a failure: the failed round's code, or FIT_CANNOT_CONTINUE; null otherwise. */
  readonly statusCode: string | null;
  readonly round: number;
  readonly state: unknown;
  readonly targetMerchants: number;
  readonly minMerchants: number;
  readonly roundDeadlineSeconds: number;
  readonly model: unknown;
  readonly evaluation: unknown;
  readonly createdAt: Date;
  /** Who started the fit; null for fits started before this was recorded. */
  readonly createdBy: string | null;
  readonly finishedAt: Date | null;
  /** Rounds published again after closing with too few merchants, oldest first. */
  readonly retries: readonly FitRoundRetry[];
}

interface FitRow {
  fit_id: string;
  kind: string;
  spec_json: string;
  purpose: string;
  status: FitStatus;
  status_reason: string | null;
  status_code: string | null;
  round: number;
  state_json: string;
  target_merchants: number;
  min_merchants: number;
  round_deadline_seconds: number;
  model_json: string | null;
  evaluation_json: string | null;
  created_at: Date;
  created_by: string | null;
  finished_at: Date | null;
}

/** One published attempt of a fit round, as the fit's view and its retries read it. */
interface AttemptRow {
  fit_id: string;
  query_id: string;
  fit_round: number;
  status: string;
  status_code: string | null;
  closed_at: Date | null;
  contributions: number;
}

/** Failed attempts followed by another attempt of the same round, from attempts ordered by round and creation. */
function retriesOf(attempts: readonly AttemptRow[]): FitRoundRetry[] {
  const out: FitRoundRetry[] = [];
  let attempt = 0;
  attempts.forEach((a, i) => {
    attempt = i > 0 && attempts[i - 1]!.fit_round === a.fit_round ? attempt + 1 : 1;
    const next = attempts[i + 1];
    if (a.status === 'failed' && next?.fit_round === a.fit_round) {
      out.push({ round: a.fit_round, attempt, code: a.status_code ?? TOO_FEW_MERCHANTS, contributions: a.contributions, failedAt: a.closed_at });
    }
  });
  return out;
}

/** Every attempt of every round of a fit, ordered by round and creation: the latest attempt of a round is the one that counts. */
const ATTEMPTS_SQL = `SELECT q.fit_id, q.query_id, q.fit_round, q.status, q.status_code, q.closed_at,
         (SELECT count(*)::int FROM contributions c WHERE c.query_id = q.query_id) AS contributions
    FROM queries q WHERE q.fit_id = $1 ORDER BY q.fit_round, q.created_at, q.query_id`;

function toFit(r: FitRow, attempts: readonly AttemptRow[] = []): FitRecord {
  return {
    fitId: r.fit_id,
    kind: r.kind,
    spec: JSON.parse(r.spec_json) as Record<string, unknown>,
    purpose: r.purpose,
    status: r.status,
    statusReason: r.status_reason,
    statusCode: r.status_code ?? null,
    round: r.round,
    state: JSON.parse(r.state_json) as unknown,
    targetMerchants: r.target_merchants,
    minMerchants: r.min_merchants,
    roundDeadlineSeconds: r.round_deadline_seconds,
    model: r.model_json === null ? null : (JSON.parse(r.model_json) as unknown),
    evaluation: r.evaluation_json === null ? null : (JSON.parse(r.evaluation_json) as unknown),
    createdAt: r.created_at,
    createdBy: r.created_by ?? null,
    finishedAt: r.finished_at,
    retries: retriesOf(attempts),
  };
}

/** A fit's latest round with its release, if any. */
interface LatestRoundRow {
  query_id: string;
  kind: string;
  spec_json: string;
  fit_round: number;
  status: string;
  status_code: string | null;
  status_reason: string | null;
  created_at: Date;
  deadline: Date;
  release_json: string | null;
}

/** The finalised result of a released round, recomputed from the key holder's signed release. */
function releasedResult(row: LatestRoundRow): unknown {
  return finaliseRelease(parsedSpec(row.kind, row.spec_json), parseReleaseDocument(JSON.parse(row.release_json!)));
}

/** The wait of a round published again, and its audit entry, made in the round's own transaction. */
interface RoundWait {
  readonly seconds: number;
  readonly alsoInTx: (tx: SqlExecutor, q: QueryRecord) => Promise<unknown>;
}

export interface CreateFitRequest {
  readonly kind: string;
  readonly spec: Record<string, unknown>;
  readonly targetMerchants?: number | undefined;
  readonly minMerchants?: number | undefined;
  readonly roundDeadlineSeconds?: number | undefined;
  readonly createdBy: string;
}

export class FitRunner {
  /** How often one round is published again after closing with too few merchants. */
  readonly maxRoundRetries: number;
  /** A round waits at most this many times the fit's `roundDeadlineSeconds`. */
  readonly deadlineCapFactor: number;

  constructor(
    private readonly db: Database,
    private readonly queries: QueryService,
    private readonly audit: AuditTrail,
    private readonly log: Logger,
    private readonly onQueryCreated: () => void = () => undefined,
    policy: FitRoundPolicy = {},
  ) {
    this.maxRoundRetries = policy.maxRoundRetries ?? DEFAULT_FIT_ROUND_RETRIES;
    this.deadlineCapFactor = policy.deadlineCapFactor ?? DEFAULT_FIT_DEADLINE_CAP_FACTOR;
    if (!Number.isSafeInteger(this.maxRoundRetries) || this.maxRoundRetries < 0 || this.maxRoundRetries > 100) {
      throw new RangeError('maxRoundRetries: expected an integer from 0 to 100');
    }
    if (!Number.isFinite(this.deadlineCapFactor) || this.deadlineCapFactor < 1 || this.deadlineCapFactor > 1000) {
      throw new RangeError('deadlineCapFactor: expected a number from 1 to 1000');
    }
  }

  async get(fitId: string): Promise<FitRecord | undefined> {
    const rows = await this.db.query<FitRow>('SELECT * FROM fits WHERE fit_id = $1', [fitId]);
    return rows[0] ? toFit(rows[0], await this.db.query<AttemptRow>(ATTEMPTS_SQL, [fitId])) : undefined;
  }

  async list(): Promise<FitRecord[]> {
    const rows = await this.db.query<FitRow>('SELECT * FROM fits ORDER BY created_at, fit_id');
    const attempts = await this.db.query<AttemptRow>(ATTEMPTS_SQL.replace('WHERE q.fit_id = $1', 'WHERE q.fit_id IS NOT NULL'));
    const byFit = new Map<string, AttemptRow[]>();
    for (const a of attempts) {
      const list = byFit.get(a.fit_id) ?? [];
      list.push(a);
      byFit.set(a.fit_id, list);
    }
    return rows.map((r) => toFit(r, byFit.get(r.fit_id)));
  }

  /**
   * Validates the fit, stores it and publishes round 1. Throws RequestError
   * (QUERY_KIND_UNKNOWN, QUERY_SPEC_INVALID, and those of
   * `QueryService.checkPurpose` and `QueryService.create`) or RoundError
   * (SPEC_INVALID, LAYOUT_INVALID of round 1) for a request it refuses.
   */
  async create(req: CreateFitRequest): Promise<FitRecord> {
    let definition;
    try {
      definition = getModelDefinition(req.kind);
    } catch {
      throw new RequestError('QUERY_KIND_UNKNOWN', `no model kind ${req.kind}`);
    }
    let spec: unknown;
    try {
      spec = definition.parseFitSpec({ ...req.spec, kind: req.kind });
    } catch (err) {
      throw new RequestError('QUERY_SPEC_INVALID', err instanceof Error ? err.message : 'invalid spec');
    }
    await this.queries.checkPurpose(definition.purposeOf(spec), definition.inputFields(spec), new Date());
    const enrolled = (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM merchants'))[0]?.n ?? 0;
    const minMerchants = req.minMerchants ?? 3;
    const fitId = `fit-${toHex(randomBytes(8))}`;
    const state = definition.initialState(spec);
    await this.db.query(
      `INSERT INTO fits (fit_id, kind, spec_json, purpose, status, round, state_json, target_merchants, min_merchants, round_deadline_seconds, created_by)
       VALUES ($1, $2, $3, $4, 'running', 1, $5, $6, $7, $8, $9)`,
      [fitId, req.kind, canonicalSpecJson(spec), definition.purposeOf(spec), JSON.stringify(state),
        req.targetMerchants ?? Math.max(enrolled, minMerchants), minMerchants, req.roundDeadlineSeconds ?? 120, req.createdBy],
    );
    const fit = (await this.get(fitId))!;
    await this.publishRound(fit, spec, state, 1);
    return (await this.get(fitId))!;
  }

  private async publishRound(fit: FitRecord, spec: unknown, state: unknown, round: number, wait?: RoundWait): Promise<QueryRecord> {
    const definition = getModelDefinition(fit.kind);
    const roundQuery = definition.roundQuery(spec, state, round, fit.fitId);
    const q = await this.queries.create({
      origin: 'fit-runner',
      kind: roundQuery.kind,
      spec: roundQuery.spec,
      targetMerchants: fit.targetMerchants,
      minMerchants: fit.minMerchants,
      deadlineSeconds: wait?.seconds ?? await this.measuredDeadline(fit),
      createdBy: 'operator',
      fitId: fit.fitId,
      fitRound: round,
      alsoInTx: wait?.alsoInTx,
    });
    this.onQueryCreated();
    return q;
  }

  /**
   * The wait of a fit's next round (not a retry): its `roundDeadlineSeconds`,
   * longer when the slowest shop of its latest released round took more
   * than that (with a margin), within the cap.
   */
  private async measuredDeadline(fit: FitRecord): Promise<number> {
    const rows = await this.db.query<{ slowest_ms: number | null }>(
      `SELECT max(extract(epoch FROM (c.received_at - q.created_at)) * 1000)::float8 AS slowest_ms
         FROM contributions c JOIN queries q ON q.query_id = c.query_id
        WHERE q.query_id = (SELECT query_id FROM queries WHERE fit_id = $1 AND status = 'released' ORDER BY fit_round DESC, created_at DESC, query_id DESC LIMIT 1)`,
      [fit.fitId]);
    const slowestMs = rows[0]?.slowest_ms;
    return fitRoundDeadlineSeconds(fit.roundDeadlineSeconds, this.deadlineCapFactor, {
      slowestAnswerSeconds: slowestMs === null || slowestMs === undefined ? undefined : Number(slowestMs) / 1000,
    });
  }

  private async merchantsOf(queryId: string): Promise<string[]> {
    const rows = await this.db.query<{ merchant_id: string }>('SELECT merchant_id FROM contributions WHERE query_id = $1 ORDER BY merchant_id', [queryId]);
    return rows.map((r) => r.merchant_id);
  }

  /** Called when a query that belongs to a fit has been released. */
  async onRoundReleased(q: QueryRecord): Promise<void> {
    if (q.fitId) await this.advance(q.fitId);
  }

  /**
   * Takes the next step of every unfinished fit whose latest round is
   * released but not followed up: a coordinator that died between storing a
   * round's release and publishing the next round leaves such a fit behind.
   * Resolves with the number of fits moved on.
   */
  async resumeStalled(): Promise<number> {
    const fits = await this.db.query<{ fit_id: string }>(`SELECT fit_id FROM fits WHERE status IN ('running', 'evaluating') ORDER BY fit_id`);
    let moved = 0;
    for (const { fit_id } of fits) {
      if (await this.advance(fit_id)) {
        moved += 1;
        this.log.info({ fitId: fit_id }, 'stalled fit resumed');
      }
    }
    return moved;
  }

  /**
   * The fit's next step, computed from the database alone so that it can be
   * repeated after a crash: nothing happens unless the fit's latest round is
   * released and nothing follows it. One coordinator at a time per fit.
   */
  private advance(fitId: string): Promise<boolean> {
    return this.db.withLock(`fedmart.fit:${fitId}`, async () => {
      const fit = await this.get(fitId);
      if (!fit || (fit.status !== 'running' && fit.status !== 'evaluating')) return false;
      const latest = (await this.db.query<LatestRoundRow>(
        `SELECT q.query_id, q.kind, q.spec_json, q.fit_round, q.status, q.status_code, q.status_reason, q.created_at, q.deadline, r.release_json
           FROM queries q LEFT JOIN releases r ON r.query_id = q.query_id
          WHERE q.fit_id = $1 ORDER BY q.fit_round DESC, q.created_at DESC, q.query_id DESC LIMIT 1`, [fitId]))[0];
      if (latest?.status === 'failed') return this.afterFailedRound(fit, latest);
      if (!latest || latest.status !== 'released' || latest.release_json === null) return false;
      const round = latest.fit_round;
      if (latest.kind === SCORE_HISTOGRAM_KIND) {
        await this.db.query(`UPDATE fits SET status = 'done', evaluation_json = $2, finished_at = now() WHERE fit_id = $1`,
          [fit.fitId, JSON.stringify(releasedResult(latest))]);
        this.log.info({ fitId: fit.fitId }, 'model evaluated');
        return true;
      }
      if (fit.status === 'evaluating') {
        // The model is stored; its evaluation round was not published.
        await this.publishEvaluation(fit, fit.model);
        return true;
      }
      const definition = getModelDefinition(fit.kind);
      const spec = definition.parseFitSpec(fit.spec);
      if (fit.round > round) {
        // The state already moved past this round; the next round was not published.
        await this.publishRound(fit, spec, fit.state, fit.round);
        return true;
      }
      await this.recordMissing(fit, latest.query_id, round);
      let outcome;
      try {
        outcome = definition.advance(spec, fit.state, releasedResult(latest), round);
      } catch (err) {
        // The model cannot go on from what was released (e.g. k-means left with one cluster of k customers).
        if (!(err instanceof RangeError || err instanceof TypeError)) throw err;
        await this.failFit(fit.fitId, err instanceof HessianNotPositiveDefiniteError ? HESSIAN_NOT_POSITIVE_DEFINITE : FIT_CANNOT_CONTINUE, `round ${round}: ${err.message}`);
        this.log.warn({ fitId: fit.fitId, round }, 'fit stopped');
        return true;
      }
      if (!outcome.done) {
        await this.db.query('UPDATE fits SET state_json = $2, round = $3 WHERE fit_id = $1', [fit.fitId, JSON.stringify(outcome.state), round + 1]);
        await this.publishRound(fit, spec, outcome.state, round + 1);
        return true;
      }
      const modelJson = canonicalSpecJson(outcome.model);
      const merchants = await this.merchantsOf(latest.query_id);
      await this.db.transaction(async (tx) => {
        await tx.query(`UPDATE fits SET status = 'evaluating', model_json = $2, round = $3 WHERE fit_id = $1`, [fit.fitId, modelJson, round]);
        await this.audit.record({
          type: 'model.stored',
          actor: 'coordinator',
          details: { fitId: fit.fitId, kind: fit.kind, purpose: fit.purpose, rounds: round, merchants, modelDigest: toHex(blake2b256(Buffer.from(modelJson, 'utf8'))) },
        }, tx);
      });
      this.log.info({ fitId: fit.fitId, rounds: round }, 'model stored');
      await this.publishEvaluation({ ...fit, round }, outcome.model);
      return true;
    });
  }

  /**
   * The fit's latest round failed (a crash may have come between the round
   * failing and this). With too few merchants, nothing was decrypted: the
   * round is published again with the same state, as a new query, unless
   * its retries are spent or (never expected) one of its attempts was
   * released. Any other failure ends the fit with the round's code.
   */
  private async afterFailedRound(fit: FitRecord, latest: LatestRoundRow): Promise<boolean> {
    const round = latest.fit_round;
    const code = latest.status_code;
    if (code === null) return false; // failed before codes were stored: left to the operator
    const why = latest.status_reason ? ` (${latest.status_reason})` : '';
    if (code !== TOO_FEW_MERCHANTS) {
      await this.failFit(fit.fitId, code, `round ${round} failed: ${code}${why}`);
      return true;
    }
    const attempts = await this.db.query<{ query_id: string; status: string; released: boolean }>(
      `SELECT q.query_id, q.status, (r.query_id IS NOT NULL) AS released
         FROM queries q LEFT JOIN releases r ON r.query_id = q.query_id
        WHERE q.fit_id = $1 AND q.fit_round = $2 ORDER BY q.created_at, q.query_id`, [fit.fitId, round]);
    const evaluation = latest.kind === SCORE_HISTOGRAM_KIND;
    // Each round is released at most once: two releases of the same state from shop sets differing by one shop would give that shop's sums.
    if (attempts.some((a) => a.released || a.status === 'released')) {
      await this.failFit(fit.fitId, code, `round ${round} failed: ${code}${why}; not retried, since an attempt of this round was already released`);
      this.log.error({ fitId: fit.fitId, round }, 'fit round failed after an attempt of it was released');
      return true;
    }
    // The state must still be the one the failed round was published with.
    if (evaluation ? fit.status !== 'evaluating' || round !== fit.round + 1 : fit.status !== 'running' || round !== fit.round) return false;
    const retries = attempts.length - 1;
    if (retries >= this.maxRoundRetries) {
      await this.failFit(fit.fitId, code,
        `round ${round} failed: ${code} in all ${attempts.length} attempts (${retries} ${retries === 1 ? 'retry' : 'retries'}, the most allowed)${why}`);
      this.log.warn({ fitId: fit.fitId, round, attempts: attempts.length }, 'fit round retries spent');
      return true;
    }
    // Its deadline was set just before its row (created_at) was written: round up to whole seconds.
    const waited = Math.max(1, Math.ceil((latest.deadline.getTime() - latest.created_at.getTime()) / 1000));
    const seconds = fitRoundDeadlineSeconds(fit.roundDeadlineSeconds, this.deadlineCapFactor, { retriedWaitSeconds: waited });
    const contributions = (await this.merchantsOf(latest.query_id)).length;
    const attempt = attempts.length + 1;
    const wait: RoundWait = {
      seconds,
      alsoInTx: (tx, q) => this.audit.record({
        type: 'round.retried',
        actor: 'coordinator',
        details: { fitId: fit.fitId, round, failedQueryId: latest.query_id, queryId: q.queryId, attempt, reason: code, contributions, deadlineSeconds: seconds },
      }, tx),
    };
    if (evaluation) {
      await this.publishEvaluation(fit, fit.model, wait);
    } else {
      const definition = getModelDefinition(fit.kind);
      await this.publishRound(fit, definition.parseFitSpec(fit.spec), fit.state, round, wait);
    }
    this.log.warn({ fitId: fit.fitId, round, attempt, contributions, deadlineSeconds: seconds }, 'fit round retried after too few merchants');
    return true;
  }

  /** Publishes the held-out evaluation of a logistic model, or finishes the fit when there is none. */
  private async publishEvaluation(fit: FitRecord, model: unknown, wait?: RoundWait): Promise<void> {
    const m = model as Partial<LogisticModel>;
    if (fit.kind !== 'logistic-regression' || !m.holdoutPercent) {
      await this.db.query(`UPDATE fits SET status = 'done', finished_at = now() WHERE fit_id = $1`, [fit.fitId]);
      return;
    }
    await this.queries.create({
      origin: 'fit-runner',
      kind: SCORE_HISTOGRAM_KIND,
      spec: {
        purpose: fit.purpose, features: m.features, label: m.label, coefficients: m.coefficients, holdoutPercent: m.holdoutPercent, fitId: fit.fitId,
        // Held-out rows are read as the training rows were: clipped when the fit clipped.
        ...(m.featureClip === 'clip' && m.maxFeatureAbs !== undefined ? { clipFeaturesAt: m.maxFeatureAbs } : {}),
      },
      targetMerchants: fit.targetMerchants,
      minMerchants: fit.minMerchants,
      deadlineSeconds: wait?.seconds ?? await this.measuredDeadline(fit),
      createdBy: 'operator',
      fitId: fit.fitId,
      fitRound: fit.round + 1,
      alsoInTx: wait?.alsoInTx,
    });
    this.onQueryCreated();
  }

  /**
   * A round of a fit failed. With too few merchants it is published again
   * (see {@link afterFailedRound}); otherwise the fit fails with the round's
   * code, saying why.
   */
  async onRoundFailed(q: QueryRecord, code: string, reason?: string): Promise<void> {
    if (!q.fitId) return;
    if (code === TOO_FEW_MERCHANTS) {
      await this.advance(q.fitId);
      return;
    }
    await this.failFit(q.fitId, code, `round ${q.fitRound ?? '?'} failed: ${code}${reason ? ` (${reason})` : ''}`);
  }

  /**
   * Ends a running fit as failed and audits it (`fit.failed`) in the same
   * transaction; a fit already ended is left as it is and audited once. The
   * audit entry carries the code and the round, not the reason text: that
   * may quote decrypted figures (a Hessian's pivot), which stay with the fit.
   */
  private async failFit(fitId: string, code: string, reason: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ended = await tx.query<{ kind: string; purpose: string; round: number }>(
        `UPDATE fits SET status = 'failed', status_reason = $2, status_code = $3, finished_at = now() WHERE fit_id = $1 AND status IN ('running', 'evaluating') RETURNING kind, purpose, round`,
        [fitId, reason, code],
      );
      const fit = ended[0];
      if (fit === undefined) return;
      await this.audit.record({ type: 'fit.failed', actor: 'coordinator', details: { fitId, kind: fit.kind, purpose: fit.purpose, round: fit.round, code } }, tx);
    });
  }

  /** Audits merchants that contributed to the previous round of the fit but not to this one. */
  private async recordMissing(fit: FitRecord, queryId: string, round: number): Promise<void> {
    if (round <= 1) return;
    const previous = await this.db.query<{ query_id: string }>(`SELECT query_id FROM queries WHERE fit_id = $1 AND fit_round = $2 AND status = 'released'`, [fit.fitId, round - 1]);
    const before = previous[0] ? await this.merchantsOf(previous[0].query_id) : [];
    const now = new Set(await this.merchantsOf(queryId));
    const missing = before.filter((m) => !now.has(m));
    if (missing.length === 0) return;
    await this.audit.record({
      type: 'round.incomplete',
      actor: 'coordinator',
      details: { fitId: fit.fitId, queryId, round, missing, contributions: now.size },
    });
    this.log.warn({ fitId: fit.fitId, round, missing: missing.length }, 'round completed without some merchants');
  }
}
