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

/** The top of a count axis: four equal whole-number steps of 1, 2 or 5 times a power of ten. */
function countMax(v) {
  if (!(v > 0)) return 4;
  const raw = v / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(1, m * p) * 4;
  return 40 * p;
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
 * Vertical bar chart; bar heights are proportional to the values, from 0 to
 * the top tick. `values[i]` null draws no bar but an empty hatched slot
 * (class `slot suppressed`), labelled `suppressedLabels[i]` (why that value
 * is withheld) or `suppressedLabel`, with `suppressedTitles[i]` (the full
 * explanation) as its tooltip.
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
  // Counts get whole-number ticks.
  const max = present.every((v) => Number.isInteger(v)) ? countMax(Math.max(0, ...present)) : niceMax(Math.max(0, ...present));
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.min(64, slot * 0.6);
  const withheldLabel = (i) => suppressedLabels[i] ?? suppressedLabel;
  const desc = labels.map((l, i) => `${l}: ${values[i] === null ? withheldLabel(i) : format(values[i])}`).join('; ');
  let s = svgOpen(w, h, title, desc, id);
  s += hatch(id);
  for (let k = 0; k <= 4; k++) {
    const y = top + plotH - (plotH * k) / 4;
    s += `<line x1="${left}" x2="${w - 16}" y1="${y}" y2="${y}" stroke="${GRID}"/>`;
    s += `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="${MUTED}">${esc(format((max * k) / 4))}</text>`;
  }
  labels.forEach((label, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    const v = values[i];
    if (v === null) {
      // No value, so no bar: a hatched slot over the whole plot height, with the reason written in it.
      s += withheldSlot(id, left + slot * i + 4, top, slot - 8, plotH, withheldLabel(i), `${label}: ${suppressedTitles[i] ?? withheldLabel(i)}`);
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

/**
 * A withheld value's place: an empty hatched slot of the full plot height
 * (never a bar, whose height would suggest a value), its short reason
 * written across it and the full explanation as its tooltip.
 */
function withheldSlot(id, x, y, w, h, label, tooltip) {
  let s = `<rect class="slot suppressed" x="${x}" y="${y}" width="${w}" height="${h}" fill="url(#${id}-hatch)" fill-opacity="0.35" stroke="${MUTED}" stroke-dasharray="3 3"><title>${esc(tooltip)}</title></rect>`;
  const words = wrap(label, Math.max(6, Math.floor(w / 6.2)));
  const cy = y + h / 2 - ((words.length - 1) * 13) / 2;
  s += `<text class="slot-label" x="${x + w / 2}" y="${cy}" text-anchor="middle" font-size="11" fill="${INK}">`;
  words.forEach((line, k) => {
    s += `<tspan x="${x + w / 2}" dy="${k === 0 ? 0 : 13}">${esc(line)}</tspan>`;
  });
  return `${s}</text>`;
}

/** Splits `text` into lines of at most about `n` characters (at spaces; CJK text, which has none, per character). */
function wrap(text, n) {
  const str = String(text);
  if (str.length <= n) return [str];
  const parts = str.includes(' ') ? str.split(' ') : [...str];
  const lines = [];
  let line = '';
  for (const p of parts) {
    const next = line === '' ? p : str.includes(' ') ? `${line} ${p}` : `${line}${p}`;
    if (next.length > n && line !== '') {
      lines.push(line);
      line = p;
    } else line = next;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function hatch(id) {
  return `<defs><pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="${MUTED}" stroke-width="2"/></pattern></defs>`;
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
 * A null cell with a `withheldTitles[i][j]` is a withheld cell: hatched
 * (class `cell suppressed`), its reason as the tooltip; other null cells are
 * empty.
 * @param {{title: string, rows: string[], cols: string[], cells: (number|null)[][], rowLabel?: string, colLabel?: string, withheldTitles?: (string|undefined)[][]}} o
 */
export function heatMap({ title, rows, cols, cells, rowLabel = '', colLabel = '', withheldTitles = [] }) {
  const id = nextId();
  const cw = 44;
  const ch = 24;
  const left = 80;
  const top = 44;
  const w = left + cw * cols.length + 12;
  const h = top + ch * rows.length + 12;
  const filled = cells.flat().filter((v) => v !== null).length;
  const withheld = withheldTitles.flat().filter(Boolean).length;
  let s = svgOpen(w, h, title, `${rows.length} rows by ${cols.length} columns, ${filled} cells with values${withheld ? `, ${withheld} withheld` : ''}`, id) + hatch(id);
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
      const why = withheldTitles[i]?.[j];
      if (v === null && why) {
        s += `<rect class="cell suppressed" x="${x}" y="${y}" width="${cw - 2}" height="${ch - 2}" fill="url(#${id}-hatch)" stroke="${MUTED}" stroke-dasharray="2 2"><title>${esc(`${r}, ${cols[j]}: ${why}`)}</title></rect>`;
      } else if (v === null) {
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

/**
 * Histogram: one bar per bin, bins side by side over their ranges (drawn
 * equally wide, since the last bin is often open-ended; the edges are
 * written at the boundaries). Heights are proportional to the counts, from 0
 * to the top tick. A null count draws no bar but an empty hatched slot with
 * `suppressedLabels[j]` written in it and `suppressedTitles[j]` as its tooltip.
 * @param {{title: string, edges: number[], values: (number|null)[], formatEdge?: (v: number) => string, format?: (v: number) => string, suppressedLabels?: (string|undefined)[], suppressedTitles?: (string|undefined)[], xLabel?: string, yLabel?: string, suppressedLabel?: string}} o
 */
export function histogramChart({ title, edges, values, formatEdge = (v) => String(v), format = (v) => String(v), suppressedLabels = [], suppressedTitles = [], xLabel = '', yLabel = '', suppressedLabel = 'suppressed' }) {
  const id = nextId();
  const w = 680;
  const h = 320;
  const left = 74;
  const right = 20;
  const top = 28;
  const bottom = 64;
  const plotH = h - top - bottom;
  const plotW = w - left - right;
  const n = values.length;
  const present = values.filter((v) => v !== null);
  const max = present.every((v) => Number.isInteger(v)) ? countMax(Math.max(0, ...present)) : niceMax(Math.max(0, ...present));
  const bw = plotW / Math.max(1, n);
  const range = (j) => `${formatEdge(edges[j])}–${formatEdge(edges[j + 1])}`;
  const label = (j) => suppressedLabels[j] ?? suppressedLabel;
  const desc = values.map((v, j) => `${range(j)}: ${v === null ? label(j) : format(v)}`).join('; ');
  let s = svgOpen(w, h, title, desc, id) + hatch(id);
  for (let k = 0; k <= 4; k++) {
    const y = top + plotH - (plotH * k) / 4;
    s += `<line x1="${left}" x2="${w - right}" y1="${y}" y2="${y}" stroke="${GRID}"/>`;
    s += `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="${MUTED}">${esc(format((max * k) / 4))}</text>`;
  }
  values.forEach((v, j) => {
    const x = left + bw * j;
    if (v === null) {
      s += withheldSlot(id, x + 1, top, bw - 2, plotH, label(j), `${range(j)}: ${suppressedTitles[j] ?? label(j)}`);
    } else {
      const bh = (plotH * Math.max(0, v)) / max;
      s += `<rect class="bar" data-bin="${j}" x="${x + 1}" y="${top + plotH - bh}" width="${bw - 2}" height="${bh}" fill="${BAR}"><title>${esc(`${range(j)}: ${format(v)}`)}</title></rect>`;
      s += `<text x="${x + bw / 2}" y="${top + plotH - bh - 6}" text-anchor="middle" font-size="11" fill="${INK}">${esc(format(v))}</text>`;
    }
  });
  edges.forEach((e, j) => {
    const x = left + bw * j;
    const anchor = j === 0 ? 'start' : j === edges.length - 1 ? 'end' : 'middle';
    s += `<line x1="${x}" x2="${x}" y1="${top + plotH}" y2="${top + plotH + 5}" stroke="${INK}"/><text x="${x}" y="${top + plotH + 18}" text-anchor="${anchor}" font-size="10" fill="${INK}">${esc(formatEdge(e))}</text>`;
  });
  s += `<line x1="${left}" x2="${w - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="${INK}"/>`;
  s += `<text x="${left + plotW / 2}" y="${h - 12}" text-anchor="middle" font-size="11" fill="${INK}">${esc(xLabel)}</text>`;
  s += `<text x="12" y="${top + plotH / 2}" text-anchor="middle" font-size="11" fill="${INK}" transform="rotate(-90 12 ${top + plotH / 2})">${esc(yLabel)}</text>`;
  return `${s}</svg>`;
}

/**
 * Heat map of counts (e.g. customers by recency and frequency score): the
 * colour's depth is the cell's share of the largest count. `cells[i][j]`
 * null with a `suppressedLabels[i][j]` is a withheld cell, drawn hatched with
 * that reason; null without one is an empty cell. `cellTexts[i][j]` replaces
 * the number written in a cell (e.g. "≥ 12" for a partial sum), and
 * `cellTitles[i][j]` / `suppressedTitles[i][j]` are tooltips.
 * @param {{title: string, rows: string[], cols: string[], cells: (number|null)[][], format?: (v: number) => string, cellTexts?: (string|undefined)[][], cellTitles?: (string|undefined)[][], suppressedLabels?: (string|undefined)[][], suppressedTitles?: (string|undefined)[][], rowLabel?: string, colLabel?: string}} o
 */
export function countHeatMap({ title, rows, cols, cells, format = (v) => String(v), cellTexts = [], cellTitles = [], suppressedLabels = [], suppressedTitles = [], rowLabel = '', colLabel = '' }) {
  const id = nextId();
  const cw = 120;
  const ch = 44;
  const left = 150;
  const top = 52;
  const w = left + cw * cols.length + 12;
  const h = top + ch * rows.length + 12;
  const max = Math.max(0, ...cells.flat().filter((v) => v !== null));
  const withheld = suppressedLabels.flat().filter(Boolean).length;
  const filled = cells.flat().filter((v) => v !== null).length;
  let s = svgOpen(w, h, title, `${rows.length} × ${cols.length}; ${filled} cells with values, ${withheld} withheld; ` +
    rows.map((r, i) => cols.map((c, j) => `${r}, ${c}: ${cells[i]?.[j] == null ? (suppressedLabels[i]?.[j] ?? '—') : (cellTexts[i]?.[j] ?? format(cells[i][j]))}`).join('; ')).join('; '), id) + hatch(id);
  s += `<text x="${left}" y="14" font-size="11" fill="${MUTED}">${esc(colLabel)}</text><text x="4" y="${top - 8}" font-size="11" fill="${MUTED}">${esc(rowLabel)}</text>`;
  cols.forEach((c, j) => {
    s += `<text x="${left + cw * j + cw / 2}" y="${top - 10}" text-anchor="middle" font-size="11" fill="${INK}">${esc(c)}</text>`;
  });
  rows.forEach((r, i) => {
    s += `<text x="${left - 6}" y="${top + ch * i + ch / 2 + 4}" text-anchor="end" font-size="11" fill="${INK}">${esc(r)}</text>`;
    cols.forEach((c, j) => {
      const v = cells[i]?.[j] ?? null;
      const x = left + cw * j;
      const y = top + ch * i;
      const reason = suppressedLabels[i]?.[j];
      if (v === null && reason) {
        s += withheldSlot(id, x, y, cw - 2, ch - 2, reason, `${r}, ${c}: ${suppressedTitles[i]?.[j] ?? reason}`);
      } else if (v === null) {
        s += `<rect class="cell empty" x="${x}" y="${y}" width="${cw - 2}" height="${ch - 2}" fill="#f6f8fa" stroke="${GRID}"/>`;
      } else {
        const { fill, text } = heat(max > 0 ? v / max : 0);
        const shown = cellTexts[i]?.[j] ?? format(v);
        s += `<rect class="cell" data-value="${v}" x="${x}" y="${y}" width="${cw - 2}" height="${ch - 2}" fill="${fill}"><title>${esc(`${r}, ${c}: ${cellTitles[i]?.[j] ?? shown}`)}</title></rect>`;
        s += `<text x="${x + cw / 2 - 1}" y="${y + ch / 2 + 4}" text-anchor="middle" font-size="12" fill="${text}">${esc(shown)}</text>`;
      }
    });
  });
  return `${s}</svg>`;
}

/**
 * Bubble scatter (e.g. k-means centroids on two features): each point at
 * (x, y) with a circle whose area is proportional to `size` (the largest
 * has radius 26), labelled with `label`.
 * @param {{title: string, points: {x: number, y: number, size: number, label: string}[], xLabel?: string, yLabel?: string, format?: (v: number) => string}} o
 */
export function scatterChart({ title, points, xLabel = '', yLabel = '', format = (v) => String(Number(v.toPrecision(4))) }) {
  const id = nextId();
  const w = 560;
  const h = 420;
  const left = 64;
  const right = 40;
  const top = 36;
  const bottom = 56;
  const rMax = 26;
  // Each axis: the values with some room for the bubbles, widened to whole steps of 1, 2 or 5 times a power of ten.
  const axis = (vs) => {
    let lo = vs.length ? Math.min(...vs) : 0;
    let hi = vs.length ? Math.max(...vs) : 1;
    const pad = (hi - lo) * 0.15 || Math.abs(hi) * 0.15 || 1;
    // Quantities that cannot be negative (counts, money, rates) keep a floor of 0.
    lo = lo >= 0 ? Math.max(0, lo - pad) : lo - pad;
    hi += pad;
    const raw = (hi - lo) / 4;
    const p = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * p).find((v) => v >= raw) ?? 10 * p;
    const a = Math.floor(lo / step) * step;
    const b = Math.ceil(hi / step) * step;
    const ticks = [];
    for (let v = a; v <= b + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
    return { a, b, ticks };
  };
  const ax = axis(points.map((p) => p.x));
  const ay = axis(points.map((p) => p.y));
  const [x0, x1, y0, y1] = [ax.a, ax.b, ay.a, ay.b];
  const px = (v) => left + ((v - x0) / (x1 - x0)) * (w - left - right);
  const py = (v) => h - bottom - ((v - y0) / (y1 - y0)) * (h - top - bottom);
  const sMax = Math.max(0, ...points.map((p) => p.size));
  const radius = (size) => (sMax > 0 ? rMax * Math.sqrt(Math.max(0, size) / sMax) : 4);
  let s = svgOpen(w, h, title, points.map((p) => `${p.label}: ${xLabel} ${format(p.x)}, ${yLabel} ${format(p.y)}, ${p.size}`).join('; '), id);
  for (const vx of ax.ticks) {
    s += `<line x1="${px(vx)}" x2="${px(vx)}" y1="${top}" y2="${h - bottom}" stroke="${GRID}"/><text x="${px(vx)}" y="${h - bottom + 16}" text-anchor="middle" font-size="10" fill="${MUTED}">${esc(format(vx))}</text>`;
  }
  for (const vy of ay.ticks) {
    s += `<line x1="${left}" x2="${w - right}" y1="${py(vy)}" y2="${py(vy)}" stroke="${GRID}"/><text x="${left - 6}" y="${py(vy) + 4}" text-anchor="end" font-size="10" fill="${MUTED}">${esc(format(vy))}</text>`;
  }
  const colours = ['#1f5fa8', '#b35900', '#6e40aa', '#a40e26', '#176f2c', '#57606a', '#8a6d00', '#005f73'];
  points.forEach((p, i) => {
    const c = colours[i % colours.length];
    s += `<circle class="point" cx="${px(p.x).toFixed(2)}" cy="${py(p.y).toFixed(2)}" r="${radius(p.size).toFixed(2)}" fill="${c}" fill-opacity="0.45" stroke="${c}" stroke-width="2"><title>${esc(`${p.label}: ${xLabel} ${format(p.x)}, ${yLabel} ${format(p.y)} (${p.size})`)}</title></circle>`;
    s += `<text x="${px(p.x).toFixed(2)}" y="${(py(p.y) + 4).toFixed(2)}" text-anchor="middle" font-size="12" font-weight="600" fill="${INK}">${esc(p.label)}</text>`;
  });
  s += `<text x="${left + (w - left - right) / 2}" y="${h - 14}" text-anchor="middle" font-size="11" fill="${INK}">${esc(xLabel)}</text>`;
  s += `<text x="14" y="${top + (h - top - bottom) / 2}" text-anchor="middle" font-size="11" fill="${INK}" transform="rotate(-90 14 ${top + (h - top - bottom) / 2})">${esc(yLabel)}</text>`;
  return `${s}</svg>`;
}
