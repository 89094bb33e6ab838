/**
 * Builds a shop's `consents.jsonl` from a plain CSV consent table, one row per
 * consent a customer gave for one purpose (`fedmart merchant consents
 * import`; the format is described in docs/consent-import.md).
 *
 * The table carries what a shop's systems know (customer id, purpose, when
 * consent was given, withdrawn or runs out, the notice version shown, the
 * channel); the rest of a consent record comes from the shop's own files:
 * purposes, recipients and retention from the purpose registry, data
 * categories from the field classification, notice hashes from the notice
 * texts. Pseudonyms are computed here under the shop's key, so nobody builds
 * HMACs by hand.
 *
 * All rows of one customer become one record (the ledger holds one per
 * customer): one purpose entry per purpose, a `given` event per row, a
 * `withdrawn` event per withdrawal, both naming the row's purpose. When every
 * row of the customer has the same `expires_at` (or none) it is the record's
 * `expiresAt`; otherwise each row's expiry is an `expired` event (actor
 * `system`) for its purpose. The record's notice and channel are those of the
 * customer's latest grant.
 *
 * Checking is all-or-nothing: every problem of the table is collected into
 * one {@link ConsentImportError} (file, row, column, what to do) before
 * anything is created, and the output is written to a temporary file and
 * renamed over `consents.jsonl`, so a reader sees the old file or the new
 * one, never half of either.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  CONSENT_CHANNELS,
  ConsentLedger,
  ConsentRecordError,
  parseConsentRecord,
  pseudonymise,
  type ConsentChannel,
  type ConsentEvent,
  type ConsentPurpose,
  type ConsentRecord,
  type FieldClassification,
  type PurposeDefinition,
  type PurposeRegistry,
} from '../compliance/consent.js';
import { loadShopPurposes } from './consent-source.js';
import { CsvParser, ShopDataError } from './csv.js';
import { civilUtcSeconds } from './schema.js';
import { loadShopPseudonymKey, type KeyLocationLogger } from './pseudonym-key.js';

/** Columns every table must have. */
export const CONSENT_IMPORT_REQUIRED_COLUMNS = ['customer_id', 'purpose', 'granted_at', 'notice_version', 'channel'] as const;
/** Columns a table may have; absent means empty in every row. */
export const CONSENT_IMPORT_OPTIONAL_COLUMNS = ['expires_at', 'withdrawn_at', 'explicit', 'separate_consent', 'marketing_opt_out'] as const;
type Column = (typeof CONSENT_IMPORT_REQUIRED_COLUMNS)[number] | (typeof CONSENT_IMPORT_OPTIONAL_COLUMNS)[number];
const COLUMNS: readonly Column[] = [...CONSENT_IMPORT_REQUIRED_COLUMNS, ...CONSENT_IMPORT_OPTIONAL_COLUMNS];

/** Encodings a table may be in. */
export const CONSENT_IMPORT_ENCODINGS = ['utf-8', 'gb18030'] as const;
export type ConsentImportEncoding = (typeof CONSENT_IMPORT_ENCODINGS)[number];

/**
 * Spellings of the channels (compared after trimming, case-insensitively):
 * the record's own values and common Chinese names.
 */
export const CONSENT_CHANNEL_ALIASES: Readonly<Record<string, ConsentChannel>> = {
  app: 'app',
  应用: 'app',
  小程序: 'app',
  web: 'web',
  website: 'web',
  网站: 'web',
  网页: 'web',
  官网: 'web',
  store: 'store',
  'in-store': 'store',
  门店: 'store',
  线下门店: 'store',
  'call-centre': 'call-centre',
  'call-center': 'call-centre',
  phone: 'call-centre',
  客服: 'call-centre',
  客服电话: 'call-centre',
  呼叫中心: 'call-centre',
};

const TRUE = new Set(['true', 'yes', 'y', '1', '是']);
const FALSE = new Set(['false', 'no', 'n', '0', '否']);

/** Longest customer id (as the consent loader accepts). */
const MAX_CUSTOMER_ID = 256;
/** Most events one record may hold (consentRecordSchema). */
const MAX_EVENTS = 10_000;

