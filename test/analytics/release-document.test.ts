import { describe, expect, it } from 'vitest';
import { parseReleaseDocument, releasedTotalsFromDocument, type ReleaseDocument } from '../../analytics/index.js';

const doc: ReleaseDocument = {
  version: 1,
  queryId: 'q-1',
  kind: 'segment-stats',
  specDigest: 'ab12',
  paramSet: 'bfv-8192',
  keyId: 'cd34',
  merchants: ['m1', 'm2', 'm3'],
  contributionDigests: ['00', '11', '22'],
  aggregateDigest: 'ff',
  policy: { minMerchants: 3, minSubjects: 10 },
  attestedSubjects: 1234,
  cells: {
    new: { suppressed: true, reason: 'fewer than 10 subjects' },
    loyal: { suppressed: false, subjects: '12', totals: { 'loyal.customers': '12', 'loyal.order_value_sumsq_cents2': '123456789012345678901234567890' } },
  },
  releasedAt: '2026-01-01T00:00:00.000Z',
};

describe('release documents', () => {
  it('parse and convert decimal totals to exact bigints', () => {
    const parsed = parseReleaseDocument(JSON.parse(JSON.stringify(doc)));
    expect(parsed).toEqual(doc);
    expect(releasedTotalsFromDocument(parsed)).toEqual({
      cells: {
        new: { suppressed: true },
        loyal: { suppressed: false, totals: { 'loyal.customers': 12n, 'loyal.order_value_sumsq_cents2': 123456789012345678901234567890n } },
      },
      minSubjects: doc.policy.minSubjects,
    });
  });

  it('refuse malformed documents naming the path', () => {
    const bad = JSON.parse(JSON.stringify(doc)) as { cells: { loyal: { totals: Record<string, string> } } };
    bad.cells.loyal.totals['loyal.customers'] = '-1';
    expect(() => parseReleaseDocument(bad)).toThrow(/cells\.loyal\.totals\.loyal\.customers/);
    expect(() => parseReleaseDocument({ ...doc, version: 2 })).toThrow(TypeError);
  });
});
