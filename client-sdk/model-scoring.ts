/**
 * Scoring a fitted model at the shop (`fedmart merchant score`): the model
 * and its fit's spec as the coordinator's GetModel gives them, applied to
 * this shop's own rows, read as the fit read them (its consent filter, the
 * purpose's allow-list, the spec's data, asOf, aggregates and variables).
 * Nothing is sent: the scores stay with the caller.
 *
 * Kinds scored: `logistic-regression` (the probability of its label, one row
 * per consented customer) and `gradient-boosted-trees` (`gbtPredict`: the
 * probability of a binary label, the prediction of a numeric one; a row per
 * consented customer or per row of the declared table). A tree model's label
 * is not read: a row needs only the variables, and a row missing one is left
 * out and counted, never named.
 *
 * @module
 */
import { LOGISTIC_FIT_KIND, featureRows, logisticModelFeatures, logisticScore, type LogisticModel, type ShopData } from '../analytics/index.js';
import { QuerySpecError } from '../analytics/errors.js';
import { GBT_KIND, GBT_LIMITS } from '../analytics/gbt-spec.js';
import { gbtPredict, type GbtRow } from '../analytics/gbt-tree.js';
import { levelText, type RowValue } from '../analytics/formula.js';
import { parseGbtFitSpec, type GbtFitModel, type GbtFitSpec } from '../analytics/gradient-boosted-trees.js';
import { CUSTOMERS_DATA, modelInputFields, modelUnits, normaliseModelData, type ModelData } from '../analytics/model-data.js';
import { assertFieldsAllowed, getPurpose, pseudonymise, PurposeError, type PurposeDefinition } from '../compliance/index.js';
import { roundView } from '../round/index.js';
import type { ShopCompliance } from './consent-source.js';

/** Why a model cannot be scored here; the CLI prints the code beside the message. */
export type ModelScoringCode =
  /** The coordinator knows no fit of that id. */
  | 'MODEL_UNKNOWN'
  /** The fit is running or failed: it has no model (yet). */
  | 'MODEL_NOT_READY'
  /** A kind this node cannot score, or a model or spec it cannot read. */
  | 'MODEL_NOT_SCORABLE'
  /** The model_digest does not match model_json. */
  | 'MODEL_DIGEST_MISMATCH'
  /** This shop's data cannot be read as the spec says (a variable it does not export, a field its purpose does not allow). */
  | 'DATA_CANNOT_SCORE'
  /** The coordinator gives models to enrolled, unrevoked shops only, and refused this node's signed request. */
  | 'MODEL_ACCESS_REFUSED';

/** A model this node refuses to score, with a code and a message naming fields, never values. */
export class ModelScoringError extends Error {
  override name = 'ModelScoringError';
  constructor(
    readonly code: ModelScoringCode,
    message: string,
  ) {
    super(message);
  }
}

/** What GetModel returns, as scoring reads it. */
export interface DownloadedModel {
  readonly modelId: string;
  readonly kind: string;
  /** Canonical JSON of the model (its digest already checked). */
  readonly modelJson: string;
  /** Canonical JSON of the fit's spec ('' from a coordinator that does not send it). */
  readonly specJson: string;
}

/** One scored row: the shop's own customer id, or the row's number (from 1) in a declared table. */
export interface LocalScore {
  readonly id: string;
  readonly score: number;
}

export interface LocalScores {
  readonly modelId: string;
  readonly kind: string;
  readonly purpose: string;
  /** The label's name. */
  readonly label: string;
  /** `probability` of a binary label, `prediction` of a numeric one. */
  readonly output: 'probability' | 'prediction';
  /** What `id` is: `customer_id` (the shop's own ids) or `row` (row number in the declared table). */
  readonly idColumn: 'customer_id' | 'row';
  readonly scores: readonly LocalScore[];
  /** Rows not scored because a variable is missing (which rows is not said). */
  readonly leftOut: number;
  /** The model as downloaded. */
  readonly model: LogisticModel | GbtFitModel;
}

/** The shop a model is scored on. */
export interface ScoringShop {
  readonly data: ShopData;
  readonly compliance: ShopCompliance;
}

/** Scores `downloaded` on the shop's own rows. Throws ModelScoringError. */
export function scoreModel(downloaded: DownloadedModel, shop: ScoringShop, now: Date = new Date()): LocalScores {
  if (downloaded.kind === LOGISTIC_FIT_KIND) return scoreLogistic(downloaded, shop, now);
  if (downloaded.kind === GBT_KIND) return scoreTrees(downloaded, shop, now);
  throw new ModelScoringError('MODEL_NOT_SCORABLE', `models of kind ${downloaded.kind} cannot be scored here (${LOGISTIC_FIT_KIND} and ${GBT_KIND} can)`);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ModelScoringError('MODEL_NOT_SCORABLE', `the ${what} is not JSON`);
  }
}

function purposeOf(shop: ScoringShop, name: string): PurposeDefinition {
  try {
    return getPurpose(shop.compliance.registry, name);
  } catch (err) {
    if (err instanceof PurposeError) throw new ModelScoringError('DATA_CANNOT_SCORE', `the model's purpose ${name} is not registered at this shop`);
    throw err;
  }
}

