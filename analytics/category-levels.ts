/**
 * `category-levels`: the levels of a categorical column that shops declare
 * without levels (`{ "type": "categorical" }`), revealed only where a level
 * holds at least k subjects pooled over all shops. Formula models need the
 * levels in their spec (`levels: { brand: [...] }`); an analyst who does not
 * know them asks this query first.
 *
 * No shop knows the other shops' levels, so they cannot agree on a list of
 * cells. Instead every level goes to a bucket b = H(salt, level) mod
 * `buckets`, H from SHA-256 under a domain-separation prefix: the same level
 * lands in the same bucket at every shop without anything being shared. Per
 * bucket a shop sends the subjects c holding the bucket's level, the level's
 * UTF-8 bytes as 8 chunks of 8 bytes each multiplied by c, the byte length
 * times c and a 32-bit check value of the level times c. Every field is
 * c × (a value of the level), so after the coordinator adds the shops a
 * bucket holding exactly one level decodes exactly: chunk_i = Σ / Σc. A
 * bucket holding two or more levels gives weighted averages, which fail the
 * divisibility, UTF-8, bucket-index or check tests (a false decode needs a
 * 32-bit check collision on top of a bucket match).
 *
 * Disclosure: one cell per bucket, its subjects the count, so the key
 * holder withholds a bucket of fewer than k subjects like any small cell.
 * A mixed bucket must be withheld by the key holder too, *before* release
 * ({@link categoryLevelsQuery}'s `cellIntegrity`): released, a bucket of a
 * large level and a small one would give the small one by subtraction once
 * the large level is known from another salt. A further cell `all` holds the
 * sum of all bucket subjects, and the buckets under it are declared as a
 * margin, so secondary suppression never leaves one small bucket derivable.
 *
 * Subjects are distinct consented customers (`customers`, `orders`) or rows
 * (a shop-level table, which holds no customers). Levels are compared as
 * exact text; an empty text is a missing value, as in the shops' CSV files.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { QuerySpecError } from './errors.js';
import { featureRowScope } from './features.js';
import { asOfSchema, asOfUnixS, DEFAULT_MAX_ROWS, purposeSchema } from './model-spec.js';
import type { CellMargin, CellSpec, FieldSpec, QueryDefinition, ReleasedTotals } from './query-definition.js';
import { assertWithinBounds } from './query-definition.js';
import { ROW_CONTENT_FIELDS, type RowScope } from './row-scope.js';
import type { ColumnValue, ShopData } from './shop-data.js';
import { parseWith } from './spec-parse.js';
import { atLeast, atMost, equals, firstBroken, totalOf, type RelationCheck } from './input-relations.js';
import { AS_OF, purposeMember, type KindGuideBody } from './kind-guide-types.js';

/** Query kind string, also the `kind` member of the spec JSON. */
export const CATEGORY_LEVELS_KIND = 'category-levels';
/** Buckets when the spec names none: 256 buckets fit one ciphertext of the default parameter set. */
export const DEFAULT_LEVEL_BUCKETS = 256;
/** Most buckets a spec may ask for (4 ciphertexts per shop). */
export const MAX_LEVEL_BUCKETS = 1024;
/** Longest level, in UTF-8 bytes, a bucket can carry. */
export const MAX_LEVEL_BYTES = 64;
/** Bytes per name chunk: 8, so a chunk times a count stays three 32-bit limbs. */
export const LEVEL_CHUNK_BYTES = 8;
/** Name chunks per bucket. */
export const LEVEL_CHUNKS = MAX_LEVEL_BYTES / LEVEL_CHUNK_BYTES;
/** Subjects (customers or rows) of one shop, the bound every field is a multiple of. */
export const LEVEL_MAX_SUBJECTS = DEFAULT_MAX_ROWS;
/** Largest salt (32 bits). */
export const MAX_LEVEL_SALT = 0xffff_ffff;

