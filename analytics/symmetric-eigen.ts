/**
 * Eigenvalues and eigenvectors of a small real symmetric matrix by the
 * cyclic Jacobi method, in double precision: sweeps of plane rotations, each
 * zeroing one off-diagonal entry (Rutishauser's stable formulation), until
 * the off-diagonal mass is negligible against the diagonal. Accurate to a
 * few ulps of the largest eigenvalue and fully deterministic (fixed sweep
 * order), which matters because the coordinator's result must not depend on
 * the machine.
 *
 * Output convention: eigenvalues in decreasing order (ties keep the original
 * index order); each eigenvector is normalised and its largest-magnitude
 * component is positive (on a tie, the first such component).
 *
 * @module
 */

/** One eigenpair. */
export interface EigenPair {
  readonly value: number;
  /** Unit vector, sign fixed as described in the module documentation. */
  readonly vector: readonly number[];
}

/** Most sweeps before giving up; symmetric Jacobi converges quadratically in well under 20. */
const MAX_SWEEPS = 100;

/**
 * Eigen-decomposition of the symmetric matrix `a` (only read, never
 * modified). Throws RangeError naming the argument when `a` is not square,
 * not finite or not symmetric (to 1e-12 relative), and RangeError when the
 * sweeps do not converge.
 */
export function symmetricEigen(a: readonly (readonly number[])[]): EigenPair[] {
  if (!Array.isArray(a) || a.length === 0) throw new RangeError('a: expected a non-empty square matrix');
  const n = a.length;
  const m = a.map((row, i) => {
    if (!Array.isArray(row) || row.length !== n) throw new RangeError(`a[${i}]: expected ${n} entries`);
    return row.map((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`a[${i}][${j}]: expected a finite number`);
      return v;
    });
  });
  let scale = 0;
  for (const row of m) for (const v of row) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs((m[i] as number[])[j]! - (m[j] as number[])[i]!) > 1e-12 * scale) throw new RangeError(`a: not symmetric at [${i}][${j}]`);
    }
  }
  const v = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  const at = (i: number, j: number): number => (m[i] as number[])[j] as number;
  const set = (i: number, j: number, x: number): void => {
    (m[i] as number[])[j] = x;
  };

  for (let sweep = 0; ; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += at(i, i) * at(i, i);
      for (let j = i + 1; j < n; j++) off += at(i, j) * at(i, j);
    }
    if (off === 0 || off <= 1e-32 * diag) break;
    if (sweep >= MAX_SWEEPS) throw new RangeError(`a: Jacobi sweeps did not converge (off-diagonal ${Math.sqrt(off)})`);
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = at(p, q);
        if (apq === 0) continue;
        const app = at(p, p);
        const aqq = at(q, q);
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        const tau = s / (1 + c);
        set(p, p, app - t * apq);
        set(q, q, aqq + t * apq);
        set(p, q, 0);
        set(q, p, 0);
        for (let r = 0; r < n; r++) {
          if (r !== p && r !== q) {
            const arp = at(r, p);
            const arq = at(r, q);
            const np = arp - s * (arq + tau * arp);
            const nq = arq + s * (arp - tau * arq);
            set(r, p, np);
            set(p, r, np);
            set(r, q, nq);
            set(q, r, nq);
          }
          const vr = v[r] as number[];
          const vrp = vr[p] as number;
          const vrq = vr[q] as number;
          vr[p] = vrp - s * (vrq + tau * vrp);
          vr[q] = vrq + s * (vrp - tau * vrq);
        }
      }
    }
  }

  const pairs = Array.from({ length: n }, (_, k) => {
    const vec = v.map((row) => row[k] as number);
    const norm = Math.hypot(...vec);
    let lead = 0;
    for (let i = 1; i < n; i++) if (Math.abs(vec[i] as number) > Math.abs(vec[lead] as number)) lead = i;
    const sign = (vec[lead] as number) < 0 ? -1 : 1;
    return { index: k, value: at(k, k), vector: vec.map((x) => (sign * x) / norm) };
  });
  pairs.sort((x, y) => y.value - x.value || x.index - y.index);
  return pairs.map(({ value, vector }) => ({ value, vector }));
}
