/**
 * The shape of a kind guide (what `fedmart query kinds KIND` prints) and the
 * small member builders the kinds' own files write their guides with. Each
 * kind's definition carries its guide (`guide` of `QueryDefinition` and
 * `IterativeModelDefinition`); kind-guide.ts collects them from the registry.
 * This file imports nothing, so every kind file can import it.
 *
 * @module
 */

/** A query kind (`fedmart query run`, POST /v1/queries) or a model kind (`fedmart query fit`, POST /v1/fits). */
export type GuideRole = 'query' | 'model';

/** One member of a spec. */
export interface GuideMember {
  /** JSON path: `purpose`, or `bounds.maxRows` for a member of an object. */
  readonly name: string;
  /** JSON type as written: `string`, `integer`, `number`, `boolean`, `string[]`, `object`, ... */
  readonly type: string;
  readonly required: boolean;
  /** Required only in this case (then `required` is false). */
  readonly requiredWhen?: string;
  /** What applies when the member is left out. */
  readonly default?: string;
  readonly description: string;
  /** The allowed values, when the member (or each element of a list) is one of a fixed set. */
  readonly values?: readonly (string | number)[];
  /** Further allowed values in words (`or sessions:<channel>, ...`). */
  readonly moreValues?: string;
  /** A value the parser accepts, for a member the example leaves out. */
  readonly sample?: unknown;
  /** Members that must change beside `sample` (undefined: leave the member out). */
  readonly sampleWith?: Readonly<Record<string, unknown>>;
}


/** What a kind asks for. */
export interface KindGuide {
  readonly kind: string;
  readonly role: GuideRole;
  /** One line. */
  readonly summary: string;
  /** One paragraph. */
  readonly description: string;
  readonly members: readonly GuideMember[];
  /** Further sections (title and text), e.g. the formula syntax. */
  readonly sections: readonly { readonly title: string; readonly text: string }[];
  /** A spec the kind's parser accepts, without `kind` (the request carries it). */
  readonly example: Readonly<Record<string, unknown>>;
}

/** A kind's guide as its definition carries it: the kind and role come from the definition and the registry. */
export type KindGuideBody = Omit<KindGuide, 'kind' | 'role'>;

export const int = (n: bigint | number): string => n.toString();
export const list = (xs: readonly (string | number)[]): string => xs.join(', ');
export const asJson = (v: unknown): string => JSON.stringify(v);

export const AS_OF = '2026-01-01T00:00:00Z';
const BOUND_TYPE = 'integer or decimal string';

export const purposeMember = (example: string): GuideMember => ({
  name: 'purpose',
  type: 'string',
  required: true,
  description: `Processing purpose the shops' consent and purpose register must cover, e.g. ${example}; lower case letters, digits, '.', '_' and '-'.`,
});

export const asOfMember = (what: string): GuideMember => ({
  name: 'asOf',
  type: 'string',
  required: true,
  description: `UTC instant the ${what} is measured at, like ${AS_OF}; orders at or after it do not exist for the query.`,
});

export const boundMember = (name: string, dflt: bigint | number, what: string): GuideMember => ({
  name: `bounds.${name}`,
  type: BOUND_TYPE,
  required: false,
  default: int(dflt),
  description: `Per-shop bound: ${what}. Bounds are declared before any shop answers; a shop above one refuses rather than clamping.`,
  sample: int(dflt),
});