/** The prefix that keeps these digests apart from every other SHA-256 use of a level's text. */
const DOMAIN = 'fedmart/category-levels/v1\u0000';
const CHUNK_MAX = (1n << BigInt(8 * LEVEL_CHUNK_BYTES)) - 1n;
const CHECK_MAX = 0xffff_ffffn;
/** Shop tables whose names would make `<data>.<variable>` a built-in field. */
const BUILT_IN_TABLES = new Set(['customer', 'order', 'session', 'campaign', 'shop_metrics']);
const NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Parsed, normalised `category-levels` spec. */
export interface CategoryLevelsSpec {
  readonly kind: typeof CATEGORY_LEVELS_KIND;
  readonly purpose: string;
  /** `customers`, `orders` or a shop-level table. */
  readonly data: string;
  /** The column whose levels are counted. */
  readonly variable: string;
  /** Orders before it are read (customers and orders only). */
  readonly asOf?: string;
  /** The further table holds customers' rows (its schema declares customerId): subjects are its customers. */
  readonly customerRows?: true;
  readonly buckets: number;
  /** Changes every level's bucket: rerun with another salt when levels collide. */
  readonly salt: number;
}

const specSchema = z.strictObject({
  kind: z.literal(CATEGORY_LEVELS_KIND),
  purpose: purposeSchema,
  data: z.string().regex(NAME, 'expected customers, orders or a table name like store_week'),
  variable: z.string().regex(NAME, 'expected a column name like brand'),
  asOf: asOfSchema.optional(),
  customerRows: z.boolean().optional(),
  buckets: z.number().int().min(2).max(MAX_LEVEL_BUCKETS).optional(),
  salt: z.number().int().min(0).max(MAX_LEVEL_SALT).optional(),
});

/** Whether rows of `data` belong to customers (and so carry asOf and consent). */
const isCustomerData = (data: string): boolean => data === 'customers' || data === 'orders';

/**
 * Validates untrusted spec JSON and fills in defaults; throws
 * QuerySpecError naming the path.
 */
export function parseCategoryLevelsSpec(json: unknown): CategoryLevelsSpec {
  const raw = parseWith(specSchema, json);
  if (BUILT_IN_TABLES.has(raw.data)) throw new QuerySpecError('data', `expected customers, orders or a table the shops declare, not ${raw.data}`);
  if (isCustomerData(raw.data) && raw.asOf === undefined) throw new QuerySpecError('asOf', `${raw.data} need asOf (the instant the levels are counted at)`);
  if (!isCustomerData(raw.data) && raw.asOf !== undefined) throw new QuerySpecError('asOf', `rows of ${raw.data} have no time cut; leave asOf out`);
  if (isCustomerData(raw.data) && raw.customerRows === true) throw new QuerySpecError('customerRows', `${raw.data} are not a further table; leave customerRows out`);
  const spec: CategoryLevelsSpec = {
    kind: CATEGORY_LEVELS_KIND,
    purpose: raw.purpose,
    data: raw.data,
    variable: raw.variable,
    ...(raw.asOf === undefined ? {} : { asOf: raw.asOf }),
    ...(raw.customerRows === true ? { customerRows: true as const } : {}),
    buckets: raw.buckets ?? DEFAULT_LEVEL_BUCKETS,
    salt: raw.salt ?? 0,
  };
  if (ROW_CONTENT_FIELDS.includes(levelField(spec))) {
    throw new QuerySpecError('variable', `${levelField(spec)} is a built-in column whose levels are fixed; name a column the shops declare`);
  }
  return spec;
}

/** The shop field the query counts the levels of (`customer.brand`, `order.channel`, `store_week.brand`). */
export function levelField(spec: Pick<CategoryLevelsSpec, 'data' | 'variable'>): string {
  const table = spec.data === 'customers' ? 'customer' : spec.data === 'orders' ? 'order' : spec.data;
  return `${table}.${spec.variable}`;
}

