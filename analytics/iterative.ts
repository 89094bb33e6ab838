/**
 * The contract of an iterative model (logistic regression, k-means): a fit
 * is a sequence of ordinary encrypted rounds, each a query of `roundKind`
 * whose spec carries the current parameters. After each round's release the
 * coordinator calls `advance` with the finalised aggregate and either
 * publishes the next round or stores the model. Only aggregates over all
 * participating shops are ever decrypted.
 *
 * @module
 */
import type { KindGuideBody } from './kind-guide-types.js';

export type AdvanceResult<State, Model> =
  | { readonly done: false; readonly state: State }
  | { readonly done: true; readonly model: Model };

export interface IterativeModelDefinition<FitSpec, State, Model> {
  /** Kind of the fit, e.g. `logistic-regression`. */
  readonly kind: string;
  /** What the fit spec asks for, in words (`fedmart query kinds KIND`, kind-guide.ts). */
  readonly guide: KindGuideBody;
  /** Query kinds its rounds use (registered QueryDefinitions). */
  readonly roundKinds: readonly string[];
  parseFitSpec(json: unknown): FitSpec;
  purposeOf(spec: FitSpec): string;
  inputFields(spec: FitSpec): readonly string[];
  initialState(spec: FitSpec): State;
  /** The query of round `round` (1-based) from the current state: its kind and spec JSON. */
  roundQuery(spec: FitSpec, state: State, round: number, fitId: string): { readonly kind: string; readonly spec: Record<string, unknown> };
  /** Consumes a round's finalised result. */
  advance(spec: FitSpec, state: State, roundResult: unknown, round: number): AdvanceResult<State, Model>;
}

export type AnyIterativeModelDefinition = IterativeModelDefinition<unknown, unknown, unknown>;