/** One thing wrong with the table. */
export interface ConsentImportProblem {
  /** 1-based data row (the first row after the header is 1); 0 is the header; absent for the whole file. */
  readonly row?: number | undefined;
  /** 1-based physical line the row starts on. */
  readonly line?: number | undefined;
  readonly column?: string | undefined;
  /** What is wrong and what to do about it. */
  readonly detail: string;
}

/** Formats one problem as `FILE row 3 (line 4), column granted_at: detail`. */
export function formatConsentImportProblem(file: string, p: ConsentImportProblem): string {
  let where = file;
  if (p.row !== undefined) where += p.row === 0 ? ' header' : ` row ${p.row}`;
  if (p.line !== undefined) where += ` (line ${p.line})`;
  if (p.column !== undefined) where += `${p.row !== undefined ? ',' : ''} column ${p.column}`;
  return `${where}: ${p.detail.replace(/[\r\n]+/g, ' ')}`;
}

/** The table has problems; nothing was written. `lines()` is the report, one line per problem. */
export class ConsentImportError extends Error {
  override readonly name = 'ConsentImportError';
  readonly code = 'CONSENT_IMPORT_INVALID';
  readonly file: string;
  readonly problems: readonly ConsentImportProblem[];

  constructor(file: string, problems: readonly ConsentImportProblem[]) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing written`);
    this.file = file;
    this.problems = problems;
  }

  /** One line per problem, in row order. */
  lines(): string[] {
    return this.problems.map((p) => formatConsentImportProblem(this.file, p));
  }
}

// ---------------------------------------------------------------------------
// Decoding

/** Hex SHA-256 of a notice text, byte for byte as stored: the `notice.hash` of records. */
export function noticeHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const lineAt = (text: string, index: number): number => {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
};

/**
 * The text of a table in `encoding`. Invalid bytes are a
 * {@link ConsentImportError} naming the line of the first one, not U+FFFD.
 */
export function decodeConsentTable(bytes: Uint8Array, encoding: ConsentImportEncoding, file: string): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes: expected a Uint8Array');
  if (!(CONSENT_IMPORT_ENCODINGS as readonly string[]).includes(encoding)) throw new RangeError(`encoding: expected one of ${CONSENT_IMPORT_ENCODINGS.join(', ')}`);
  if (encoding === 'gb18030' && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new ConsentImportError(file, [{ line: 1, detail: 'the file starts with a UTF-8 byte-order mark, so it is UTF-8, not GB18030: import it without --encoding gb18030' }]);
  }
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    const loose = new TextDecoder(encoding).decode(bytes);
    const line = lineAt(loose, Math.max(0, loose.indexOf('\uFFFD')));
    const detail =
      encoding === 'utf-8'
        ? 'the file is not valid UTF-8; a table saved by Excel or WPS on Chinese Windows is usually GB18030/GBK: import it with --encoding gb18030, or save it as "CSV UTF-8"'
        : 'the file is not valid GB18030/GBK: save it again as CSV, or as "CSV UTF-8" and import it without --encoding';
    throw new ConsentImportError(file, [{ line, detail }]);
  }
}

// ---------------------------------------------------------------------------
// Cells

type Cell<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };
const ok = <T>(value: T): Cell<T> => ({ ok: true, value });
const bad = (problem: string): Cell<never> => ({ ok: false, problem });

function clip(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  return oneLine.length > 40 ? `${oneLine.slice(0, 37)}...` : oneLine;
}

const TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$/;
const TIME_EXAMPLE = '2025-03-04T05:06:07Z, or local time with its offset like 2025-03-04T13:06:07+08:00';

/**
 * A consent time as Unix seconds: `YYYY-MM-DDTHH:MM:SS` (a space for the `T`
 * is accepted) with `Z` or an offset `±HH:MM`, whole seconds, a real date.
 */
export function readConsentTime(text: string): Cell<number> {
  const t = text.trim();
  const m = TIME.exec(t);
  if (m === null) return bad(`'${clip(t)}' is not a time: write it like ${TIME_EXAMPLE}`);
  const zone = m[7];
  if (zone === undefined) return bad(`'${clip(t)}' has no time zone: add Z for UTC or the offset, like ${TIME_EXAMPLE}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const localSeconds = civilUtcSeconds(y, mo, d, h, mi, s);
  if (localSeconds === undefined || y < 1970) {
    return bad(`'${clip(t)}' is not a valid date and time (after 1970): check the day, month and hour`);
  }
  let offsetMin = 0;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 14 || om > 59) return bad(`'${clip(t)}' has an impossible offset ${zone}: offsets run from -14:00 to +14:00`);
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return ok(localSeconds - offsetMin * 60);
}