/** SHA-256 of the domain prefix, the salt (4 bytes, big-endian) and the level's bytes. */
function levelDigest(salt: number, bytes: Uint8Array): Buffer {
  const s = Buffer.alloc(4);
  s.writeUInt32BE(salt);
  return createHash('sha256').update(DOMAIN, 'utf8').update(s).update(bytes).digest();
}

/** Where a level goes and its check value, agreed by every shop from the spec alone. */
export interface LevelCode {
  readonly bucket: number;
  /** A 32-bit value of the level, independent of the bucket (other digest bytes). */
  readonly check: bigint;
  /** The UTF-8 bytes as {@link LEVEL_CHUNKS} big-endian integers, zero-padded. */
  readonly chunks: readonly bigint[];
  readonly byteLength: number;
}

/**
 * The code of one level's UTF-8 bytes. Throws RangeError when there are
 * none or more than {@link MAX_LEVEL_BYTES} (never quoting them: a level may
 * be personal).
 */
export function levelCode(bytes: Uint8Array, salt: number, buckets: number): LevelCode {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes: expected a Uint8Array');
  if (bytes.length === 0 || bytes.length > MAX_LEVEL_BYTES) throw new RangeError(`bytes: a level takes 1 to ${MAX_LEVEL_BYTES} bytes of UTF-8, got ${bytes.length}`);
  if (!Number.isSafeInteger(salt) || salt < 0 || salt > MAX_LEVEL_SALT) throw new RangeError(`salt: expected an integer from 0 to ${MAX_LEVEL_SALT}`);
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > MAX_LEVEL_BUCKETS) throw new RangeError(`buckets: expected an integer from 1 to ${MAX_LEVEL_BUCKETS}`);
  const d = levelDigest(salt, bytes);
  const padded = new Uint8Array(MAX_LEVEL_BYTES);
  padded.set(bytes);
  const view = Buffer.from(padded.buffer, padded.byteOffset, padded.byteLength);
  return {
    bucket: Number(d.readBigUInt64BE(0) % BigInt(buckets)),
    check: BigInt(d.readUInt32BE(8)),
    chunks: Array.from({ length: LEVEL_CHUNKS }, (_, i) => view.readBigUInt64BE(i * LEVEL_CHUNK_BYTES)),
    byteLength: bytes.length,
  };
}

/** The bucket `level` goes to under `salt` (for analysts choosing a salt, and tests). */
export function levelBucket(level: string, salt: number, buckets: number): number {
  if (typeof level !== 'string') throw new TypeError('level: expected a string');
  return levelCode(new TextEncoder().encode(level), salt, buckets).bucket;
}

/** Field names of bucket b, in layout order. */
function bucketFieldNames(b: number): { subjects: string; chunks: string[]; bytes: string; check: string } {
  return {
    subjects: `bucket.${b}.subjects`,
    chunks: Array.from({ length: LEVEL_CHUNKS }, (_, i) => `bucket.${b}.name.${i}`),
    bytes: `bucket.${b}.bytes`,
    check: `bucket.${b}.check`,
  };
}

/**
 * Fields: per bucket its subjects, the name chunks, the byte length and the
 * check, each times the subjects; then `all.subjects`. The bounds are a
 * shop's subjects times the largest value (limbs of crypto/fixed-point.ts:
 * a chunk field takes three 32-bit limbs, 28 slots a bucket).
 */
export function categoryLevelsFields(spec: CategoryLevelsSpec): readonly FieldSpec[] {
  const m = LEVEL_MAX_SUBJECTS;
  const out: FieldSpec[] = [];
  for (let b = 0; b < spec.buckets; b++) {
    const n = bucketFieldNames(b);
    out.push({ name: n.subjects, max: m }, ...n.chunks.map((name) => ({ name, max: m * CHUNK_MAX })));
    out.push({ name: n.bytes, max: m * BigInt(MAX_LEVEL_BYTES) }, { name: n.check, max: m * CHECK_MAX });
  }
  out.push({ name: 'all.subjects', max: m * BigInt(spec.buckets) });
  return out;
}

