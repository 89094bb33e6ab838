/**
 * `baseMargin: "auto"` of gradient-boosted trees: the margin before the
 * first tree found from the data, without a round of its own. The first
 * level of the first tree is computed at margin 0, where every row's
 * gradient depends on its label alone (logistic: g = ½ − y, h = ¼; squared:
 * g = −y, h = 1), so the root's sums give the label mean ȳ exactly, and the
 * base margin b is its log-odds (binary label) or ȳ itself (numeric label),
 * as scikit-learn's HistGradientBoosting starts. Every row of the first tree
 * still shares one margin, so the level's sums at margin b follow from those
 * at 0 bin by bin: logistic g' = g + (σ(b) − ½), h' = σ(b)(1 − σ(b));
 * squared g' = g + b. What the fit runner then splits on equals what the
 * shops would have sent at margin b, up to their float rounding (within
 * 2^-48 per row and bin).
 *
 * The margin discloses the training label mean over the root's rows (at
 * least k subjects), as a tree of one leaf would.
 *
 * @module
 */
import { GBT_SCALE_BITS, type GbtBinSums, type GbtLevelHistograms } from './gbt-local.js';
import type { GbtSpec } from './gbt-spec.js';
import { sigmoid } from './gbt-tree.js';
import { fixedToReal } from './signed-real.js';

const SCALE = 2 ** GBT_SCALE_BITS;

/** A real number in units of 2^-GBT_SCALE_BITS, rounded. */
const fixed = (v: number): bigint => BigInt(Math.round(v * SCALE));

/**
 * The base margin from the first level's root sums at margin 0: the
 * log-odds of the label mean (logistic loss) or the mean (squared loss).
 * Throws RangeError when the level is not the root's alone, the root holds
 * no rows, or a binary label is the same for every row (no finite
 * log-odds).
 */
export function gbtBaseMarginFromRoot(spec: Pick<GbtSpec, 'loss'>, histograms: GbtLevelHistograms): number {
  const root = histograms.nodes[0];
  if (histograms.nodes.length !== 1 || root === undefined || root.id !== 0) throw new RangeError('histograms: the base margin is found from the first level, the root alone');
  const bins = root.variables[0];
  if (bins === undefined) throw new RangeError('histograms: the root has no variable');
  const n = Number(bins.n.reduce((a, b) => a + b, 0n));
  if (!(n > 0)) throw new RangeError('the root holds no rows: no label mean');
  const g = fixedToReal(bins.g.reduce((a, b) => a + b, 0n), GBT_SCALE_BITS);
  if (spec.loss === 'squared') return -g / n;
  // g = Σ(½ − y): the labels' sum is an integer.
  const positives = Math.round(n / 2 - g);
  if (positives <= 0 || positives >= n) {
    throw new RangeError(`the label is ${positives <= 0 ? '0' : '1'} for every one of the ${n} training rows: no base margin (and nothing to predict)`);
  }
  return Math.log(positives / (n - positives));
}

/**
 * The first level's histograms, computed by the shops at margin 0, as they
 * are at margin `b` (every row of the first tree at one margin). Throws
 * RangeError when `b` is not finite.
 */
export function gbtLevelAtBaseMargin(spec: Pick<GbtSpec, 'loss'>, histograms: GbtLevelHistograms, b: number): GbtLevelHistograms {
  if (!Number.isFinite(b)) throw new RangeError(`b: expected a finite margin, got ${b}`);
  const p = sigmoid(b);
  const shift = spec.loss === 'logistic' ? fixed(p - 0.5) : fixed(b);
  const hessian = spec.loss === 'logistic' ? fixed(p * (1 - p)) : BigInt(SCALE);
  const at = (bins: GbtBinSums): GbtBinSums => ({
    n: bins.n,
    g: bins.g.map((g, i) => g + (bins.n[i] as bigint) * shift),
    h: bins.n.map((n) => n * hessian),
  });
  return { nodes: histograms.nodes.map((node) => ({ id: node.id, variables: node.variables.map(at) })) };
}
