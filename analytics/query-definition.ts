/**
 * The contract every query kind implements, so that the merchant node, the
 * coordinator and the key holder can handle any kind without knowing it:
 *
 * - the coordinator parses and publishes the spec (its canonical JSON and
 *   digest), derives the field layout and bounds for the BFV overflow check
 *   and the cells for the k-threshold;
 * - a merchant computes one non-negative bigint per field over its own data
 *   and encrypts the vector;
 * - the key holder decrypts only the sums and releases per-cell totals, which
 *   `finalise` turns into the human-facing result.
 *
 * @module
 */
import type { KindGuideBody } from './kind-guide-types.js';
import type { ModelRules } from './model-rules.js';
import type { RowScope } from './row-scope.js';
import type { ShopData } from './shop-data.js';

/**
 * One per-shop statistic. `max` is the inclusive upper bound of a single
 * shop's value; together with the contributor bound the coordinator checks
 * that the encrypted sum cannot wrap the plaintext modulus. Same shape as
 * crypto's FieldSpec so layouts pass through unchanged.
 */
export interface FieldSpec {
  readonly name: string;
  readonly max: bigint;
}

/**
 * A released cell: a group of fields published together or not at all.
 * `subjectsField` counts the distinct consented customers behind the cell and
 * is what the key holder compares against the k-anonymity threshold.
 */
export interface CellSpec {
  readonly name: string;
  readonly subjectsField: string;
  readonly fields: readonly string[];
  /**
   * A magnitude field of the cell (e.g. a sum of order values) to which the
   * key holder applies the dominance rule: no single merchant may hold more
   * than p % of it. Declaring it makes every shop also send, for this cell,
   * a one-hot histogram bin of its own total (see `dominance-bins.ts`), since
   * the key holder never sees one shop's value.
   */
  readonly dominanceField?: string;
}

/**
 * A linear relation between released cells that a reader can exploit: the
 * totals of `parts` add up, field by field, to those of cell `total`, or,
 * without `total`, to figures published elsewhere (the attested subject
 * total of the release; the same population grouped differently). With one
 * part withheld and the rest released, subtraction gives it back, so the key
 * holder withholds complementary cells (secondary suppression) in every
 * declared relation.
 */
export interface CellMargin {
  readonly parts: readonly string[];
  readonly total?: string;
}

/**
 * How much one data subject (one customer of one shop) can move each total,
 * derived from the spec's declared bounds; differential-privacy noise is
 * calibrated to it. A kind without it gets the per-shop bound of each field
 * as sensitivity: always valid, usually far too noisy to be useful.
 */
export interface SubjectSensitivity {
  /** Field name → the most one subject can change the field's total (>= 0). */
  readonly perField: Readonly<Record<string, bigint>>;
  /** Each subject counts in at most one cell, so cells compose in parallel. */
  readonly disjointCells: boolean;
}

/** Why the key holder withheld a cell (stable codes; `reason` says it in words). */
export type SuppressionReasonCode = 'FEWER_THAN_K_SUBJECTS' | 'DOMINANCE' | 'SECONDARY' | 'LEVELS_COLLIDE';

/** Decrypted totals per cell, as released by the key holder. */
export interface ReleasedTotals {
  readonly cells: Readonly<
    Record<
      string,
      {
        readonly suppressed: boolean;
        readonly totals?: Readonly<Record<string, bigint>>;
        /** Why a withheld cell was withheld (absent in releases made before codes existed). */
        readonly reasonCode?: SuppressionReasonCode;
      }
    >
  >;
  /** The k the release was made under (merging and withholding in `finalise` follow it). */
  readonly minSubjects?: number;
}

/**
 * Who may see what a release of a kind holds:
 *
 * - `table`: the release's cells are the published numbers (segment tables,
 *   RFM, histograms...); the signed release goes to whoever may read the query;
 * - `model`: the cells are the inputs of a model (moment sums); people see
 *   only the model `finalise` makes of them, never the signed release;
 * - `fit-round`: a step of an iterative fit (Lloyd round, IRLS round, score
 *   histogram): created only by the fit runner, its values stay with it.
 */
export type DisclosureRole = 'table' | 'model' | 'fit-round';

/**
 * A query kind. `Spec` is the parsed, normalised specification (defaults
 * filled in); `Result` is what a marketer finally sees.
 *
 * Methods are declared with method syntax on purpose: it keeps
 * `QueryDefinition<SegmentStatsSpec, ...>` assignable to
 * `QueryDefinition<unknown, unknown>` for the registry.
 */
