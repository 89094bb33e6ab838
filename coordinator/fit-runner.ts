/**
 * Runs iterative model fits (logistic regression, k-means) as chains of
 * ordinary encrypted rounds. A fit publishes round 1; whenever a round of
 * the fit is released, the model definition turns the finalised aggregate
 * into the next parameters, and the runner publishes the next round or
 * stores the model and publishes its evaluation round on held-out rows.
 * A round that closes without merchants that took part in the previous one
 * goes on with the rest (the key holder's thresholds still apply) and the
 * audit log names who was missing.
 */
import type { Logger } from 'pino';
import { blake2b256, randomBytes, toHex } from '../crypto/index.js';
import {
  canonicalSpecJson,
  getModelDefinition,
  getQueryDefinition,
  parseReleaseDocument,
  releasedTotalsFromDocument,
  SCORE_HISTOGRAM_KIND,
  type LogisticModel,
} from '../analytics/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { Database } from './database.js';
import { HttpProblem } from './problems.js';
import type { QueryService } from './query-service.js';
import type { QueryRecord } from './store.js';

export type FitStatus = 'running' | 'evaluating' | 'done' | 'failed';

/** The code of a fit whose model cannot go on from what a round released (e.g. k-means left with too few clusters). */
export const FIT_CANNOT_CONTINUE = 'FIT_CANNOT_CONTINUE';

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
  readonly finishedAt: Date | null;
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
  finished_at: Date | null;
}

function toFit(r: FitRow): FitRecord {
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
    finishedAt: r.finished_at,
  };
}

/** A fit's latest round with its release, if any. */
interface LatestRoundRow {
  query_id: string;
  kind: string;
  spec_json: string;
  fit_round: number;
  status: string;
  release_json: string | null;
}

/** The finalised result of a released round, recomputed from the key holder's signed release. */
function releasedResult(row: LatestRoundRow): unknown {
  const definition = getQueryDefinition(row.kind);
  const spec = definition.parseSpec(JSON.parse(row.spec_json));
  return definition.finalise(spec, releasedTotalsFromDocument(parseReleaseDocument(JSON.parse(row.release_json!))));
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
  constructor(
    private readonly db: Database,
    private readonly queries: QueryService,
    private readonly audit: AuditTrail,
    private readonly log: Logger,
    private readonly onQueryCreated: () => void = () => undefined,
  ) {}

  async get(fitId: string): Promise<FitRecord | undefined> {
    const rows = await this.db.query<FitRow>('SELECT * FROM fits WHERE fit_id = $1', [fitId]);
    return rows[0] ? toFit(rows[0]) : undefined;
  }

  async list(): Promise<FitRecord[]> {
    return (await this.db.query<FitRow>('SELECT * FROM fits ORDER BY created_at, fit_id')).map(toFit);
  }

  /** Validates the fit, stores it and publishes round 1. Throws HttpProblem for bad requests. */
  async create(req: CreateFitRequest): Promise<FitRecord> {
    let definition;
    try {
      definition = getModelDefinition(req.kind);
    } catch {
      throw new HttpProblem('QUERY_KIND_UNKNOWN', `no model kind ${req.kind}`);
    }
    let spec: unknown;
    try {
      spec = definition.parseFitSpec({ ...req.spec, kind: req.kind });
    } catch (err) {
      throw new HttpProblem('QUERY_SPEC_INVALID', err instanceof Error ? err.message : 'invalid spec');
    }
    await this.queries.checkPurpose(definition.purposeOf(spec), definition.inputFields(spec), new Date());
    const enrolled = (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM merchants'))[0]?.n ?? 0;
    const minMerchants = req.minMerchants ?? 3;
    const fitId = `fit-${toHex(randomBytes(8))}`;
    const state = definition.initialState(spec);
    await this.db.query(
      `INSERT INTO fits (fit_id, kind, spec_json, purpose, status, round, state_json, target_merchants, min_merchants, round_deadline_seconds)
       VALUES ($1, $2, $3, $4, 'running', 1, $5, $6, $7, $8)`,
      [fitId, req.kind, canonicalSpecJson(spec), definition.purposeOf(spec), JSON.stringify(state),
        req.targetMerchants ?? Math.max(enrolled, minMerchants), minMerchants, req.roundDeadlineSeconds ?? 120],
    );
    const fit = (await this.get(fitId))!;
    await this.publishRound(fit, spec, state, 1);
    return (await this.get(fitId))!;
  }

  private async publishRound(fit: FitRecord, spec: unknown, state: unknown, round: number): Promise<QueryRecord> {
    const definition = getModelDefinition(fit.kind);
    const roundQuery = definition.roundQuery(spec, state, round, fit.fitId);
    const q = await this.queries.create({
      origin: 'fit-runner',
      kind: roundQuery.kind,
      spec: roundQuery.spec,
      targetMerchants: fit.targetMerchants,
      minMerchants: fit.minMerchants,
      deadlineSeconds: fit.roundDeadlineSeconds,
      createdBy: 'operator',
      fitId: fit.fitId,
      fitRound: round,
    });
    this.onQueryCreated();
    return q;
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
        `SELECT q.query_id, q.kind, q.spec_json, q.fit_round, q.status, r.release_json
           FROM queries q LEFT JOIN releases r ON r.query_id = q.query_id
          WHERE q.fit_id = $1 ORDER BY q.fit_round DESC LIMIT 1`, [fitId]))[0];
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
        await this.failFit(fit.fitId, FIT_CANNOT_CONTINUE, `round ${round}: ${err.message}`);
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

  /** Publishes the held-out evaluation of a logistic model, or finishes the fit when there is none. */
  private async publishEvaluation(fit: FitRecord, model: unknown): Promise<void> {
    const m = model as Partial<LogisticModel>;
    if (fit.kind !== 'logistic-regression' || !m.holdoutPercent) {
      await this.db.query(`UPDATE fits SET status = 'done', finished_at = now() WHERE fit_id = $1`, [fit.fitId]);
      return;
    }
    await this.queries.create({
      origin: 'fit-runner',
      kind: SCORE_HISTOGRAM_KIND,
      spec: { purpose: fit.purpose, features: m.features, label: m.label, coefficients: m.coefficients, holdoutPercent: m.holdoutPercent, fitId: fit.fitId },
      targetMerchants: fit.targetMerchants,
      minMerchants: fit.minMerchants,
      deadlineSeconds: fit.roundDeadlineSeconds,
      createdBy: 'operator',
      fitId: fit.fitId,
      fitRound: fit.round + 1,
    });
    this.onQueryCreated();
  }

  /** A round of a fit failed: the fit fails with it, with the round's code, saying why. */
  async onRoundFailed(q: QueryRecord, code: string, reason?: string): Promise<void> {
    if (!q.fitId) return;
    await this.failFit(q.fitId, code, `round ${q.fitRound ?? '?'} failed: ${code}${reason ? ` (${reason})` : ''}`);
  }

  private async failFit(fitId: string, code: string, reason: string): Promise<void> {
    await this.db.query(
      `UPDATE fits SET status = 'failed', status_reason = $2, status_code = $3, finished_at = now() WHERE fit_id = $1 AND status IN ('running', 'evaluating')`,
      [fitId, reason, code],
    );
  }

  /** Audits merchants that contributed to the previous round of the fit but not to this one. */
  private async recordMissing(fit: FitRecord, queryId: string, round: number): Promise<void> {
    if (round <= 1) return;
    const previous = await this.db.query<{ query_id: string }>('SELECT query_id FROM queries WHERE fit_id = $1 AND fit_round = $2', [fit.fitId, round - 1]);
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
