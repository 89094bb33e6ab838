/**
 * The HTML building blocks of the audit report: escaping, Beijing time,
 * table cells that wrap between word parts, tables with fixed column
 * widths, and sections. Every piece of text passes through `escapeHtml`.
 *
 * @module
 */

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup built from escaped parts, put into a cell as is. */
export interface Markup {
  readonly html: string;
}

/** What a table cell may hold. */
export type Cell = string | number | boolean | null | undefined | Markup | readonly (string | number)[];

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const BEIJING_OFFSET_MS = 8 * 3600_000;

/**
 * An ISO-8601 instant as Beijing time (UTC+8, no daylight saving), e.g.
 * `2026-12-07 18:30:05 (北京时间)`; null for anything that is not a full
 * instant (a bare date such as a rights request's day stays as logged).
 */
export function beijingTime(iso: string): string | null {
  if (!ISO_INSTANT.test(iso)) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const local = new Date(ms + BEIJING_OFFSET_MS).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)} (北京时间)`;
}

/** Beijing time for the reader, the logged UTC instant for machines (attribute) and for exact comparison (small second line). */
export function timeMarkup(iso: string): string {
  const local = beijingTime(iso);
  if (local === null) return escapeHtml(iso);
  const utc = escapeHtml(iso);
  return `<time datetime="${utc}" title="${utc}">${escapeHtml(local)}</time><br><span class="utc">UTC ${utc}</span>`;
}

/** Beijing time and the logged UTC instant on one line (long lists such as the log entries). */
export const timeOneLine = (iso: string): Cell => {
  const local = beijingTime(iso);
  if (local === null) return iso;
  const utc = escapeHtml(iso);
  return { html: `<time datetime="${utc}">${escapeHtml(local)}</time> <span class="utc">UTC ${utc}</span>` };
};

/** A time cell (Beijing time with UTC beside it), or an empty cell. */
export const time = (iso: string | null | undefined): Cell => (iso === null || iso === undefined ? null : { html: timeMarkup(iso) });

/** Long hex (digests, keys) and base64 tokens wrap inside their cell instead of widening it. */
const LONG_TOKEN = /^[0-9A-Za-z+/=]{32,}$/;

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_./:-]*$/;

/** Break opportunities after the separators inside identifiers (`order_total`, `fedmart.test/audit`), so cells wrap between word parts, never inside them. */
export function breakable(value: string | number): string {
  const text = String(value);
  if (!IDENTIFIER.test(text)) return escapeHtml(text);
  return text.split(/(?<=[_./:])/).map(escapeHtml).join('<wbr>');
}

/** A list in one cell as running text (`a, b, c`), wrapping between items and identifier parts; "—" when empty. */
export const inlineList = (items: readonly (string | number)[]): Cell => (items.length === 0 ? '—' : { html: items.map(breakable).join(', ') });

/** One `<td>` for a value: lists one item a line, long tokens wrapping anywhere, identifiers between their parts. */
export function cell(value: Cell): string {
  if (value === null || value === undefined) return '<td class="none">—</td>';
  if (Array.isArray(value)) return `<td>${value.length === 0 ? '—' : value.map(breakable).join('<br>')}</td>`;
  if (typeof value === 'boolean') return `<td>${value ? '是 yes' : '否 no'}</td>`;
  if (typeof value === 'object') return `<td>${(value as Markup).html}</td>`;
  if (typeof value === 'string' && LONG_TOKEN.test(value)) return `<td class="mono hex">${escapeHtml(value)}</td>`;
  return `<td>${breakable(value)}</td>`;
}

/** A table; `widths` in percent fix the columns (with `className: 'wide'`, a fixed layout). Empty rows give "none". */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[], options: { readonly widths?: readonly number[]; readonly className?: string } = {}): string {
  if (rows.length === 0) return '<p class="none">无记录 / none</p>';
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  const cols = options.widths ? `<colgroup>${options.widths.map((w) => `<col style="width:${w}%">`).join('')}</colgroup>` : '';
  const cls = options.className ? ` class="${escapeHtml(options.className)}"` : '';
  return `<table${cls}>${cols}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Numbers as ranges: [3, 4, 5, 9] → "3–5, 9" (evidence seqs stay short). */
export function seqRanges(seqs: readonly number[]): string {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!;
    while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i++;
    parts.push(start === sorted[i] ? String(start) : `${start}–${sorted[i]}`);
  }
  return parts.join(', ');
}

/** A report section: its bilingual heading is what the contents page and the PDF outline show. */
export interface SectionHead {
  readonly id: string;
  readonly zh: string;
  readonly en: string;
}

/** The heading text as the PDF outline gives it (`zh en`), which the contents page matches page numbers by. */
export const headText = (h: SectionHead): string => `${h.zh} ${h.en}`;

/** A section whose table needs a wide page is printed on a landscape A4 page; `newPage` starts it on a fresh page. */
export function section(head: SectionHead, body: string, options: { readonly wide?: boolean; readonly newPage?: boolean } = {}): string {
  const classes = [options.wide ? 'wide' : '', options.newPage ? 'new-page' : ''].filter((c) => c !== '').join(' ');
  return `<section id="${escapeHtml(head.id)}"${classes ? ` class="${classes}"` : ''}><h2>${escapeHtml(head.zh)} <span class="en">${escapeHtml(head.en)}</span></h2>\n${body}\n</section>`;
}
