/**
 * Spec pieces shared by the one-round moment models (linear-regression,
 * pca): the snapshot instant, the feature list, the fixed-point scale and the
 * bounds from which the moment layout follows. Parsed specs keep the JSON
 * shape (asOf stays a string, bounds become bigints that canonical JSON
 * writes as decimal strings), so `parseSpec(JSON.parse(canonicalSpecJson(s)))`
 * returns `s`.
 *
 * @module
 */
import { z } from 'zod';
import { featureDefinition, unknownFeatureMessage } from './features.js';
import type { MomentLayout } from './moment-sums.js';
import { boundSchema } from './spec-parse.js';

/** Purpose codes, as every kind spells them. */
export const purposeSchema = z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a purpose code like marketing-analytics');

const ISO_SECONDS = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;

/** `YYYY-MM-DDTHH:MM:SSZ`, a real UTC instant. */
export const asOfSchema = z
  .string()
  .regex(ISO_SECONDS, 'expected a UTC time like 2026-01-01T00:00:00Z')
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(Date.parse(s)).toISOString().replace('.000Z', 'Z') === s, 'not a valid date and time');

/** asOf in integer Unix seconds. */
export function asOfUnixS(asOf: string): number {
  return Date.parse(asOf) / 1000;
}

/** Most variables a one-round model may use (the layout grows with its square). */
export const MAX_MODEL_VARIABLES = 24;

/** A distinct list of known feature names. */
export function featureListSchema(min: number): z.ZodType<string[]> {
  return z
    .array(z.string().refine((n) => featureDefinition(n) !== undefined, { error: (issue) => unknownFeatureMessage(issue.input) }))
    .min(min)
    .max(MAX_MODEL_VARIABLES - 1)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((n, i) => {
        if (seen.has(n)) ctx.addIssue({ code: 'custom', path: [i], message: `feature '${n}' is listed twice` });
        seen.add(n);
      });
    });
}

/** Default rows (consented customers) of one shop. */
export const DEFAULT_MAX_ROWS = 10_000_000n;
/** Default binary scale of the fixed-point moments: integers exact, others to 2^-33. */
export const DEFAULT_MODEL_SCALE_BITS = 32;

/** `bounds` of a moment-model spec. */
export const modelBoundsSchema = z
  .strictObject({
    maxRows: boundSchema.optional(),
    /** Per variable, the bound on |value|; defaults come from the feature definitions. */
    featureMaxAbs: z.record(z.string(), z.number().positive().max(1e15)).optional(),
  })
  .optional();

/** Normalised bounds. */
export interface ModelBounds {
  readonly maxRows: bigint;
  /** Every variable of the model, with its bound. */
  readonly featureMaxAbs: Readonly<Record<string, number>>;
}

/**
 * Fills in default bounds for `variables`; a `featureMaxAbs` key that is not
 * one of them is reported by `issue` (path and message) so the caller can
 * raise QuerySpecError naming it.
 */
export function normaliseBounds(
  raw: { maxRows?: bigint | undefined; featureMaxAbs?: Record<string, number> | undefined } | undefined,
  variables: readonly string[],
  issue: (path: string, message: string) => never,
): ModelBounds {
  const given = raw?.featureMaxAbs ?? {};
  for (const key of Object.keys(given)) {
    if (!variables.includes(key)) issue(`bounds.featureMaxAbs.${key}`, 'not a variable of this model');
  }
  const featureMaxAbs: Record<string, number> = {};
  for (const v of variables) featureMaxAbs[v] = given[v] ?? (featureDefinition(v)?.defaultMaxAbs as number);
  return { maxRows: raw?.maxRows ?? DEFAULT_MAX_ROWS, featureMaxAbs };
}

/** The moment layout of `variables` under `bounds`. */
export function modelLayout(variables: readonly string[], bounds: ModelBounds, scaleBits: number): MomentLayout {
  return {
    variables,
    maxAbs: variables.map((v) => bounds.featureMaxAbs[v] as number),
    maxRows: bounds.maxRows,
    scaleBits,
    indicators: variables.map((v) => featureDefinition(v)?.indicator === true),
  };
}