/** The shop's rows of consented customers for `purpose`, as a round would see them, and pseudonym → own id. */
function consentedView(shop: ScoringShop, purpose: PurposeDefinition, now: Date): { view: ShopData; idOf: Map<string, string> } {
  const { data, compliance } = shop;
  const filter = compliance.ledger.filterForRound({ purpose, cutoff: now, customerIds: data.customers.map((c) => c.customerId) });
  const key = compliance.pseudonymKey;
  return { view: roundView(data, filter.includedCustomerIds, purpose, key), idOf: new Map(data.customers.map((c) => [pseudonymise(c.customerId, key), c.customerId])) };
}

function scoreLogistic(downloaded: DownloadedModel, shop: ScoringShop, now: Date): LocalScores {
  const model = parseJson(downloaded.modelJson, 'model') as LogisticModel;
  const purpose = purposeOf(shop, model.purpose);
  const { view, idOf } = consentedView(shop, purpose, now);
  const rows = featureRows(view, model.features, model.label, { holdoutPercent: 0, part: 'all' });
  return {
    modelId: downloaded.modelId,
    kind: downloaded.kind,
    purpose: model.purpose,
    label: model.label,
    output: 'probability',
    idColumn: 'customer_id',
    scores: rows.map((r) => ({ id: idOf.get(r.customerId) ?? r.customerId, score: logisticScore(model, logisticModelFeatures(model, r.x)) })),
    leftOut: 0,
    model,
  };
}

/**
 * What a tree model's rows read: the spec's data, asOf and the variables
 * (with their levels and aggregates), without the label, which scoring does
 * not need.
 */
function scoringData(spec: GbtFitSpec): ModelData {
  const names = new Set(spec.variables.map((v) => v.name));
  const aggregates = Object.fromEntries(Object.entries(spec.aggregates ?? {}).filter(([name]) => names.has(name)));
  const levels = Object.fromEntries(spec.variables.flatMap((v) => (v.type === 'categorical' ? [[v.name, [...v.levels]]] : [])));
  return normaliseModelData(
    {
      formula: `~ ${spec.variables.map((v) => v.name).join(' + ')}`,
      data: spec.data,
      asOf: spec.asOf,
      levels,
      aggregates: Object.keys(aggregates).length === 0 ? undefined : aggregates,
      bounds: { maxRows: BigInt(spec.maxRows) },
    },
    GBT_LIMITS.maxVariables * GBT_LIMITS.maxBins,
    'none',
  );
}

function numeric(name: string, v: RowValue): number {
  const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new ModelScoringError('DATA_CANNOT_SCORE', `variable ${name} is not a finite number for some row`);
  return x;
}

function scoreTrees(downloaded: DownloadedModel, shop: ScoringShop, now: Date): LocalScores {
  const model = parseJson(downloaded.modelJson, 'model') as GbtFitModel;
  if (downloaded.specJson === '') throw new ModelScoringError('MODEL_NOT_SCORABLE', 'the coordinator sent no fit spec, so the rows the model reads are unknown (a coordinator older than this node)');
  let spec: GbtFitSpec;
  let read: ModelData;
  try {
    spec = parseGbtFitSpec(parseJson(downloaded.specJson, 'fit spec'));
    read = scoringData(spec);
  } catch (err) {
    if (err instanceof QuerySpecError) throw new ModelScoringError('MODEL_NOT_SCORABLE', `the fit's spec does not parse here: ${err.message}`);
    throw err;
  }
  const purpose = purposeOf(shop, spec.purpose);
  const fields = modelInputFields(read);
  try {
    assertFieldsAllowed(purpose, fields);
  } catch (err) {
    if (err instanceof PurposeError) throw new ModelScoringError('DATA_CANNOT_SCORE', `${err.message} at this shop`);
    throw err;
  }
  const missing = fields.filter((f) => shop.data.missingFields?.includes(f));
  if (missing.length > 0) throw new ModelScoringError('DATA_CANNOT_SCORE', `the model reads ${missing.join(', ')}, which this shop's export does not have (declare ${missing.length === 1 ? 'it' : 'them'} in schema.json)`);
  const { view, idOf } = consentedView(shop, purpose, now);
  let units: ReturnType<typeof modelUnits>;
  try {
    units = modelUnits(read, view);
  } catch (err) {
    // An undeclared table or column, or a level the spec does not declare: named, never a value.
    if (err instanceof RangeError) throw new ModelScoringError('DATA_CANNOT_SCORE', err.message);
    throw err;
  }
  const scores: LocalScore[] = [];
  let leftOut = 0;
  units.forEach((u, i) => {
    const x: Record<string, number | string> = {};
    for (const v of spec.variables) {
      const raw = u.get(v.name);
      if (raw === undefined || raw === null) {
        leftOut++;
        return;
      }
      x[v.name] = v.type === 'numeric' ? numeric(v.name, raw) : (levelText(raw) as string);
    }
    const row: GbtRow = { x, y: 0 };
    // A customer's pseudonym (the round view's id) back to the shop's own id; a table row by its number.
    const pseudonym = u.customerId ?? '';
    const id = spec.data === CUSTOMERS_DATA ? (idOf.get(pseudonym) ?? pseudonym) : String(i + 1);
    scores.push({ id, score: gbtPredict(model, row) });
  });
  return {
    modelId: downloaded.modelId,
    kind: downloaded.kind,
    purpose: spec.purpose,
    label: spec.label.name,
    output: spec.label.type === 'binary' ? 'probability' : 'prediction',
    idColumn: spec.data === CUSTOMERS_DATA ? 'customer_id' : 'row',
    scores,
    leftOut,
    model,
  };
}
