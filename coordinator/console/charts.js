// Charts as inline SVG strings: a bar chart of segments, a retention heat map,
// lifts with confidence intervals, and a ROC curve from score histograms.
// Every chart is role="img" with a <title> and <desc>; the page shows the
// same numbers in a table beside it. Pure functions, no DOM: also used in tests.

/** @param {unknown} s */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const INK = '#1b1f24';
const MUTED = '#57606a';
const BAR = '#1f5fa8';
const GRID = '#d0d7de';

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function svgOpen(w, h, title, desc, id) {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="100%" style="max-width:${w}px" role="img" aria-labelledby="${id}-t ${id}-d" class="chart"><title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(desc)}</desc>`;
}

let counter = 0;
function nextId() {
  counter += 1;
  return `chart${counter}`;
}

/**
 * Vertical bar chart. `values[i]` null draws a hatched "suppressed" placeholder,
 * labelled `suppressedLabels[i]` (why that bar is withheld) or `suppressedLabel`,
 * with `suppressedTitles[i]` (the full explanation) as its tooltip.
 * @param {{title: string, labels: string[], values: (number|null)[], format?: (v: number) => string, suppressedLabel?: string, suppressedLabels?: (string|undefined)[], suppressedTitles?: (string|undefined)[]}} o
 */
export function barChart({ title, labels, values, format = (v) => String(v), suppressedLabel = 'suppressed', suppressedLabels = [], suppressedTitles = [] }) {
  const id = nextId();
  const w = 640;
  const h = 300;
  const left = 56;
  const bottom = 56;
  const top = 28;
  const plotH = h - top - bottom;
  const plotW = w - left - 16;
  const present = values.filter((v) => v !== null);
  let max = niceMax(Math.max(0, ...present));
  // Counts get whole-number ticks.
  if (present.every((v) => Number.isInteger(v)) && max >= 4) max = Math.ceil(max / 4) * 4;
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.min(64, slot * 0.6);
  const withheldLabel = (i) => suppressedLabels[i] ?? suppressedLabel;
  const desc = labels.map((l, i) => `${l}: ${values[i] === null ? withheldLabel(i) : format(values[i])}`).join('; ');
  let s = svgOpen(w, h, title, desc, id);
  s += `<defs><pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="${MUTED}" stroke-width="2"/></pattern></defs>`;
  for (let k = 0; k <= 4; k++) {
    const y = top + plotH - (plotH * k) / 4;
    s += `<line x1="${left}" x2="${w - 16}" y1="${y}" y2="${y}" stroke="${GRID}"/>`;
    s += `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="${MUTED}">${esc(format((max * k) / 4))}</text>`;
  }
  labels.forEach((label, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    const v = values[i];
    if (v === null) {
      s += `<rect class="bar suppressed" x="${x}" y="${top + plotH - 24}" width="${barW}" height="24" fill="url(#${id}-hatch)" stroke="${MUTED}"><title>${esc(`${label}: ${suppressedTitles[i] ?? withheldLabel(i)}`)}</title></rect>`;
      s += `<text x="${x + barW / 2}" y="${top + plotH - 30}" text-anchor="middle" font-size="11" fill="${MUTED}">${esc(withheldLabel(i))}</text>`;
    } else {
      const bh = (plotH * Math.max(0, v)) / max;
      s += `<rect class="bar" x="${x}" y="${top + plotH - bh}" width="${barW}" height="${bh}" fill="${BAR}"><title>${esc(`${label}: ${format(v)}`)}</title></rect>`;
      s += `<text x="${x + barW / 2}" y="${top + plotH - bh - 6}" text-anchor="middle" font-size="12" fill="${INK}">${esc(format(v))}</text>`;
    }
    s += `<text x="${x + barW / 2}" y="${h - bottom + 18}" text-anchor="middle" font-size="12" fill="${INK}">${esc(label)}</text>`;
  });
  s += `<line x1="${left}" x2="${w - 16}" y1="${top + plotH}" y2="${top + plotH}" stroke="${INK}"/>`;
  return `${s}</svg>`;
}

/** Sequential blue scale, light to dark; text flips to white on dark cells. */
function heat(v) {
  const t = Math.max(0, Math.min(1, v));
  const c0 = [239, 246, 255];
  const c1 = [8, 48, 107];
  const c = c0.map((a, i) => Math.round(a + (c1[i] - a) * t));
  return { fill: `rgb(${c.join(',')})`, text: t > 0.5 ? '#ffffff' : INK };
}

/**
 * Heat map of rates in [0, 1] (e.g. retention by cohort and months since).
 * @param {{title: string, rows: string[], cols: string[], cells: (number|null)[][], rowLabel?: string, colLabel?: string}} o
 */
export function heatMap({ title, rows, cols, cells, rowLabel = '', colLabel = '' }) {
  const id = nextId();
  const cw = 44;
  const ch = 24;
  const left = 80;
  const top = 44;
  const w = left + cw * cols.length + 12;
  const h = top + ch * rows.length + 12;
  const filled = cells.flat().filter((v) => v !== null).length;
  let s = svgOpen(w, h, title, `${rows.length} rows by ${cols.length} columns, ${filled} cells with values`, id);
  s += `<text x="${left}" y="14" font-size="11" fill="${MUTED}">${esc(colLabel)}</text><text x="4" y="${top - 6}" font-size="11" fill="${MUTED}">${esc(rowLabel)}</text>`;
  cols.forEach((c, j) => {
    s += `<text x="${left + cw * j + cw / 2}" y="${top - 8}" text-anchor="middle" font-size="11" fill="${INK}">${esc(c)}</text>`;
  });
  rows.forEach((r, i) => {
    s += `<text x="${left - 6}" y="${top + ch * i + ch / 2 + 4}" text-anchor="end" font-size="11" fill="${INK}">${esc(r)}</text>`;
    cols.forEach((_, j) => {
      const v = cells[i]?.[j] ?? null;
      const x = left + cw * j;
      const y = top + ch * i;
      if (v === null) {
        s += `<rect class="cell empty" x="${x}" y="${y}" width="${cw - 2}" height="${ch - 2}" fill="#f6f8fa" stroke="${GRID}"/>`;
      } else {
        const { fill, text } = heat(v);
        s += `<rect class="cell" x="${x}" y="${y}" width="${cw - 2}" height="${ch - 2}" fill="${fill}"><title>${esc(`${r}, ${cols[j]}: ${(v * 100).toFixed(1)}%`)}</title></rect>`;
        s += `<text x="${x + cw / 2 - 1}" y="${y + ch / 2 + 3}" text-anchor="middle" font-size="10" fill="${text}">${Math.round(v * 100)}%</text>`;
      }
    });
  });
  return `${s}</svg>`;
}

/**
 * Estimates with confidence intervals on a horizontal axis through zero.
 * @param {{title: string, items: {label: string, estimate: number, lower: number, upper: number}[], format?: (v: number) => string}} o
 */
export function intervalChart({ title, items, format = (v) => v.toFixed(3) }) {
  const id = nextId();
  const w = 640;
  const row = 52;
  const left = 150;
  const right = 24;
  const top = 24;
  const h = top + row * items.length + 28;
  const lo = Math.min(0, ...items.map((i) => i.lower));
  const hi = Math.max(0, ...items.map((i) => i.upper));
  const pad = (hi - lo) * 0.08 || 1;
  const a = lo - pad;
  const b = hi + pad;
  const x = (v) => left + ((v - a) / (b - a)) * (w - left - right);
  const desc = items.map((i) => `${i.label}: ${format(i.estimate)} (${format(i.lower)} to ${format(i.upper)})`).join('; ');
  let s = svgOpen(w, h, title, desc, id);
  s += `<line x1="${x(0)}" x2="${x(0)}" y1="${top - 8}" y2="${h - 24}" stroke="${MUTED}" stroke-dasharray="4 3"/><text x="${x(0)}" y="${h - 8}" text-anchor="middle" font-size="11" fill="${MUTED}">0</text>`;
  items.forEach((it, i) => {
    const y = top + row * i + row / 2;
    s += `<text x="${left - 10}" y="${y + 4}" text-anchor="end" font-size="12" fill="${INK}">${esc(it.label)}</text>`;
    s += `<line class="ci" x1="${x(it.lower)}" x2="${x(it.upper)}" y1="${y}" y2="${y}" stroke="${BAR}" stroke-width="3"/>`;
    s += `<line x1="${x(it.lower)}" x2="${x(it.lower)}" y1="${y - 7}" y2="${y + 7}" stroke="${BAR}" stroke-width="2"/><line x1="${x(it.upper)}" x2="${x(it.upper)}" y1="${y - 7}" y2="${y + 7}" stroke="${BAR}" stroke-width="2"/>`;
    s += `<circle class="estimate" cx="${x(it.estimate)}" cy="${y}" r="5" fill="${INK}"><title>${esc(`${it.label}: ${format(it.estimate)} [${format(it.lower)}, ${format(it.upper)}]`)}</title></circle>`;
    s += `<text x="${x(it.estimate)}" y="${y - 10}" text-anchor="middle" font-size="12" fill="${INK}">${esc(format(it.estimate))}</text>`;
    s += `<text x="${x(it.lower)}" y="${y + 20}" text-anchor="middle" font-size="10" fill="${MUTED}">${esc(format(it.lower))}</text><text x="${x(it.upper)}" y="${y + 20}" text-anchor="middle" font-size="10" fill="${MUTED}">${esc(format(it.upper))}</text>`;
  });
  return `${s}</svg>`;
}

/**
 * ROC points from per-bin counts of positives and negatives (bins ordered by
 * score, low to high): thresholds sweep from the top bin down.
 * @param {number[]} pos @param {number[]} neg
 * @returns {{points: {fpr: number, tpr: number}[], auc: number | null}}
 */
export function rocFromHistograms(pos, neg) {
  const P = pos.reduce((a, b) => a + b, 0);
  const N = neg.reduce((a, b) => a + b, 0);
  if (P === 0 || N === 0) return { points: [], auc: null };
  const points = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (let i = pos.length - 1; i >= 0; i--) {
    const dp = pos[i] ?? 0;
    const dn = neg[i] ?? 0;
    if (dp === 0 && dn === 0) continue;
    // Trapezoid: ties within a bin count half.
    auc += (dn / N) * ((tp + dp / 2) / P);
    tp += dp;
    fp += dn;
    points.push({ fpr: fp / N, tpr: tp / P });
  }
  return { points, auc };
}

/**
 * ROC curve chart with the chance diagonal.
 * @param {{title: string, points: {fpr: number, tpr: number}[], auc: number | null, fprLabel?: string, tprLabel?: string}} o
 */
export function rocChart({ title, points, auc, fprLabel = 'false positive rate', tprLabel = 'true positive rate' }) {
  const id = nextId();
  const size = 320;
  const m = 44;
  const w = size + m + 16;
  const h = size + m + 16;
  const px = (f) => m + f * size;
  const py = (t) => 16 + size - t * size;
  let s = svgOpen(w, h, title, `ROC curve with ${points.length} points${auc === null ? '' : `, AUC ${auc.toFixed(3)}`}`, id);
  for (let k = 0; k <= 4; k++) {
    const v = k / 4;
    s += `<line x1="${px(0)}" x2="${px(1)}" y1="${py(v)}" y2="${py(v)}" stroke="${GRID}"/><line x1="${px(v)}" x2="${px(v)}" y1="${py(0)}" y2="${py(1)}" stroke="${GRID}"/>`;
    s += `<text x="${px(0) - 6}" y="${py(v) + 4}" text-anchor="end" font-size="10" fill="${MUTED}">${v}</text><text x="${px(v)}" y="${py(0) + 14}" text-anchor="middle" font-size="10" fill="${MUTED}">${v}</text>`;
  }
  s += `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="${MUTED}" stroke-dasharray="4 3"/>`;
  if (points.length > 0) s += `<polyline class="roc" fill="none" stroke="${BAR}" stroke-width="2.5" points="${points.map((p) => `${px(p.fpr).toFixed(1)},${py(p.tpr).toFixed(1)}`).join(' ')}"/>`;
  s += `<text x="${px(0.5)}" y="${h - 4}" text-anchor="middle" font-size="11" fill="${INK}">${esc(fprLabel)}</text>`;
  s += `<text x="12" y="${py(0.5)}" text-anchor="middle" font-size="11" fill="${INK}" transform="rotate(-90 12 ${py(0.5)})">${esc(tprLabel)}</text>`;
  if (auc !== null) s += `<text x="${px(0.6)}" y="${py(0.12)}" font-size="13" fill="${INK}">AUC ${auc.toFixed(3)}</text>`;
  return `${s}</svg>`;
}

/**
 * Stacked horizontal bar of parts of a whole (e.g. consent included vs excluded by reason).
 * @param {{title: string, parts: {label: string, value: number}[]}} o
 */
export function stackedBar({ title, parts }) {
  const id = nextId();
  const w = 640;
  const h = 64 + 20 * Math.ceil(parts.length / 3);
  const total = parts.reduce((a, p) => a + p.value, 0) || 1;
  const colours = ['#1f5fa8', '#b35900', '#6e40aa', '#a40e26', '#176f2c', '#57606a', '#8a6d00', '#005f73'];
  let x = 8;
  let s = svgOpen(w, h, title, parts.map((p) => `${p.label}: ${p.value}`).join('; '), id);
  parts.forEach((p, i) => {
    const pw = ((w - 16) * p.value) / total;
    if (pw > 0) s += `<rect x="${x}" y="8" width="${pw}" height="24" fill="${colours[i % colours.length]}"><title>${esc(`${p.label}: ${p.value}`)}</title></rect>`;
    x += pw;
  });
  parts.forEach((p, i) => {
    const lx = 8 + (i % 3) * 210;
    const ly = 52 + 20 * Math.floor(i / 3);
    s += `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${colours[i % colours.length]}"/><text x="${lx + 18}" y="${ly}" font-size="12" fill="${INK}">${esc(`${p.label}: ${p.value}`)}</text>`;
  });
  return `${s}</svg>`;
}