/** Unix seconds as the records write times: `2025-03-04T05:06:07Z`. */
export function isoSecondsUtc(unixS: number): string {
  return new Date(unixS * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

function readFlag(text: string, fallback: boolean): Cell<boolean> {
  const t = text.trim().toLowerCase();
  if (t === '') return ok(fallback);
  if (TRUE.has(t)) return ok(true);
  if (FALSE.has(t)) return ok(false);
  return bad(`'${clip(text)}' is not yes or no: write true or false (yes/no, 1/0, 是/否 also work), or leave it empty for ${fallback}`);
}

function readChannel(text: string): Cell<ConsentChannel> {
  const t = text.trim();
  const v = CONSENT_CHANNEL_ALIASES[t.toLowerCase()];
  if (v !== undefined && Object.hasOwn(CONSENT_CHANNEL_ALIASES, t.toLowerCase())) return ok(v);
  return bad(`'${clip(t)}' is not a consent channel: use one of ${CONSENT_CHANNELS.join(', ')} (or 门店, 网站, 客服, 应用, ...; see docs/consent-import.md)`);
}

// ---------------------------------------------------------------------------
// The table

/** What {@link readConsentTable} needs besides the text. */
export interface ConsentTableOptions {
  /** File name in problems (default `consents.csv`). */
  readonly file?: string;
  /** The shop's purposes (`purposes.json`, or the built-in ones). */
  readonly registry: PurposeRegistry;
  /** The shop's field classification (`fields.json`, or the built-in one): gives the data categories. */
  readonly classification: FieldClassification;
  /** The personal-information processor named in every record (the shop's legal entity). */
  readonly controller: string;
  /** Id of the shop's privacy notice (default `privacy-notice`). */
  readonly noticeId?: string;
  /** Notice version → hex SHA-256 of its text ({@link noticeHash}). */
  readonly notices: ReadonlyMap<string, string>;
}

/** One valid row. */
export interface ConsentTableRow {
  readonly row: number;
  readonly line: number;
  readonly customerId: string;
  readonly purpose: string;
  readonly grantedAt: number;
  readonly expiresAt: number | undefined;
  readonly withdrawnAt: number | undefined;
  readonly noticeVersion: string;
  readonly channel: ConsentChannel;
  readonly explicit: boolean;
  readonly separateConsent: boolean;
  readonly marketingOptOut: boolean;
}

/** A customer's record before it is keyed: everything but record id and pseudonym. */
export type ConsentDraft = Omit<ConsentRecord, 'recordId' | 'subjectPseudonym'>;

/** A checked table: one draft per customer, in order of first appearance. */
export interface ConsentTable {
  readonly file: string;
  /** Data rows read (rows that are entirely empty are skipped and not counted). */
  readonly rows: number;
  readonly drafts: ReadonlyArray<{ readonly customerId: string; readonly draft: ConsentDraft }>;
}

const ID_STRING = /^[\x21-\x3f\x41-\x7e]{1,128}$/;
const DEFAULT_NOTICE_ID = 'privacy-notice';

function checkTableOptions(o: ConsentTableOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options: expected an object');
  if (typeof o.controller !== 'string' || o.controller.trim() === '' || o.controller.length > 256) throw new RangeError('controller: expected the shop\'s legal entity name (1–256 characters)');
  if (o.noticeId !== undefined && !ID_STRING.test(o.noticeId)) throw new RangeError('noticeId: expected printable ASCII without spaces or @ (1–128 characters)');
  if (!(o.notices instanceof Map)) throw new TypeError('notices: expected a Map of notice version to hash');
  for (const [version, hash] of o.notices) {
    if (!ID_STRING.test(version)) throw new RangeError(`notice version '${version}': expected printable ASCII without spaces or @ (1–128 characters)`);
    if (!/^(?:[0-9a-f]{2}){16,64}$/.test(hash)) throw new RangeError(`notice version '${version}': expected a lower-case hex hash`);
  }
}

/**
 * The tables a purpose's allowed fields come from that are about customers
 * (they have a `customer_id` field in the classification), and the
 * categories and classes of those fields.
 */
function purposeEntry(def: PurposeDefinition, classification: FieldClassification, separate: boolean): ConsentPurpose {
  const customerTables = new Set(classification.fields.filter((f) => f.field.endsWith('.customer_id')).map((f) => f.field.split('.')[0]));
  const entries = def.allowedFields
    .map((name) => classification.fields.find((f) => f.field === name))
    .filter((e): e is NonNullable<typeof e> => e !== undefined && customerTables.has(e.field.split('.')[0]));
  return {
    purpose: def.name,
    legalBasis: separate ? 'separate-consent' : 'consent',
    dataCategories: [...new Set(entries.map((e) => e.category))].sort(),
    sensitive: def.sensitiveAllowed || entries.some((e) => e.class === 'sensitive'),
    recipients: [...def.recipients],
    retentionDays: def.retentionDays,
  };
}

/**
 * Checks a decoded table and groups its rows into one draft record per
 * customer. Throws {@link ConsentImportError} with every problem found.
 */
export function readConsentTable(text: string, options: ConsentTableOptions): ConsentTable {
  if (typeof text !== 'string') throw new TypeError('text: expected a string');
  checkTableOptions(options);
  const file = options.file ?? 'consents.csv';
  const problems: ConsentImportProblem[] = [];
  const parser = new CsvParser({ file, fieldCount: 'any' });
  let records;
  try {
    records = parser.push(text);
    records.push(...parser.end());
  } catch (err) {
    if (err instanceof ShopDataError) {
      throw new ConsentImportError(file, [{ row: err.row, line: err.line, detail: `${err.detail}; rows after it cannot be read reliably, so fix this first` }]);
    }
    throw err;
  }
  const header = records.shift();
  if (header === undefined || header.fields.every((f) => f.trim() === '')) {
    throw new ConsentImportError(file, [{ row: 0, line: 1, detail: `the file has no header: the first line must name the columns (${CONSENT_IMPORT_REQUIRED_COLUMNS.join(', ')}, ...)` }]);
  }

  // Header.
  const position = new Map<Column, number>();
  header.fields.forEach((raw, i) => {
    const name = raw.trim().toLowerCase();
    if (!(COLUMNS as readonly string[]).includes(name)) {
      problems.push({ row: 0, line: header.line, column: raw, detail: `unknown column: remove it or rename it to one of ${COLUMNS.join(', ')}` });
    } else if (position.has(name as Column)) {
      problems.push({ row: 0, line: header.line, column: raw, detail: 'the column appears twice: keep one' });
    } else {
      position.set(name as Column, i);
    }
  });
  for (const c of CONSENT_IMPORT_REQUIRED_COLUMNS) {
    if (!position.has(c)) problems.push({ row: 0, line: header.line, column: c, detail: 'this required column is missing from the header: add it' });
  }

  const registry = new Map(options.registry.purposes.map((p) => [p.name, p]));
  const purposeNames = [...registry.keys()].join(', ');
  const rows: ConsentTableRow[] = [];
  let dataRows = 0;
  for (const rec of records) {
    if (rec.fields.every((f) => f.trim() === '')) continue;
    dataRows++;
    const at = { row: rec.row, line: rec.line };
    if (rec.fields.length !== header.fields.length) {
      problems.push({
        ...at,
        detail: `expected ${header.fields.length} fields as in the header, found ${rec.fields.length}: a missing comma, or a value with a comma that is not in double quotes`,
      });
      continue;
    }
    const cell = (c: Column): string | undefined => {
      const i = position.get(c);
      return i === undefined ? undefined : rec.fields[i];
    };
    let rowOk = true;
    const take = <T>(column: Column, r: Cell<T>): T | undefined => {
      if (r.ok) return r.value;
      problems.push({ ...at, column, detail: r.problem });
      rowOk = false;
      return undefined;
    };
    const required = <T>(column: Column, read: (t: string) => Cell<T>): T | undefined => {
      const t = cell(column);
      if (t === undefined) {
        rowOk = false; // reported once, in the header
        return undefined;
      }
      if (t.trim() === '') return take(column, bad('the value is empty: every row needs it'));
      return take(column, read(t));
    };
    const optionalTime = (column: Column): number | undefined => {
      const t = cell(column);
      return t === undefined || t.trim() === '' ? undefined : take(column, readConsentTime(t));
    };

    const customerId = required('customer_id', (t) =>
      t.length > MAX_CUSTOMER_ID
        ? bad(`the customer id is longer than ${MAX_CUSTOMER_ID} characters`)
        : t !== t.trim()
          ? bad('the customer id starts or ends with spaces: ids are taken exactly as written, so write it as in customers.csv')
          : ok(t),
    );
    const purpose = required('purpose', (t) => {
      const name = t.trim();
      return registry.has(name) ? ok(name) : bad(`'${clip(name)}' is not a registered purpose (purposes.json, or the built-in ones): use one of ${purposeNames}`);
    });
    const grantedAt = required('granted_at', readConsentTime);
    const expiresAt = optionalTime('expires_at');
    const withdrawnAt = optionalTime('withdrawn_at');
    const noticeVersion = required('notice_version', (t) => {
      const v = t.trim();
      return options.notices.has(v) ? ok(v) : bad(`notice version '${clip(v)}' has no notice text: pass --notice-file ${ID_STRING.test(v) ? v : 'VERSION'}=PATH with the text shown to customers`);
    });
    const channel = required('channel', readChannel);
    const explicit = take('explicit', readFlag(cell('explicit') ?? '', true));
    const separateConsent = take('separate_consent', readFlag(cell('separate_consent') ?? '', false));
    const marketingOptOut = take('marketing_opt_out', readFlag(cell('marketing_opt_out') ?? '', false));
    if (grantedAt !== undefined && expiresAt !== undefined && expiresAt <= grantedAt) {
      problems.push({ ...at, column: 'expires_at', detail: 'the consent expires at or before it was granted: expires_at must be after granted_at' });
      rowOk = false;
    }
    if (grantedAt !== undefined && withdrawnAt !== undefined && withdrawnAt < grantedAt) {
      problems.push({ ...at, column: 'withdrawn_at', detail: 'the consent is withdrawn before it was granted: withdrawn_at must not be before granted_at' });
      rowOk = false;
    }
    if (!rowOk) continue;
    rows.push({
      ...at,
      customerId: customerId as string,
      purpose: purpose as string,
      grantedAt: grantedAt as number,
      expiresAt,
      withdrawnAt,
      noticeVersion: noticeVersion as string,
      channel: channel as ConsentChannel,
      explicit: explicit as boolean,
      separateConsent: separateConsent as boolean,
      marketingOptOut: marketingOptOut as boolean,
    });
  }
  if (dataRows === 0 && problems.length === 0) problems.push({ row: 0, line: header.line, detail: 'the table has a header but no rows: nothing to import' });

  // Customers.
  const byCustomer = new Map<string, ConsentTableRow[]>();
  for (const r of rows) {
    const list = byCustomer.get(r.customerId);
    if (list === undefined) byCustomer.set(r.customerId, [r]);
    else list.push(r);
  }
  const drafts: Array<{ customerId: string; draft: ConsentDraft }> = [];
  for (const [customerId, list] of byCustomer) {
    const first = list[0] as ConsentTableRow;
    let consistent = true;
    for (const r of list.slice(1)) {
      for (const [column, key] of [['explicit', 'explicit'], ['marketing_opt_out', 'marketingOptOut']] as const) {
        if (r[key] !== first[key]) {
          problems.push({
            row: r.row,
            line: r.line,
            column,
            detail: `differs from row ${first.row} of the same customer: a customer has one consent record, so give every row of the customer the same ${column}`,
          });
          consistent = false;
        }
      }
    }
    // Periods of the same purpose must follow one another.
    const byTime = [...list].sort((a, b) => a.grantedAt - b.grantedAt || a.row - b.row);
    const lastOfPurpose = new Map<string, ConsentTableRow>();
    for (const r of byTime) {
      const prev = lastOfPurpose.get(r.purpose);
      if (prev !== undefined) {
        const ends = [prev.withdrawnAt, prev.expiresAt].filter((t): t is number => t !== undefined);
        const end = ends.length === 0 ? undefined : Math.min(...ends);
        if (end === undefined || end > r.grantedAt) {
          problems.push({
            row: r.row,
            line: r.line,
            column: 'granted_at',
            detail: `row ${prev.row} gives the same customer the same purpose and is still in force at this time: give row ${prev.row} a withdrawn_at or expires_at no later than this granted_at, or drop one of the two rows`,
          });
          consistent = false;
        }
      }
      lastOfPurpose.set(r.purpose, r);
    }
    if (!consistent) continue;

    const latest = byTime[byTime.length - 1] as ConsentTableRow;
    const expiries = new Set(list.map((r) => r.expiresAt));
    const sharedExpiry = expiries.size === 1 ? list[0]?.expiresAt : undefined;
    const timed: Array<{ t: number; order: number; event: ConsentEvent }> = [];
    let order = 0;
    for (const r of byTime) {
      const purposes = [r.purpose];
      timed.push({ t: r.grantedAt, order: order++, event: { type: 'given', at: isoSecondsUtc(r.grantedAt), actor: 'subject', purposes } });
      if (r.withdrawnAt !== undefined) timed.push({ t: r.withdrawnAt, order: order++, event: { type: 'withdrawn', at: isoSecondsUtc(r.withdrawnAt), actor: 'subject', purposes } });
      if (expiries.size > 1 && r.expiresAt !== undefined) {
        timed.push({ t: r.expiresAt, order: order++, event: { type: 'expired', at: isoSecondsUtc(r.expiresAt), actor: 'system', purposes } });
      }
    }
    timed.sort((a, b) => a.t - b.t || a.order - b.order);
    if (timed.length > MAX_EVENTS) {
      problems.push({ row: first.row, line: first.line, column: 'customer_id', detail: `this customer's rows make ${timed.length} events, more than the ${MAX_EVENTS} a record holds: drop old, superseded rows` });
      continue;
    }
    // One purpose entry per purpose, from its latest row.
    const latestOfPurpose = [...lastOfPurpose.values()];
    const purposeOrder = [...new Set(list.map((r) => r.purpose))];
    const draft: ConsentDraft = {
      controller: options.controller,
      notice: { id: options.noticeId ?? DEFAULT_NOTICE_ID, version: latest.noticeVersion, hash: options.notices.get(latest.noticeVersion) as string },
      purposes: purposeOrder.map((name) =>
        purposeEntry(registry.get(name) as PurposeDefinition, options.classification, (latestOfPurpose.find((r) => r.purpose === name) as ConsentTableRow).separateConsent),
      ),
      channel: latest.channel,
      explicit: first.explicit,
      separateConsent: list.some((r) => r.separateConsent),
      personalisedMarketingOptOut: first.marketingOptOut,
      events: timed.map((e) => e.event),
      ...(sharedExpiry === undefined ? {} : { expiresAt: isoSecondsUtc(sharedExpiry) }),
    };
    try {
      parseConsentRecord({ recordId: 'CR-check', subjectPseudonym: '00'.repeat(32), ...draft });
    } catch (err) {
      if (!(err instanceof ConsentRecordError)) throw err;
      problems.push({ row: first.row, line: first.line, detail: `the consent record built from this customer's rows is not valid (${err.message}): check the customer's rows` });
      continue;
    }
    drafts.push({ customerId, draft });
  }

  if (problems.length > 0) {
    // Problems of one row in the order of the columns in the file.
    const columnIndex = (c: string | undefined): number => {
      if (c === undefined) return -1;
      const i = position.get(c as Column) ?? header.fields.indexOf(c);
      return i >= 0 ? i : header.fields.length + COLUMNS.indexOf(c as Column); // a missing column after those present
    };
    const sorted = problems
      .map((p, i) => ({ p, i }))
      .sort((a, b) => (a.p.row ?? -1) - (b.p.row ?? -1) || columnIndex(a.p.column) - columnIndex(b.p.column) || a.i - b.i)
      .map((x) => x.p);
    throw new ConsentImportError(file, sorted);
  }
  return { file, rows: dataRows, drafts };
}

/** Record id of a customer's imported record: stable across imports under the same key. */
export function importedRecordId(subjectPseudonym: string): string {
  return `CR-${subjectPseudonym.slice(0, 32)}`;
}

/** The records of a checked table under the shop's key, validated, in table order. */
export function keyConsentTable(table: ConsentTable, pseudonymKey: Uint8Array): Array<{ customerId: string; record: ConsentRecord }> {
  const out = table.drafts.map(({ customerId, draft }) => {
    const subjectPseudonym = pseudonymise(customerId, pseudonymKey);
    return { customerId, record: parseConsentRecord({ recordId: importedRecordId(subjectPseudonym), subjectPseudonym, ...draft }) };
  });
  // The ledger refuses duplicate ids and pseudonyms; build one as the loader will.
  new ConsentLedger(out.map((e) => [e.customerId, e.record] as const));
  return out;
}

/** `consents.jsonl` text: one record per line with the customer id first, as `loadConsentLedger` reads it. */
export function formatConsentsJsonl(entries: ReadonlyArray<{ readonly customerId: string; readonly record: ConsentRecord }>): string {
  return entries.map(({ customerId, record }) => `${JSON.stringify({ customerId, ...record })}\n`).join('');
}

/**
 * Writes `text` to `path` atomically: a temporary file in the same folder
 * (mode 0600: the file links customer ids to pseudonyms), flushed, renamed
 * over `path`, and the folder flushed.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  if (dir !== undefined) {
    try {
      await dir.sync();
    } catch {
      // Some file systems cannot flush a folder; the rename itself is atomic.
    } finally {
      await dir.close();
    }
  }
}

/** Options of {@link importConsentCsv}. */
export interface ConsentImportOptions {
  /** The CSV table. */
  readonly csvPath: string;
  /** The shop's export folder: `consents.jsonl` is written here; `purposes.json` and `fields.json` are read from here. */
  readonly dataDir: string;
  /** The node's state folder holding `pseudonym.key` (default `DATA/.fedmart-state`). */
  readonly stateDir?: string | undefined;
  readonly encoding?: ConsentImportEncoding | undefined;
  readonly controller: string;
  readonly noticeId?: string | undefined;
  /** Notice version → hex SHA-256 of its text. */
  readonly notices: ReadonlyMap<string, string>;
  /** File name shown in problems (default: the CSV path). */
  readonly file?: string | undefined;
  readonly logger?: KeyLocationLogger | undefined;
}

/** What {@link importConsentCsv} did. */
export interface ConsentImportResult {
  /** The `consents.jsonl` written. */
  readonly path: string;
  readonly rows: number;
  readonly customers: number;
  /** The pseudonym key file used. */
  readonly keyPath: string;
  readonly keyCreated: boolean;
  /** The key came from the export folder, its old place. */
  readonly legacyKey: boolean;
}

/**
 * Reads, checks and imports a consent table into `DATA/consents.jsonl`.
 * Every problem of the table is reported in one {@link ConsentImportError},
 * and then nothing is written, the pseudonym key included.
 */
export async function importConsentCsv(options: ConsentImportOptions): Promise<ConsentImportResult> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const { csvPath, dataDir } = options;
  if (typeof csvPath !== 'string' || csvPath === '') throw new TypeError('csvPath: expected a file path');
  if (typeof dataDir !== 'string' || dataDir === '') throw new TypeError('dataDir: expected a folder path');
  const file = options.file ?? csvPath;
  const dirStat = await stat(dataDir).catch(() => undefined);
  if (dirStat === undefined || !dirStat.isDirectory()) throw new Error(`${dataDir} is not a folder: --data names the shop's export folder`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(csvPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConsentImportError(file, [{ detail: 'the file does not exist' }]);
    throw err;
  }
  const text = decodeConsentTable(bytes, options.encoding ?? 'utf-8', file);
  const { registry, classification } = await loadShopPurposes(dataDir);
  const table = readConsentTable(text, {
    file,
    registry,
    classification,
    controller: options.controller,
    notices: options.notices,
    ...(options.noticeId === undefined ? {} : { noticeId: options.noticeId }),
  });
  const key = await loadShopPseudonymKey(dataDir, { stateDir: options.stateDir, logger: options.logger });
  const entries = keyConsentTable(table, key.key);
  const path = join(dataDir, 'consents.jsonl');
  await writeFileAtomic(path, formatConsentsJsonl(entries));
  return { path, rows: table.rows, customers: entries.length, keyPath: key.path, keyCreated: key.created, legacyKey: key.legacy };
}
