/**
 * The file `fedmart merchant score` writes (cli/score-file.ts): the format
 * chosen from --format or the file name, and CSV and JSON that read back to
 * the scores, over generated ids (commas, quotes, line breaks, CJK) with a
 * CSV reader written here from RFC 4180.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LocalScores } from '../../client-sdk/index.js';
import { scoreFileText, scoreFormatOf } from '../../cli/score-file.js';

/** RFC 4180 records: fields separated by commas, quoted fields with doubled quotes and line breaks inside. */
function readCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\n') record.push(field), records.push(record), (record = []), (field = '');
    else field += c;
  }
  return records;
}

const scoredOf = (scores: { id: string; score: number }[], idColumn: 'customer_id' | 'row' = 'customer_id'): LocalScores =>
  ({ modelId: 'fit-1', kind: 'gradient-boosted-trees', purpose: 'churn-prediction', label: 'returned_any', output: 'probability', idColumn, scores, leftOut: 3, model: {} }) as unknown as LocalScores;

const scoresArb = fc.array(fc.record({ id: fc.string({ unit: fc.constantFrom('a', '7', ',', '"', '\n', '\r', '客', ' ', '-') , minLength: 1 }), score: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 30 });

describe('merchant score file', () => {
  it('takes --format, else json for a .json name and csv for any other; refuses other formats naming the argument', () => {
    expect(scoreFormatOf(undefined, 'out/scores.csv')).toBe('csv');
    expect(scoreFormatOf(undefined, 'scores')).toBe('csv');
    expect(scoreFormatOf(undefined, 'out/Scores.JSON')).toBe('json');
    expect(scoreFormatOf('csv', 'scores.json')).toBe('csv');
    expect(scoreFormatOf('json', 'scores.txt')).toBe('json');
    expect(() => scoreFormatOf('xlsx', 'scores.csv')).toThrow(RangeError);
    expect(() => scoreFormatOf('xlsx', 'scores.csv')).toThrow(/^format: expected one of csv, json, got "xlsx"$/);
  });

  it('CSV reads back to a header and the ids with their scores at 6 decimals (property)', () => {
    fc.assert(
      fc.property(scoresArb, (scores) => {
        const records = readCsv(scoreFileText(scoredOf(scores), 'csv'));
        expect(records[0]).toEqual(['customer_id', 'score']);
        expect(records.slice(1)).toEqual(scores.map((s) => [s.id, s.score.toFixed(6)]));
      }),
    );
  });

  it('JSON reads back to the model, what the score is, the rows left out and the exact scores (property)', () => {
    fc.assert(
      fc.property(scoresArb, (scores) => {
        const doc = JSON.parse(scoreFileText(scoredOf(scores, 'row'), 'json')) as Record<string, unknown>;
        expect(doc).toEqual({ model: 'fit-1', kind: 'gradient-boosted-trees', purpose: 'churn-prediction', label: 'returned_any', output: 'probability', idColumn: 'row', leftOut: 3, scores });
      }),
    );
  });
});