/** One cell per bucket (its subjects the k test), and `all`. */
export function categoryLevelsCells(spec: CategoryLevelsSpec): readonly CellSpec[] {
  const cells: CellSpec[] = Array.from({ length: spec.buckets }, (_, b) => {
    const n = bucketFieldNames(b);
    return { name: `bucket.${b}`, subjectsField: n.subjects, fields: [n.subjects, ...n.chunks, n.bytes, n.check] };
  });
  return [...cells, { name: 'all', subjectsField: 'all.subjects', fields: ['all.subjects'] }];
}

/** The buckets under `all`: their subjects add up to it, so one withheld bucket alone would follow by subtraction. */
export function categoryLevelsMargins(spec: CategoryLevelsSpec): readonly CellMargin[] {
  return [{ parts: Array.from({ length: spec.buckets }, (_, b) => `bucket.${b}`), total: 'all' }];
}

/**
 * Customers read; orders before asOf; every row of a table (every customer
 * with their rows, for a table of customers' rows). Exact, for the
 * differencing defence.
 */
export function categoryLevelsRowScope(spec: CategoryLevelsSpec): RowScope {
  if (spec.data === 'orders') return featureRowScope(asOfUnixS(spec.asOf as string));
  return spec.customerRows === true ? { customer: () => true } : {};
}

/** The one field read, and the order times for orders cut at asOf. */
export function categoryLevelsInputFields(spec: CategoryLevelsSpec): readonly string[] {
  return spec.data === 'orders' ? [levelField(spec), 'order.ordered_at'] : [levelField(spec)];
}

/**
 * A level's text, or undefined for a missing value (null, absent, empty).
 * Throws RangeError naming the variable, never the value.
 */
function levelOf(spec: CategoryLevelsSpec, value: ColumnValue | undefined): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new RangeError(`variable ${spec.variable}: a value is not categorical text (declare the column as categorical)`);
  return value;
}

/** Adds `subject` to the subjects of `level`. */
function addSubject(out: Map<string, Set<string>>, level: string, subject: string): void {
  const set = out.get(level);
  if (set) set.add(subject);
  else out.set(level, new Set([subject]));
}

/** Throws RangeError naming the column when no row of `rows` carries it (an undeclared column). */
function assertColumn(spec: CategoryLevelsSpec, rows: readonly { readonly extra?: Readonly<Record<string, ColumnValue>> | undefined }[], what: string): void {
  if (rows.length > 0 && !rows.some((r) => r.extra !== undefined && Object.hasOwn(r.extra, spec.variable))) {
    throw new RangeError(`variable: ${what} have no column ${spec.variable} (declare it under tables.${what}.columns)`);
  }
}

