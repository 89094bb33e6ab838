/**
 * The file `fedmart merchant score` writes: CSV (a header, then one id,score
 * line per scored row) or JSON (the model's identity, what the score is, how
 * many rows were left out, and the scores). Pure: the command writes the
 * text with mode 0600.
 *
 * @module
 */
import type { LocalScores } from '../client-sdk/index.js';

/** The formats `--format` accepts. */
export const SCORE_FORMATS = ['csv', 'json'] as const;
export type ScoreFormat = (typeof SCORE_FORMATS)[number];

/**
 * The format asked for, or the one the file name implies: `json` for a name
 * ending in `.json` (any case), else `csv`. Throws RangeError naming
 * `format` when it is not one of {@link SCORE_FORMATS}.
 */
export function scoreFormatOf(format: string | undefined, file: string): ScoreFormat {
  if (format === undefined) return /\.json$/i.test(file) ? 'json' : 'csv';
  if (!(SCORE_FORMATS as readonly string[]).includes(format)) throw new RangeError(`format: expected one of ${SCORE_FORMATS.join(', ')}, got "${format}"`);
  return format as ScoreFormat;
}

/** A CSV cell: quoted when it holds a comma, quote or line break (a shop's customer ids are its own text). */
export function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The file's text. CSV scores carry 6 decimals; JSON carries the doubles as computed. */
export function scoreFileText(scored: LocalScores, format: ScoreFormat): string {
  if (format === 'csv') return [`${scored.idColumn},score`, ...scored.scores.map((s) => `${csvCell(s.id)},${s.score.toFixed(6)}`)].join('\n') + '\n';
  const doc = {
    model: scored.modelId,
    kind: scored.kind,
    purpose: scored.purpose,
    label: scored.label,
    output: scored.output,
    idColumn: scored.idColumn,
    leftOut: scored.leftOut,
    scores: scored.scores.map((s) => ({ id: s.id, score: s.score })),
  };
  return JSON.stringify(doc, null, 1) + '\n';
}
