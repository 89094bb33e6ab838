/**
 * What the coordinator derives from the disclosure part of a signed release:
 * the `noise` of its `release.stored` audit entry, one `threshold.suppressed`
 * entry per suppression reason, the withheld cells listed with their reasons
 * beside a table's result, and the accounting and confidence intervals
 * stored beside a DP result (so the marketer sees how noisy each number is).
 *
 * @module
 */
import { disclosureRoleOf, getQueryDefinition, withheldCellsOf, type DisclosureRole, type ReleaseDocument, type SuppressionReasonCode, type WithheldCell } from '../analytics/index.js';
import { disclosureSummary } from '../compliance/index.js';

/** `noise` of `release.stored`: null for an exact release. */
export function releaseNoiseOf(doc: ReleaseDocument): { mechanism: 'discrete-gaussian' | 'discrete-laplace'; epsilon: number; delta: number } | null {
  const dp = doc.disclosure?.dp;
  return dp ? { mechanism: dp.mechanism, epsilon: dp.epsilon, delta: dp.delta } : null;
}

/** Suppressed cells grouped by reason code, in a fixed reason order (releases without codes count as k suppressions). */
export function suppressionsOf(doc: ReleaseDocument): { reason: SuppressionReasonCode; cells: string[] }[] {
  const order: SuppressionReasonCode[] = ['FEWER_THAN_K_SUBJECTS', 'DOMINANCE', 'LEVELS_COLLIDE', 'SECONDARY'];
  const by = new Map<SuppressionReasonCode, string[]>();
  for (const [name, cell] of Object.entries(doc.cells)) {
    if (!cell.suppressed) continue;
    const reason = cell.reasonCode ?? 'FEWER_THAN_K_SUBJECTS';
    by.set(reason, [...(by.get(reason) ?? []), name]);
  }
  return order.filter((r) => by.has(r)).map((reason) => ({ reason, cells: by.get(reason) as string[] }));
}

/** The disclosure role of `kind` (`table` for kinds this coordinator does not know). */
function roleOf(kind: string): DisclosureRole {
  try {
    return disclosureRoleOf(getQueryDefinition(kind));
  } catch {
    return 'table';
  }
}

/**
 * The result as stored and shown. A table kind's result gains `withheld`:
 * every withheld cell of the release with its reason code and explanation
 * in English and Chinese (empty when nothing was withheld). For a DP
 * release the result also gains a `disclosure` member holding ε, δ, ρ
 * spent and remaining, and an interval for every noisy total (and, for
 * segment-stats, for every displayed statistic of every row). Results that
 * are not objects, and those of model kinds and fit rounds (which say what
 * they hold back themselves), are otherwise unchanged.
 */
export function resultWithDisclosure(kind: string, spec: unknown, result: unknown, doc: ReleaseDocument): unknown {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return result;
  const summary = disclosureSummary(kind, spec, doc);
  const withheld: WithheldCell[] | undefined = roleOf(kind) === 'table' ? withheldCellsOf(doc) : undefined;
  if (summary === undefined && withheld === undefined) return result;
  return { ...result, ...(summary === undefined ? {} : { disclosure: summary }), ...(withheld === undefined ? {} : { withheld }) };
}
