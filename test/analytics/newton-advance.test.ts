/**
 * A Newton step of a logistic fit is taken only with a positive-definite
 * penalised Hessian. An indefinite one (e.g. a large negative diagonal entry
 * sent by one shop within the fields' bounds) would send β toward a saddle or
 * a minimum of the likelihood: the step throws a RangeError naming the
 * Hessian, and the state it was given is left as it was.
 */
import { describe, expect, it } from 'vitest';
import { cholesky, NotPositiveDefiniteError } from '../../analytics/linear-algebra.js';
import { newtonAdvance, newtonStep, type LogisticRoundResult, type LogisticState } from '../../analytics/logistic-regression.js';

const LIMITS = { tolerance: 1e-8, maxRounds: 25 };

/** A state after one round, deeply frozen so that any write to it throws. */
function stateAfterRoundOne(): LogisticState {
  const history = Object.freeze([Object.freeze({ round: 1, logLikelihood: -70, maxStep: 0.4, n: 100 })]);
  return Object.freeze({ beta: Object.freeze([0.1, -0.4]), history }) as unknown as LogisticState;
}

function round(hessian: number[][], gradient = [1, -2]): LogisticRoundResult {
  return { n: 100, logLikelihood: -65, gradient, hessian };
}

describe('newtonAdvance with a Hessian that is not positive definite', () => {
  it('throws a RangeError naming the Hessian for a large negative diagonal entry, and leaves the state as it was', () => {
    const state = stateAfterRoundOne();
    const before = structuredClone(state);
    // An honest pooled Hessian plus one shop's `h.0.0-` part of 2^44 (its declared maximum at maxRows 2^24, |x| ≤ 1000).
    const poisoned = round([[25 - 2 ** 44, 3], [3, 40]]);
    expect(() => newtonAdvance(state, poisoned, [0, 0], 2, LIMITS)).toThrow(RangeError);
    expect(() => newtonAdvance(state, poisoned, [0, 0], 2, LIMITS)).toThrow(/Hessian .*not positive definite.*no Newton step was taken/);
    expect(state).toEqual(before);
  });

  it('refuses an indefinite Hessian whose diagonal is positive', () => {
    // Eigenvalues 3 and −1: every pivot test on the diagonal alone would pass.
    expect(() => newtonAdvance(stateAfterRoundOne(), round([[1, 2], [2, 1]]), [0, 0], 2, LIMITS)).toThrow(/pivot 1 is -3/);
  });

  it('refuses a singular Hessian (a zero pivot)', () => {
    expect(() => newtonStep([0, 0], round([[4, 2], [2, 1]]), [0, 0])).toThrow(/Hessian .*not positive definite/);
  });

  it('judges the penalised Hessian: an l2 penalty that makes H + λI₀ positive definite lets the step through', () => {
    const result = round([[10, 0], [0, -0.5]]);
    expect(() => newtonStep([0, 0], result, [0, 0])).toThrow(/Hessian/);
    const next = newtonAdvance(stateAfterRoundOne(), result, [0, 1], 2, LIMITS);
    expect(next.done).toBe(false);
    // Step = (H + λI₀)⁻¹ (g − λI₀β) = [1 / 10, (−2 + 0.4) / 0.5].
    if (!next.done) {
      expect(next.state.beta[0]).toBeCloseTo(0.2, 12);
      expect(next.state.beta[1]).toBeCloseTo(-3.6, 12);
    }
  });

  it('takes the step with a positive-definite Hessian', () => {
    const next = newtonAdvance(stateAfterRoundOne(), round([[4, 0], [0, 2]]), [0, 0], 2, LIMITS);
    expect(next).toMatchObject({ done: false, state: { beta: [0.1 + 0.25, -0.4 - 1] } });
  });

  it('keeps shape errors apart from positive definiteness', () => {
    expect(() => cholesky([[1, 0]])).toThrow(/square/);
    expect(() => cholesky([[1, 0]])).not.toThrow(NotPositiveDefiniteError);
    expect(() => cholesky([[-1]])).toThrow(NotPositiveDefiniteError);
  });
});