/** Subjects per level at this shop: distinct consented customers, or row indices of a table. */
function subjectsByLevel(spec: CategoryLevelsSpec, data: ShopData): Map<string, Set<string>> {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.customers as unknown) || !Array.isArray(data.orders as unknown)) {
    throw new TypeError('data: expected ShopData with customers and orders arrays');
  }
  const out = new Map<string, Set<string>>();
  if (spec.data === 'customers') {
    assertColumn(spec, data.customers, 'customers');
    for (const c of data.customers) {
      const level = c.consentAnalytics === true ? levelOf(spec, c.extra?.[spec.variable]) : undefined;
      if (level !== undefined) addSubject(out, level, c.customerId);
    }
    return out;
  }
  if (spec.data === 'orders') {
    assertColumn(spec, data.orders, 'orders');
    const consented = new Set(data.customers.filter((c) => c.consentAnalytics === true).map((c) => c.customerId));
    const before = categoryLevelsRowScope(spec).order as (o: ShopData['orders'][number]) => boolean;
    for (const o of data.orders) {
      const level = consented.has(o.customerId) && before(o) ? levelOf(spec, o.extra?.[spec.variable]) : undefined;
      if (level !== undefined) addSubject(out, level, o.customerId);
    }
    return out;
  }
  const table = data.tables?.[spec.data];
  if (table === undefined) throw new RangeError(`data: this shop declares no table ${spec.data}`);
  if (spec.customerRows === true && table.customerIds === undefined) throw new RangeError(`customerRows: table ${spec.data} holds no customers' rows at this shop (its schema declares no customerId)`);
  if (spec.customerRows !== true && table.customerIds !== undefined) throw new RangeError(`customerRows: table ${spec.data} holds customers' rows at this shop; say customerRows: true so levels count customers`);
  const first = table.rows[0];
  if (first !== undefined && !Object.hasOwn(first, spec.variable)) throw new RangeError(`variable: table ${spec.data} has no column ${spec.variable}`);
  // A table of customers' rows counts each level's distinct customers (the round view holds consented ones only).
  table.rows.forEach((row, i) => {
    const level = levelOf(spec, row[spec.variable]);
    if (level !== undefined) addSubject(out, level, table.customerIds === undefined ? String(i) : `c:${table.customerIds[i] as string}`);
  });
  return out;
}

/**
 * Shop side: the bucket fields of this shop's levels. Throws RangeError
 * naming the variable for a level longer than {@link MAX_LEVEL_BYTES} bytes
 * (the shop declines; the value is never quoted), and naming the field when
 * a total exceeds its bound.
 */
export function computeCategoryLevelsLocal(spec: CategoryLevelsSpec, data: ShopData): bigint[] {
  const fields = categoryLevelsFields(spec);
  const per = 3 + LEVEL_CHUNKS; // subjects, chunks, bytes, check
  const values = new Array<bigint>(fields.length).fill(0n);
  const encoder = new TextEncoder();
  let all = 0n;
  for (const [level, subjects] of subjectsByLevel(spec, data)) {
    const bytes = encoder.encode(level);
    if (bytes.length > MAX_LEVEL_BYTES) {
      throw new RangeError(`variable ${spec.variable}: a level is longer than ${MAX_LEVEL_BYTES} bytes of UTF-8, which category-levels cannot carry; shorten the column's levels`);
    }
    const code = levelCode(bytes, spec.salt, spec.buckets);
    const c = BigInt(subjects.size);
    const at = code.bucket * per;
    const parts = [1n, ...code.chunks, BigInt(code.byteLength), code.check];
    parts.forEach((v, i) => {
      values[at + i] = (values[at + i] as bigint) + c * v;
    });
    all += c;
  }
  values[values.length - 1] = all;
  assertWithinBounds(fields, values);
  return values;
}

/** What a bucket's summed totals hold: nothing, exactly one level, or a mixture. */
export type BucketContent = { readonly t: 'empty' } | { readonly t: 'level'; readonly level: string; readonly subjects: bigint } | { readonly t: 'mixed' };

const MIXED: BucketContent = { t: 'mixed' };
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The quotient when `sum` is an exact multiple of `count` below `limit`, else undefined. */
function exactShare(sum: bigint | undefined, count: bigint, limit: bigint): bigint | undefined {
  if (sum === undefined || sum < 0n || sum % count !== 0n) return undefined;
  const q = sum / count;
  return q <= limit ? q : undefined;
}

/**
 * Decodes bucket `b` from summed totals (field name → total). A bucket is
 * one level only when every field is its count times the same level's
 * value and the level hashes back to `b` with the same check; anything
 * else is `mixed`. Pure, so the key holder and the coordinator agree.
 */
