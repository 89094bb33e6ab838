/**
 * Shared glue between zod and `QuerySpecError`, so every query kind reports
 * invalid specs the same way: one error, naming the JSON path of the first
 * problem.
 *
 * @module
 */
import { z } from 'zod';
import { QuerySpecError } from './errors.js';

/**
 * A positive integer bound given either as a JSON number (safe integer) or a
 * decimal string (for bounds above 2^53, and the form canonical JSON writes
 * bigints in). Parsed to bigint.
 */
export const boundSchema = z
  .union([
    z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^[1-9][0-9]{0,37}$/, 'expected a positive decimal integer string'),
    z.bigint().positive(),
  ])
  .transform((v) => BigInt(v));

/** Runs `schema` over untrusted JSON; throws QuerySpecError on failure. */
export function parseWith<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new QuerySpecError('', 'invalid query spec');
  const path = issue.path.map((p) => String(p)).join('.');
  throw new QuerySpecError(path, issue.message);
}
