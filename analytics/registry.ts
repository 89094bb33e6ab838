/**
 * Query kind → definition. The coordinator, key holder and merchant node
 * look kinds up here so that adding a query kind means adding one file and
 * one export line in kinds.ts (model-kinds.ts for an iterative model), and
 * no service code changes.
 *
 * @module
 */
import { withDominanceBins } from './dominance-bins.js';
import { UnknownQueryKindError } from './errors.js';
import { disclosureRoleOf, type AnyQueryDefinition, type QueryDefinition } from './query-definition.js';
import type { AnyIterativeModelDefinition, IterativeModelDefinition } from './iterative.js';
import * as queryKinds from './kinds.js';
import * as modelKinds from './model-kinds.js';

/**
 * Every query kind: the exports of kinds.ts, one line each there. Typed
 * here so that a non-definition exported from kinds.ts fails to compile.
 */
const QUERY_KINDS: readonly AnyQueryDefinition[] = Object.values(queryKinds);

/** Every iterative model kind: the exports of model-kinds.ts; their round kinds are in QUERY_KINDS. */
const MODEL_KINDS: readonly AnyIterativeModelDefinition[] = Object.values(modelKinds);

/**
 * Statically known kinds, for precise types at call sites that name them:
 * each definition exported from kinds.ts whose `kind` has a literal type
 * (the third type argument of `QueryDefinition`), keyed by that kind.
 */
export type KnownQueryKinds = {
  [D in (typeof queryKinds)[keyof typeof queryKinds] as string extends D['kind'] ? never : D['kind']]: D;
};

/** Adds a listed definition; a kind listed twice is a mistake, not a replacement. */
function addUnique<D>(map: Map<string, D>, kind: string, definition: D): void {
  if (map.has(kind)) throw new RangeError(`definition.kind: '${kind}' is listed twice`);
  map.set(kind, definition);
}

const registry = new Map<string, AnyQueryDefinition>();
for (const d of QUERY_KINDS) addUnique(registry, d.kind, d);

const models = new Map<string, AnyIterativeModelDefinition>();
for (const d of MODEL_KINDS) addUnique(models, d.kind, d);

/** The iterative model definition for `kind`; throws UnknownQueryKindError for unknown kinds. */
export function getModelDefinition(kind: string): AnyIterativeModelDefinition {
  if (typeof kind !== 'string') throw new TypeError('kind: expected a string');
  const def = models.get(kind);
  if (def === undefined) throw new UnknownQueryKindError(kind, [...models.keys()]);
  return def;
}

/** Registered model kinds, sorted. */
export function listModelKinds(): string[] {
  return [...models.keys()].sort();
}

/** Adds an iterative model kind; RangeError if taken. */
export function registerModelDefinition<S, St, M>(definition: IterativeModelDefinition<S, St, M>): void {
  if (models.has(definition.kind)) throw new RangeError(`definition.kind: '${definition.kind}' is already registered`);
  models.set(definition.kind, definition);
}

/**
 * The definition for `kind`. Throws `UnknownQueryKindError` (code
 * `QUERY_KIND_UNKNOWN`) for kinds nobody registered, e.g. a spec from a newer
 * coordinator.
 */
export function getQueryDefinition<K extends keyof KnownQueryKinds>(kind: K): KnownQueryKinds[K];
export function getQueryDefinition(kind: string): AnyQueryDefinition;
export function getQueryDefinition(kind: string): AnyQueryDefinition {
  if (typeof kind !== 'string') throw new TypeError('kind: expected a string');
  const def = registry.get(kind);
  if (def === undefined) throw new UnknownQueryKindError(kind, [...registry.keys()]);
  // Cells that declare a dominance field get their histogram bins in every layout.
  return withDominanceBins(def);
}

/**
 * Registered kinds, sorted. Without `includeFitRounds`, only the kinds a
 * person may ask for: the steps of fits (`fit-round` kinds) are left out.
 */
export function listQueryKinds(options: { readonly includeFitRounds?: boolean } = {}): string[] {
  return [...registry.values()].filter((d) => options.includeFitRounds === true || disclosureRoleOf(d) !== 'fit-round').map((d) => d.kind).sort();
}

/**
 * Adds a kind (for query kinds defined outside this folder, and tests).
 * Throws RangeError if the kind is taken: silently replacing a definition
 * would change the meaning of already published specs.
 */
export function registerQueryDefinition<S, R>(definition: QueryDefinition<S, R>): void {
  if (typeof definition !== 'object' || definition === null || typeof definition.kind !== 'string' || definition.kind === '') {
    throw new TypeError('definition: expected a QueryDefinition with a non-empty kind');
  }
  if (registry.has(definition.kind)) throw new RangeError(`definition.kind: '${definition.kind}' is already registered`);
  registry.set(definition.kind, definition);
}