export function decodeBucket(spec: Pick<CategoryLevelsSpec, 'salt' | 'buckets'>, b: number, totals: ReadonlyMap<string, bigint>): BucketContent {
  if (!(totals instanceof Map)) throw new TypeError('totals: expected a Map of field totals');
  const n = bucketFieldNames(b);
  const count = totals.get(n.subjects);
  if (count === undefined || count < 0n) return MIXED;
  if (count === 0n) return [...n.chunks, n.bytes, n.check].every((f) => totals.get(f) === 0n) ? { t: 'empty' } : MIXED;
  const length = exactShare(totals.get(n.bytes), count, BigInt(MAX_LEVEL_BYTES));
  const check = exactShare(totals.get(n.check), count, CHECK_MAX);
  const chunks = n.chunks.map((f) => exactShare(totals.get(f), count, CHUNK_MAX));
  if (length === undefined || length === 0n || check === undefined || chunks.some((c) => c === undefined)) return MIXED;
  const padded = Buffer.alloc(MAX_LEVEL_BYTES);
  chunks.forEach((c, i) => padded.writeBigUInt64BE(c as bigint, i * LEVEL_CHUNK_BYTES));
  const bytes = padded.subarray(0, Number(length));
  if (padded.subarray(Number(length)).some((x) => x !== 0)) return MIXED;
  let level: string;
  try {
    level = strictUtf8.decode(bytes);
  } catch {
    return MIXED;
  }
  const code = levelCode(bytes, spec.salt, spec.buckets);
  return code.bucket === b && code.check === check ? { t: 'level', level, subjects: count } : MIXED;
}