export interface QueryDefinition<Spec, Result, Kind extends string = string> {
  /**
   * The kind's name. Declaring it as a literal type (`typeof FUNNEL_KIND`
   * as the third type argument) puts the kind in `KnownQueryKinds`, so
   * `getQueryDefinition('funnel')` is typed precisely.
   */
  readonly kind: Kind;
  /**
   * What the kind asks for, in words (`fedmart query kinds KIND`,
   * kind-guide.ts). Every kind a person may ask for has one; `fit-round`
   * kinds, whose specs only their fit writes, have none.
   */
  readonly guide?: KindGuideBody;
  /** Validates untrusted JSON; throws `QuerySpecError` naming the path. */
  parseSpec(json: unknown): Spec;
  /** The registered purpose the spec names; consent and field allow-lists follow it. */
  purposeOf(spec: Spec): string;
  /**
   * The shop fields (`table.field`, e.g. `order.amount`) the shop-side
   * statistic reads. A query whose fields are not all in its purpose's
   * allow-list is refused (data minimisation, PIPL art. 6).
   */
  inputFields(spec: Spec): readonly string[];
  /** Per-shop statistic fields in a fixed order (the ciphertext layout). */
  fields(spec: Spec): readonly FieldSpec[];
  /** Cells for disclosure control; every field belongs to exactly one cell. */
  cells(spec: Spec): readonly CellSpec[];
  /**
   * Shop side: one non-negative bigint per field, in `fields(spec)` order.
   * Throws RangeError naming the field when a bound is exceeded: values are
   * never clamped silently, since a clamped sum would be a wrong answer.
   */
  computeLocal(spec: Spec, data: ShopData): bigint[];
  /** Coordinator side: released totals to the result. */
  finalise(spec: Spec, release: ReleasedTotals): Result;
  /** Optional: per-subject sensitivity of each field, for differentially private purposes. */
  subjectSensitivity?(spec: Spec): SubjectSensitivity;
  /** Optional: relations between cells that secondary suppression must protect (none when absent). */
  margins?(spec: Spec): readonly CellMargin[];
  /** Who may see its releases (default `table`). */
  readonly disclosureRole?: DisclosureRole;
  /** For `fit-round` kinds: the fit a round belongs to (rounds of one fit are not differenced against each other). */
  fitIdOf?(spec: Spec): string | undefined;
  /**
   * Which customers and event rows the shop-side statistic reads (default:
   * every row of the tables in `inputFields`). Must be exact: see row-scope.ts.
   */
  rowScope?(spec: Spec): RowScope;
  /** For models: the groups and saturation the key holder checks before release (model-rules.ts). */
  modelRules?(spec: Spec): ModelRules;
  /**
   * Optional: whether a cell's decrypted totals are what the cell claims to
   * be (`totals`: every field's exact sum). The key holder withholds a cell
   * failing it (`LEVELS_COLLIDE`) before release, however many subjects it
   * holds: e.g. a `category-levels` bucket holding two levels, where a large
   * level would otherwise carry a small one into the release as a sum.
   */
  cellIntegrity?(spec: Spec, cell: CellSpec, totals: ReadonlyMap<string, bigint>): boolean;
  /**
   * Optional: the first relation between fields that every sum of honest
   * shops' values satisfies and `totals` (every field's exact sum over
   * `contributors` shops) breaks, described for the refusal; undefined when
   * all hold (input-relations.ts). The key holder refuses the whole release
   * with `INPUT_OUT_OF_BOUNDS` on a broken relation, as on a field above its
   * bound: only a shop that skipped its own code can break one.
   */
  inputViolation?(spec: Spec, totals: ReadonlyMap<string, bigint>, contributors: number): string | undefined;
}

/** The disclosure role of a definition (`table` unless it says otherwise). */
export function disclosureRoleOf(definition: { readonly disclosureRole?: DisclosureRole | undefined }): DisclosureRole {
  return definition.disclosureRole ?? 'table';
}

/** A definition whose spec and result types are not statically known. */
export type AnyQueryDefinition = QueryDefinition<unknown, unknown>;

/**
 * Checks a computed vector against its layout: same length, every value in
 * `[0, max]`. Shared by all query kinds so that the failure message is the
 * same everywhere. Throws RangeError naming the field.
 */
export function assertWithinBounds(fields: readonly FieldSpec[], values: readonly bigint[]): void {
  if (values.length !== fields.length) {
    throw new RangeError(`values: expected ${fields.length} values (one per field), got ${values.length}`);
  }
  fields.forEach((field, i) => {
    const v = values[i] as bigint;
    if (v < 0n) throw new RangeError(`field ${field.name}: value ${v} is negative`);
    if (v > field.max) throw new RangeError(`field ${field.name}: value ${v} exceeds its bound ${field.max}`);
  });
}
