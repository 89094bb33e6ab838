import { describe, expect, it } from 'vitest';
import { parseReleaseDocument, releasedTotalsFromDocument } from '../../analytics/index.js';
import { RELEASE_DOCUMENT_FIXTURE } from '../../harness/release-document.js';

const doc = RELEASE_DOCUMENT_FIXTURE;

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