/** Bucket index of a cell name `bucket.{b}`, or undefined for `all`. */
function bucketOfCell(name: string): number | undefined {
  const m = /^bucket\.(0|[1-9][0-9]*)$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Key holder side: false for a bucket holding two or more levels (it is
 * withheld, `LEVELS_COLLIDE`, however many subjects it holds); true for
 * every other cell.
 */
export function categoryLevelsCellIntegrity(spec: CategoryLevelsSpec, cell: CellSpec, totals: ReadonlyMap<string, bigint>): boolean {
  const b = bucketOfCell(cell.name);
  return b === undefined || b >= spec.buckets || decodeBucket(spec, b, totals).t !== 'mixed';
}

/** One revealed level. */
export interface RevealedLevel {
  readonly level: string;
  /** Distinct customers (customers, orders) or rows (a table) holding it, pooled. */
  readonly subjects: number;
}

export interface CategoryLevelsResult {
  readonly variable: string;
  readonly data: string;
  /** Levels of at least k subjects each, sorted by level (code unit order). */
  readonly levels: readonly RevealedLevel[];
  /**
   * What the buckets not shown held. (The coordinator adds `withheld`, the
   * list of withheld cells with their reasons, to every table's result.)
   */
  readonly withheldBuckets: {
    /**
     * Buckets withheld for fewer than k subjects, or to protect such a
     * bucket. Empty buckets are among them: the key holder withholds an
     * empty cell like a small one, so nobody learns which buckets hold a rare level.
     */
    readonly tooFew: number;
    /** Buckets of at least k subjects holding two or more levels (withheld by the key holder). */
    readonly collided: number;
    /** Subjects in withheld buckets (all.subjects minus the revealed levels; null when `all` is withheld). */
    readonly subjects: number | null;
  };
  /** What to do next, in words: a salt to rerun with, and how to paste the levels into a model spec. */
  readonly hint: string;
}

/** A released bucket's totals as the Map {@link decodeBucket} reads. */
function bucketTotals(release: ReleasedTotals, cell: CellSpec): Map<string, bigint> | null {
  const c = Object.hasOwn(release.cells, cell.name) ? release.cells[cell.name] : undefined;
  if (c === undefined) throw new TypeError(`release.cells.${cell.name}: missing`);
  if (c.suppressed) return null;
  const out = new Map<string, bigint>();
  for (const f of cell.fields) {
    const v = c.totals?.[f];
    if (typeof v !== 'bigint') throw new TypeError(`release.cells.${cell.name}.totals.${f}: missing or not a bigint`);
    out.set(f, v);
  }
  return out;
}

/** The analyst's next step, from what was revealed and withheld. */
function hintOf(spec: CategoryLevelsSpec, levels: readonly RevealedLevel[], collided: number, hidden: number | null): string {
  const parts: string[] = [];
  if (collided > 0) {
    parts.push(`${collided} bucket(s) of at least k subjects hold two or more levels and were withheld; run the query again with another salt (e.g. "salt": ${(spec.salt + 1) % (MAX_LEVEL_SALT + 1)}) to separate them.`);
  }
  if (hidden !== null && hidden > 0) {
    parts.push(`${hidden} subject(s) hold levels that are not shown (fewer than k subjects per level, or collided).`);
  }
  if (levels.length >= 2) {
    parts.push(`In a linear-model or logistic-model spec reading ${spec.variable}, declare "levels": { "${spec.variable}": ${JSON.stringify(levels.map((l) => l.level))} } (the first level is the reference; reorder as you like).`);
    if (hidden !== null && hidden > 0) parts.push('A model declines rows whose level is not declared, so recode or leave out the rows of levels not shown first.');
  } else {
    parts.push('Fewer than two levels hold at least k subjects: the column cannot enter a model as a categorical variable yet.');
  }
  return parts.join(' ');
}

/**
 * Coordinator side: the levels of released buckets. A released bucket that
 * does not decode (only under a DP purpose, whose noise breaks the
 * multiples) counts as collided.
 */
export function finaliseCategoryLevels(spec: CategoryLevelsSpec, release: ReleasedTotals): CategoryLevelsResult {
  if (typeof release !== 'object' || release === null || typeof release.cells !== 'object' || release.cells === null) throw new TypeError('release: expected { cells }');
  const cells = categoryLevelsCells(spec);
  const levels: RevealedLevel[] = [];
  let tooFew = 0;
  let collided = 0;
  let shown = 0n;
  cells.slice(0, spec.buckets).forEach((cell, b) => {
    const totals = bucketTotals(release, cell);
    if (totals === null) {
      if (release.cells[cell.name]?.reasonCode === 'LEVELS_COLLIDE') collided++;
      else tooFew++;
      return;
    }
    const content = decodeBucket(spec, b, totals);
    if (content.t === 'level') {
      levels.push({ level: content.level, subjects: Number(content.subjects) });
      shown += content.subjects;
    } else if (content.t === 'mixed') collided++;
  });
  levels.sort((a, b) => (a.level < b.level ? -1 : a.level > b.level ? 1 : 0));
  const all = bucketTotals(release, cells[spec.buckets] as CellSpec)?.get('all.subjects');
  const hidden = all === undefined ? null : Number(all - shown);
  return { variable: spec.variable, data: spec.data, levels, withheldBuckets: { tooFew, collided, subjects: hidden }, hint: hintOf(spec, levels, collided, hidden) };
}

const CATEGORY_LEVELS_GUIDE: KindGuideBody = {
  summary: 'Levels of a categorical column declared without levels; a level is shown only with k subjects.',
  description:
    'Finds the levels of a column shops declare as { "type": "categorical" } without listing them, so they can be pasted into a ' +
    'formula model\'s levels. Each shop puts every level in a bucket chosen by a salted SHA-256 of its text (all shops agree without ' +
    'sharing anything) and sends, per bucket, its subjects and the level\'s bytes times them, encrypted. A bucket holding one level ' +
    'decodes exactly after the sum; a bucket of fewer than k subjects (customers, or rows of a table) is withheld, and so is one holding ' +
    'two or more levels (LEVELS_COLLIDE: run again with another salt). Levels are at most ' + String(MAX_LEVEL_BYTES) + ' bytes of UTF-8.',
  members: [
    purposeMember('marketing-analytics'),
    { name: 'data', type: 'string', required: true, description: 'Whose column: "customers" (customer.<name>), "orders" (order.<name>), or a table shops declare under extraTables (<table>.<name>).' },
    { name: 'customerRows', type: 'boolean', required: false, default: 'false', description: "The table holds customers' rows (its schema declares customerId): a level's subjects are its distinct customers.", sample: true, sampleWith: { data: 'order_lines', asOf: undefined } },
    { name: 'variable', type: 'string', required: true, description: 'The column whose levels are listed, as the schema names it, e.g. brand.' },
    {
      name: 'asOf',
      type: 'string',
      required: false,
      requiredWhen: 'data is "customers" or "orders"',
      description: `UTC instant like ${AS_OF}: orders before it are read (customers: the customers of a model at that instant). Leave it out for a table.`,
    },
    { name: 'buckets', type: 'integer', required: false, default: String(DEFAULT_LEVEL_BUCKETS), description: `Buckets the levels are spread over, 2 to ${MAX_LEVEL_BUCKETS}; more buckets, fewer collisions, larger ciphertexts (256 fit one).`, sample: 512 },
    { name: 'salt', type: 'integer', required: false, default: '0', description: 'Changes every level\'s bucket, 0 to 2^32 - 1: run again with another salt when buckets collided.', sample: 1 },
  ],
  sections: [],
  example: { purpose: 'marketing-analytics', data: 'customers', variable: 'brand', asOf: AS_OF },
};

/**
 * Relations every honest sum satisfies (the key holder refuses a release
 * that breaks one, `INPUT_OUT_OF_BOUNDS`): each field of a bucket is the
 * bucket's subjects times a value of one level, so a name chunk is at most
 * 2^64 − 1 times the subjects, the byte length from 1 (an empty text is a
 * missing value, never a level) to 64 times them and the check at most
 * 2^32 − 1 times them; and `all.subjects` is exactly the buckets' subjects
 * added up. The fields' own bounds are per shop and much looser: without
 * these a shop could put a level's worth of bytes into a bucket it gives no
 * subjects, or inflate `all`.
 */
export function categoryLevelsInputViolation(spec: CategoryLevelsSpec, totals: ReadonlyMap<string, bigint>): string | undefined {
  const checks: RelationCheck[] = [];
  let subjects = 0n;
  for (let b = 0; b < spec.buckets; b++) {
    const n = bucketFieldNames(b);
    const c = totalOf(totals, n.subjects);
    subjects += c;
    for (const chunk of n.chunks) checks.push(atMost(chunk, totalOf(totals, chunk), `2^64 - 1 x ${n.subjects}`, CHUNK_MAX * c));
    const bytes = totalOf(totals, n.bytes);
    checks.push(
      atMost(n.bytes, bytes, `${MAX_LEVEL_BYTES} x ${n.subjects}`, BigInt(MAX_LEVEL_BYTES) * c),
      atLeast(n.bytes, bytes, n.subjects, c),
      atMost(n.check, totalOf(totals, n.check), `2^32 - 1 x ${n.subjects}`, CHECK_MAX * c),
    );
  }
  return firstBroken([equals('all.subjects', totalOf(totals, 'all.subjects'), 'the buckets\' subjects added up', subjects), ...checks]);
}

/** The `category-levels` query definition registered under its kind. */
export const categoryLevelsQuery: QueryDefinition<CategoryLevelsSpec, CategoryLevelsResult, typeof CATEGORY_LEVELS_KIND> = {
  kind: CATEGORY_LEVELS_KIND,
  guide: CATEGORY_LEVELS_GUIDE,
  parseSpec: parseCategoryLevelsSpec,
  purposeOf: (spec) => spec.purpose,
  inputFields: categoryLevelsInputFields,
  fields: categoryLevelsFields,
  cells: categoryLevelsCells,
  computeLocal: computeCategoryLevelsLocal,
  finalise: finaliseCategoryLevels,
  margins: categoryLevelsMargins,
  rowScope: categoryLevelsRowScope,
  cellIntegrity: categoryLevelsCellIntegrity,
  inputViolation: categoryLevelsInputViolation,
};
