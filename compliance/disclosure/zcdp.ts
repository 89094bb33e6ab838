/**
 * Privacy-loss accounting in zero-concentrated differential privacy (zCDP,
 * Bun & Steinke 2016) and the calibration of per-field noise to it.
 *
 * Why zCDP: releases compose by adding their ρ, Gaussian noise has a tight ρ,
 * and ρ converts to the (ε, δ) that people quote. Budgets are kept as whole
 * nano-units of ρ (bigints), so spending and refusing never depend on
 * floating-point rounding.
 *
 * Calibration: the unit of privacy is one data subject at one shop. A query
 * kind declares, per field, the most one subject can change the field's total
 * (its sensitivity Δ_f, from the spec's declared bounds) and whether a
 * subject counts in one cell only. A subject then touches n noised values:
 * the released subject total plus the fields of its one cell (or of every
 * cell when cells overlap). The query's ρ is split evenly over those n:
 *
 * - discrete Gaussian: σ_f² = Δ_f² · n / (2ρ), so Σ Δ_f²/(2σ_f²) = ρ exactly;
 * - discrete Laplace: τ_f = Δ_f · n / √(2ρ) (√ rounded down, τ rounded up),
 *   so the query is ε-DP with ε <= √(2ρ), hence (ε²/2 <= ρ)-zCDP.
 *
 * @module
 */
import { DisclosureError } from './errors.js';
import { isqrt } from '../../analytics/index.js';
import { fraction, type Fraction } from './integer-math.js';

/** ρ is kept in units of 10^-9. */
export const RHO_UNITS_PER_ONE = 1_000_000_000n;

/** Converts a policy's ρ (a number with at most nine decimals) to units; RangeError naming `what`. */
export function rhoToUnits(rho: number, what = 'rho'): bigint {
  if (typeof rho !== 'number' || !Number.isFinite(rho) || rho <= 0) throw new RangeError(`${what}: expected a positive finite number, got ${String(rho)}`);
  const text = rho.toFixed(9);
  if (Number(text) !== rho) throw new RangeError(`${what}: at most nine decimal places, got ${rho}`);
  const units = BigInt(text.replace('.', ''));
  if (units < 1n) throw new RangeError(`${what}: must be at least 1e-9, got ${rho}`);
  return units;
}

/** ρ units as a number (for display and the (ε, δ) conversion). */
export function unitsToRho(units: bigint): number {
  return Number(units) / Number(RHO_UNITS_PER_ONE);
}

/**
 * The ε of (ε, δ)-DP implied by ρ-zCDP: ε = ρ + 2√(ρ ln(1/δ)) (Bun & Steinke
 * 2016, Prop. 1.3). For display and reports only.
 */
export function zcdpToEpsilon(rho: number, delta: number): number {
  if (!(rho >= 0) || !Number.isFinite(rho)) throw new RangeError(`rho: expected a finite number >= 0, got ${rho}`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta: expected a number in (0, 1), got ${delta}`);
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** Noise mechanisms a purpose can choose. */
export const NOISE_MECHANISMS = ['discrete-gaussian', 'discrete-laplace'] as const;
export type NoiseMechanism = (typeof NOISE_MECHANISMS)[number];

/** Noise of one field: σ² for the discrete Gaussian, scale τ for the discrete Laplace. */
export interface FieldNoiseParameter {
  readonly mechanism: NoiseMechanism;
  /** σ² (discrete Gaussian) or τ (discrete Laplace), exact. */
  readonly parameter: Fraction;
}

/**
 * The noise parameter for a field of sensitivity `sensitivity` when a subject
 * touches `touched` noised values and the query may spend `rhoUnits`.
 * Returns undefined for Δ = 0: a value no subject can move needs no noise.
 */
export function calibrateField(mechanism: NoiseMechanism, sensitivity: bigint, touched: number, rhoUnits: bigint): FieldNoiseParameter | undefined {
  if (typeof sensitivity !== 'bigint' || sensitivity < 0n) throw new RangeError(`sensitivity: expected a bigint >= 0, got ${String(sensitivity)}`);
  if (!Number.isSafeInteger(touched) || touched < 1) throw new RangeError(`touched: expected an integer >= 1, got ${touched}`);
  if (typeof rhoUnits !== 'bigint' || rhoUnits < 1n) throw new RangeError(`rhoUnits: expected a bigint >= 1, got ${String(rhoUnits)}`);
  if (sensitivity === 0n) return undefined;
  const n = BigInt(touched);
  if (mechanism === 'discrete-gaussian') {
    // σ² = Δ² n / (2ρ) with ρ = R / 10^9
    return { mechanism, parameter: fraction(sensitivity * sensitivity * n * RHO_UNITS_PER_ONE, 2n * rhoUnits, 'sigma2') };
  }
  // √(2ρ) >= L / 10^9 with L = ⌊√(2 R 10^9)⌋, so τ = Δ n 10^9 / L >= Δ n / √(2ρ).
  const root = isqrt(2n * rhoUnits * RHO_UNITS_PER_ONE);
  if (root < 1n) throw new DisclosureError('DISCLOSURE_POLICY_INVALID', 'rhoPerQuery is too small to calibrate a discrete Laplace scale');
  return { mechanism, parameter: fraction(sensitivity * n * RHO_UNITS_PER_ONE, root, 'scale') };
}
