/**
 * One release document for tests: a segment-stats release of three
 * merchants with one withheld cell and one released cell whose total is
 * beyond a JSON number's exact range. Shared by the parser's tests
 * (test/analytics/release-document.test.ts) and the signing and opening
 * tests (test/round/round.test.ts).
 */
import type { ReleaseDocument } from '../analytics/index.js';

/** The digest the fixture's release is bound to (`aggregateDigest`, hex 'ff' × 32). */
export const FIXTURE_AGGREGATE_DIGEST: Uint8Array = new Uint8Array(32).fill(0xff);

export const RELEASE_DOCUMENT_FIXTURE: ReleaseDocument = {
  version: 1,
  queryId: 'q-release-fixture',
  kind: 'segment-stats',
  specDigest: 'ab12',
  paramSet: 'bfv-8192',
  keyId: 'cd34',
  merchants: ['m1', 'm2', 'm3'],
  contributionDigests: ['00', '11', '22'],
  aggregateDigest: 'ff'.repeat(32),
  policy: { minMerchants: 3, minSubjects: 10 },
  attestedSubjects: 1234,
  cells: {
    new: { suppressed: true, reason: 'fewer than 10 subjects' },
    loyal: { suppressed: false, subjects: '12', totals: { 'loyal.customers': '12', 'loyal.order_value_sumsq_cents2': '123456789012345678901234567890' } },
  },
  releasedAt: '2026-01-01T00:00:00.000Z',
};
