/**
 * Reads the document outline (bookmarks) of a PDF that Chromium wrote with
 * `--generate-pdf-document-outline`: each heading's title and the 1-based
 * page it is on. Used to put page numbers into the audit report's contents
 * page from a first rendering.
 *
 * Only what Chromium's PDF writer (Skia) produces is understood: plain
 * `N 0 obj` objects (no object streams), outline items with `/Title` and a
 * `/Dest [page 0 R …]` array, and a page tree of `/Kids`. Anything else
 * gives an empty outline, never an exception, and the contents page then
 * simply has no page numbers.
 *
 * @module
 */

/** One outline item: its title as text and its page (1-based). */
export interface OutlineItem {
  readonly title: string;
  readonly page: number;
}

/** Objects by number: the text between `N 0 obj` and `endobj` (streams cut off). */
function objects(pdf: string): Map<number, string> {
  const out = new Map<number, string>();
  const re = /(?:^|[\r\n])(\d+) 0 obj\b([\s\S]*?)endobj/g;
  for (let m = re.exec(pdf); m !== null; m = re.exec(pdf)) {
    const body = m[2]!;
    const stream = body.indexOf('stream');
    out.set(Number(m[1]), stream >= 0 ? body.slice(0, stream) : body);
  }
  return out;
}

/** A PDF literal string `( … )` body without its parentheses, unescaped, as bytes. */
function literalBytes(body: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(c.charCodeAt(0) & 0xff);
      continue;
    }
    const next = body[++i];
    if (next === undefined) break;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, b: 8, f: 12, '(': 40, ')': 41, '\\': 92 };
    if (next in simple) bytes.push(simple[next]!);
    else if (/[0-7]/.test(next)) {
      let oct = next;
      while (oct.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) oct += body[++i];
      bytes.push(parseInt(oct, 8) & 0xff);
    } else if (next === '\r' || next === '\n') {
      if (next === '\r' && body[i + 1] === '\n') i++;
    } else bytes.push(next.charCodeAt(0) & 0xff);
  }
  return bytes;
}

/** Text of PDF string bytes: UTF-16BE with a byte-order mark, else PDFDocEncoding read as Latin-1. */
function decodeText(bytes: readonly number[]): string {
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.slice(2)).swap16().toString('utf16le');
  return Buffer.from(bytes).toString('latin1');
}

