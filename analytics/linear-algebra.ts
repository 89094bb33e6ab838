/**
 * Small dense linear algebra in double precision for the coordinator-side
 * model steps (a few dozen parameters at most): Cholesky solve and inverse of
 * symmetric positive-definite matrices.
 *
 * @module
 */

/**
 * A matrix that Cholesky cannot factor: some pivot is not positive (or is
 * NaN). Its own class so that callers can tell a matrix that is not positive
 * definite (a property of the data, e.g. a Hessian a shop poisoned) from a
 * wrongly shaped argument, and say which matrix it was.
 */
export class NotPositiveDefiniteError extends RangeError {
  override readonly name = 'NotPositiveDefiniteError';
  /** Index of the first pivot that is not positive. */
  readonly pivot: number;
  /** That pivot's value. */
  readonly value: number;

  constructor(pivot: number, value: number) {
    super(`matrix is not positive definite (pivot ${pivot} is ${value})`);
    this.pivot = pivot;
    this.value = value;
  }
}

/** Lower-triangular L with A = L Lᵀ; throws NotPositiveDefiniteError (a RangeError) if A is not positive definite. */
export function cholesky(a: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    if (a[i]?.length !== n) throw new RangeError('a must be square');
    for (let j = 0; j <= i; j++) {
      let sum = a[i]![j]!;
      for (let k = 0; k < j; k++) sum -= l[i]![k]! * l[j]![k]!;
      if (i === j) {
        if (!(sum > 0)) throw new NotPositiveDefiniteError(i, sum);
        l[i]![i] = Math.sqrt(sum);
      } else {
        l[i]![j] = sum / l[j]![j]!;
      }
    }
  }
  return l;
}

/** Solves A x = b for symmetric positive-definite A. */
export function choleskySolve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const l = cholesky(a);
  const n = l.length;
  if (b.length !== n) throw new RangeError('b must match the size of a');
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

/** Inverse of a symmetric positive-definite matrix, column by column. */
export function choleskyInverse(a: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  const cols = Array.from({ length: n }, (_, j) => choleskySolve(a, Array.from({ length: n }, (_, i) => (i === j ? 1 : 0))));
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => cols[j]![i]!));
}
