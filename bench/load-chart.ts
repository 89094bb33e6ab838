/**
 * Least-squares line fits and a hand-written SVG chart for the load
 * benchmark: round latency and coordinator CPU per contribution against
 * the number of merchants, on a logarithmic x axis.
 */

export interface LineFit {
  /** Value at zero merchants (the fixed cost). */
  readonly intercept: number;
  /** Growth per merchant. */
  readonly slope: number;
  /** Coefficient of determination of the fit (1 = all points on the line). */
  readonly r2: number;
  readonly points: number;
}

/** Ordinary least squares y = intercept + slope·x. */
export function fitLine(points: readonly (readonly [number, number])[]): LineFit {
  const n = points.length;
  if (n < 2) return { intercept: points[0]?.[1] ?? 0, slope: 0, r2: 1, points: n };
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (const [x, y] of points) sse += (y - intercept - slope * x) ** 2;
  return { intercept, slope, r2: syy === 0 ? 1 : 1 - sse / syy, points: n };
}

/** Exponent b of y = a·x^b fitted in log–log space (1 = linear growth, 0 = constant). */
export function growthExponent(points: readonly (readonly [number, number])[]): number {
  const usable = points.filter(([x, y]) => x > 0 && y > 0).map(([x, y]) => [Math.log(x), Math.log(y)] as const);
  return fitLine(usable).slope;
}

export interface ChartSeries {
  readonly title: string;
  readonly unit: string;
  /** (merchants, value) of every run. */
  readonly points: readonly (readonly [number, number])[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Smallest 4 × m × 10^k (m in 1 … 10) at or above `v`: an axis top with round quarter ticks. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v / 4));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10]) if (4 * m * p >= v) return 4 * m * p;
  return 40 * p;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toPrecision(2).replace(/\.?0+$/, '');
}

function panel(s: ChartSeries, x0: number, y0: number, w: number, h: number): string {
  const xs = s.points.map((p) => p[0]);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...xs, 10)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...xs, 10)));
  const yMax = niceMax(Math.max(...s.points.map((p) => p[1]), 0) * 1.1);
  const px = (x: number) => x0 + ((Math.log10(x) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * w;
  const py = (y: number) => y0 + h - (y / yMax) * h;
  const out: string[] = [];
  out.push(`<text x="${x0 + w / 2}" y="${y0 - 12}" text-anchor="middle" font-weight="bold">${esc(s.title)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (let d = lo; d <= hi; d *= 10) {
    out.push(`<line x1="${px(d).toFixed(1)}" x2="${px(d).toFixed(1)}" y1="${y0}" y2="${y0 + h}" stroke="#ddd"/>`);
    out.push(`<text x="${px(d).toFixed(1)}" y="${y0 + h + 16}" text-anchor="middle">${d}</text>`);
    for (let m = 2; m < 10 && d * m < hi; m++) out.push(`<line x1="${px(d * m).toFixed(1)}" x2="${px(d * m).toFixed(1)}" y1="${y0 + h}" y2="${y0 + h - 4}" stroke="#999"/>`);
  }
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle">merchants (log scale)</text>`);
  out.push(`<text transform="translate(${x0 - 44} ${y0 + h / 2}) rotate(-90)" text-anchor="middle">${esc(s.unit)}</text>`);
  // Median per merchant count, joined by a line; every run as a dot.
  const byN = new Map<number, number[]>();
  for (const [x, y] of s.points) byN.set(x, [...(byN.get(x) ?? []), y]);
  const medians = [...byN.entries()].sort((a, b) => a[0] - b[0]).map(([x, ys]) => {
    const sorted = [...ys].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    return [x, sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2] as const;
  });
  out.push(`<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="${medians.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
  for (const [x, y] of s.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="#1f5fa8" fill-opacity="0.6"/>`);
  for (const [x, y] of medians) out.push(`<text x="${(px(x) + 6).toFixed(1)}" y="${(py(y) - 6).toFixed(1)}" fill="#1f5fa8">${fmt(y)}</text>`);
  return out.join('\n  ');
}

/** Two panels side by side; `caption` goes under them. */
export function loadChartSvg(left: ChartSeries, right: ChartSeries, caption: string): string {
  const W = 860;
  const H = 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
  <rect width="${W}" height="${H}" fill="#fff"/>
  ${panel(left, 80, 40, 320, 240)}
  ${panel(right, 510, 40, 320, 240)}
  <text x="${W / 2}" y="${H - 14}" text-anchor="middle" fill="#555">${esc(caption)}</text>
</svg>
`;
}