/** The `/Title` of an object body, decoded; null when it has none. */
function titleOf(body: string): string | null {
  const hex = /\/Title\s*<([0-9A-Fa-f\s]*)>/.exec(body);
  if (hex) {
    const digits = hex[1]!.replace(/\s+/g, '');
    const bytes = [];
    for (let i = 0; i < digits.length; i += 2) bytes.push(parseInt(digits.slice(i, i + 2).padEnd(2, '0'), 16));
    return decodeText(bytes);
  }
  const start = body.search(/\/Title\s*\(/);
  if (start < 0) return null;
  let i = body.indexOf('(', start) + 1;
  let depth = 1;
  const from = i;
  for (; i < body.length && depth > 0; i++) {
    if (body[i] === '\\') i++;
    else if (body[i] === '(') depth++;
    else if (body[i] === ')') depth--;
  }
  return decodeText(literalBytes(body.slice(from, i - 1)));
}

const ref = (body: string, key: string): number | null => {
  const m = new RegExp(`/${key}\\s+(\\d+) 0 R`).exec(body);
  return m ? Number(m[1]) : null;
};

/** Page object numbers in document order, from the catalogue's page tree. */
function pageOrder(objs: Map<number, string>): number[] {
  const catalog = [...objs.values()].find((b) => /\/Type\s*\/Catalog\b/.test(b));
  const root = catalog === undefined ? null : ref(catalog, 'Pages');
  const pages: number[] = [];
  const walk = (n: number, depth: number): void => {
    const body = objs.get(n);
    if (body === undefined || depth > 64) return;
    if (/\/Type\s*\/Pages\b/.test(body)) {
      const kids = /\/Kids\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      for (const k of kids.matchAll(/(\d+) 0 R/g)) walk(Number(k[1]), depth + 1);
    } else if (/\/Type\s*\/Page\b/.test(body)) pages.push(n);
  };
  if (root !== null) walk(root, 0);
  return pages;
}

/** The outline items of `pdf` in document order (depth-first), with their pages; [] when there is no outline it can read. */
export function readPdfOutline(pdf: Buffer): OutlineItem[] {
  try {
    const objs = objects(pdf.toString('latin1'));
    const pageIndex = new Map(pageOrder(objs).map((n, i) => [n, i + 1]));
    const catalog = [...objs.values()].find((b) => /\/Type\s*\/Catalog\b/.test(b));
    const outlines = catalog === undefined ? null : ref(catalog, 'Outlines');
    if (outlines === null) return [];
    const items: OutlineItem[] = [];
    const seen = new Set<number>();
    const visit = (first: number | null): void => {
      for (let n = first; n !== null && !seen.has(n); ) {
        seen.add(n);
        const body = objs.get(n);
        if (body === undefined) return;
        const title = titleOf(body);
        const dest = /\/Dest\s*\[\s*(\d+) 0 R/.exec(body);
        const page = dest ? pageIndex.get(Number(dest[1])) : undefined;
        if (title !== null && page !== undefined) items.push({ title, page });
        visit(ref(body, 'First'));
        n = ref(body, 'Next');
      }
    };
    const root = objs.get(outlines);
    visit(root === undefined ? null : ref(root, 'First'));
    return items;
  } catch {
    return [];
  }
}

/**
 * A heading's text with the repeats Chromium's outline writer adds undone:
 * when a heading is laid out twice (moved to the next page to stay with
 * what follows it), its outline title repeats runs of its words
 * (`附录 C 附录 C Appendix C`, `查询 Query 查询 Query q-1 — released — released`).
 * Any run of words directly followed by the same run is kept once.
 */
export function undoubledTitle(title: string): string {
  const words = title.split(/\s+/).filter((w) => w !== '');
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = Math.floor(words.length / 2); k >= 1 && !changed; k--) {
      for (let i = 0; i + 2 * k <= words.length; i++) {
        if (words.slice(i, i + k).join(' ') === words.slice(i + k, i + 2 * k).join(' ')) {
          words.splice(i + k, k);
          changed = true;
          break;
        }
      }
    }
  }
  return words.join(' ');
}

/**
 * The PDF with its outline titles undoubled (see `undoubledTitle`),
 * rewritten in place: a UTF-16 title is shorter once undoubled, so it is
 * written into the same bytes with the rest of its hex string blank (spaces
 * inside a hex string are ignored), and no object moves. Titles that are
 * not hex strings, or would not fit, stay as they are.
 */
export function undoubleOutlineTitles(pdf: Buffer): Buffer {
  const text = pdf.toString('latin1');
  const fixed = text.replace(/\/Title\s*<([0-9A-Fa-f\s]*)>/g, (whole, inner: string) => {
    const digits = inner.replace(/\s+/g, '');
    if (!/^fe?ff/i.test(digits) || digits.length % 4 !== 0) return whole;
    const bytes = Buffer.from(digits, 'hex');
    const title = decodeText([...bytes]);
    const clean = undoubledTitle(title);
    if (clean === title.replace(/\s+/g, ' ').trim()) return whole;
    const hex = 'FEFF' + Buffer.from(clean, 'utf16le').swap16().toString('hex').toUpperCase();
    if (hex.length > inner.length) return whole;
    return whole.slice(0, whole.length - inner.length - 1) + hex + ' '.repeat(inner.length - hex.length) + '>';
  });
  return fixed === text ? pdf : Buffer.from(fixed, 'latin1');
}
