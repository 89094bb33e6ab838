/**
 * De-identification (去标识化) of shop records before any statistic is
 * computed: classify every field, drop direct identifiers, replace the
 * customer id by a keyed pseudonym, generalise quasi-identifiers.
 *
 * Following GB/T 37964 and PIPL art. 73: the output is *de-identified*, not
 * anonymised. Whoever holds the shop's pseudonym key can re-link it, so it is
 * still personal information and stays inside the shop; only aggregates that
 * pass disclosure control leave. The key is therefore a shop secret
 * (`loadOrCreatePseudonymKey` keeps it in a 0600 file) and a pseudonym is an
 * HMAC, not a plain hash: without the key, the ~10^8 possible customer ids of
 * a shop could be hashed exhaustively and the pseudonyms reversed.
 *
 * Field classes and DSL grades (数据分类分级) are configuration
 * (`fields.json`), with {@link DEFAULT_FIELD_CLASSIFICATION} describing the
 * standard shop export.
 *
 * @module
 */
import { createHmac, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { z } from 'zod';
import { fromHex, toHex } from '../crypto/index.js';
import { AGE_BANDS, CITY_LEVELS, type AgeBand, type CityLevel } from '../analytics/customer-groups.js';

export { AGE_BANDS, CITY_LEVELS, type AgeBand, type CityLevel };

/** GB/T 37964 field classes. */
export const FIELD_CLASSES = ['direct-identifier', 'quasi-identifier', 'sensitive', 'general'] as const;
export type FieldClass = (typeof FIELD_CLASSES)[number];

/**
 * DSL art. 21 grades. `core` is national-security-level data (a shop's customer
 * data is never core); `important` follows sector catalogues; most shop data is
 * `general`. The grade selects protection measures, not processing rules.
 */
export const DATA_GRADES = ['core', 'important', 'general'] as const;
export type DataGrade = (typeof DATA_GRADES)[number];

/** Built-in generalisations of quasi-identifiers. */
export const GENERALISATIONS = ['age-band', 'city-level'] as const;
export type Generalisation = (typeof GENERALISATIONS)[number];

/** Field names are `table.column`, e.g. `customer.age`, `order.amount`. */
export const FIELD_NAME_RE = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/** How one field is classified and graded. */
export interface FieldClassificationEntry {
  readonly field: string;
  readonly class: FieldClass;
  readonly grade: DataGrade;
  /** Category of PI, e.g. `identity`, `contact`, `transaction`, `health`. */
  readonly category: string;
  /** How a quasi-identifier is generalised before use. */
  readonly generalise?: Generalisation | undefined;
}

/** A `fields.json` file. */
export interface FieldClassification {
  readonly version: 1;
  readonly fields: readonly FieldClassificationEntry[];
}

/** Machine-readable cause of a {@link DeidentificationError}. */
export type DeidentificationErrorCode = 'FIELD_CLASSIFICATION_INVALID' | 'PSEUDONYM_KEY_INVALID' | 'PSEUDONYM_KEY_PERMISSIONS';

/** Bad classification config or pseudonym key file. */
export class DeidentificationError extends Error {
  override readonly name = 'DeidentificationError';
  readonly code: DeidentificationErrorCode;

  constructor(code: DeidentificationErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const entrySchema = z
  .strictObject({
    field: z.string().max(128).regex(FIELD_NAME_RE, 'expected a field name like customer.age'),
    class: z.enum(FIELD_CLASSES),
    grade: z.enum(DATA_GRADES),
    category: z.string().min(1).max(64),
    generalise: z.enum(GENERALISATIONS).optional(),
  })
  .refine((e) => e.generalise === undefined || e.class === 'quasi-identifier', {
    message: 'only quasi-identifiers are generalised',
    path: ['generalise'],
  });

/** zod schema of `fields.json`. */
export const fieldClassificationSchema: z.ZodType<FieldClassification> = z
  .strictObject({ version: z.literal(1), fields: z.array(entrySchema).max(10_000) })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.fields.forEach((f, i) => {
      if (seen.has(f.field)) ctx.addIssue({ code: 'custom', path: ['fields', i, 'field'], message: `field '${f.field}' is classified twice` });
      seen.add(f.field);
    });
  });

/** Validates `fields.json` content; throws DeidentificationError naming the path. */
export function parseFieldClassification(json: unknown): FieldClassification {
  const r = fieldClassificationSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map(String).join('.');
  throw new DeidentificationError('FIELD_CLASSIFICATION_INVALID', `${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid field classification'}`);
}

const f = (field: string, cls: FieldClass, grade: DataGrade, category: string, generalise?: Generalisation): FieldClassificationEntry =>
  generalise === undefined ? { field, class: cls, grade, category } : { field, class: cls, grade, category, generalise };

/**
 * Classification of the standard shop export and of the common extra columns
 * shops carry. Identity document numbers and the sensitive categories of PIPL
 * art. 28 (health, religion, biometrics, financial accounts, whereabouts) are
 * graded `important`; nothing is `core`. Dates are quasi-identifiers (GB/T
 * 37964 lists them) but are kept: lifecycle and order-gap statistics need
 * them and they are never released below the k threshold.
 */
export const DEFAULT_FIELD_CLASSIFICATION: FieldClassification = {
  version: 1,
  fields: [
    f('customer.customer_id', 'direct-identifier', 'general', 'identifier'),
    f('customer.name', 'direct-identifier', 'general', 'identity'),
    f('customer.phone', 'direct-identifier', 'general', 'contact'),
    f('customer.address', 'direct-identifier', 'general', 'contact'),
    f('customer.id_number', 'direct-identifier', 'important', 'identity-document'),
    f('customer.device_id', 'direct-identifier', 'general', 'device'),
    f('customer.age', 'quasi-identifier', 'general', 'demographic', 'age-band'),
    f('customer.city', 'quasi-identifier', 'general', 'location', 'city-level'),
    f('customer.signup_at', 'quasi-identifier', 'general', 'account'),
    f('customer.lifecycle_stage', 'general', 'general', 'behaviour'),
    f('customer.age_band', 'general', 'general', 'demographic'),
    f('customer.city_level', 'general', 'general', 'location'),
    f('customer.consent_analytics', 'general', 'general', 'consent'),
    f('customer.consent_marketing', 'general', 'general', 'consent'),
    f('customer.health_condition', 'sensitive', 'important', 'health'),
    f('customer.religion', 'sensitive', 'important', 'religion'),
    f('customer.biometric_template', 'sensitive', 'important', 'biometric'),
    f('customer.bank_account', 'sensitive', 'important', 'financial-account'),
    f('customer.precise_location', 'sensitive', 'important', 'whereabouts'),
    f('order.order_id', 'general', 'general', 'transaction'),
    f('order.customer_id', 'direct-identifier', 'general', 'identifier'),
    f('order.ordered_at', 'general', 'general', 'transaction'),
    f('order.amount', 'general', 'general', 'transaction'),
    f('order.returned', 'general', 'general', 'transaction'),
    f('campaign.campaign_id', 'general', 'general', 'marketing'),
    f('campaign.customer_id', 'direct-identifier', 'general', 'identifier'),
    f('campaign.variant', 'general', 'general', 'marketing'),
    f('campaign.exposed', 'general', 'general', 'marketing'),
    f('campaign.clicked', 'general', 'general', 'marketing'),
    f('campaign.converted', 'general', 'general', 'marketing'),
    f('campaign.opened', 'general', 'general', 'marketing'),
    f('session.customer_id', 'direct-identifier', 'general', 'identifier'),
    f('session.channel', 'general', 'general', 'behaviour'),
    f('session.viewed', 'general', 'general', 'behaviour'),
    f('session.carted', 'general', 'general', 'behaviour'),
    f('session.ordered', 'general', 'general', 'behaviour'),
    // The shop's own monthly service figures: business data, no person in them.
    f('shop_metrics.period', 'general', 'general', 'business'),
    f('shop_metrics.orders', 'general', 'general', 'business'),
    f('shop_metrics.ratings', 'general', 'general', 'business'),
    f('shop_metrics.positive_ratings', 'general', 'general', 'business'),
    f('shop_metrics.returns', 'general', 'general', 'business'),
    f('shop_metrics.complaints', 'general', 'general', 'business'),
    f('shop_metrics.inquiries', 'general', 'general', 'business'),
    f('shop_metrics.response_time_sum_s', 'general', 'general', 'business'),
  ],
};

/** The entry of `field`, or undefined when the field is not classified. */
export function classifyField(field: string, classification: FieldClassification = DEFAULT_FIELD_CLASSIFICATION): FieldClassificationEntry | undefined {
  if (typeof field !== 'string') throw new TypeError('field: expected a string');
  return classification.fields.find((e) => e.field === field);
}

// ---------------------------------------------------------------------------
// Pseudonyms

/** Length of a shop's pseudonym key. */
export const PSEUDONYM_KEY_BYTES = 32;

function assertKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new TypeError('key: expected a Uint8Array');
  if (key.length !== PSEUDONYM_KEY_BYTES) throw new RangeError(`key: expected ${PSEUDONYM_KEY_BYTES} bytes, got ${key.length}`);
}

/**
 * The subject's pseudonym: lower-case hex HMAC-SHA-256 of the UTF-8 customer
 * id under the shop's 32-byte key. Deterministic per (id, key), so a record
 * keeps its pseudonym across exports; unlinkable across shops because each
 * shop has its own key.
 */
export function pseudonymise(customerId: string, key: Uint8Array): string {
  if (typeof customerId !== 'string' || customerId === '') throw new TypeError('customerId: expected a non-empty string');
  assertKey(key);
  return createHmac('sha256', key).update(customerId, 'utf8').digest('hex');
}

const KEY_FILE_RE = /^[0-9a-f]{64}\n?$/;

/** Creates `path` holding a new key, atomically; undefined when `path` already exists. */
async function createKeyFile(path: string): Promise<Uint8Array | undefined> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const key = new Uint8Array(randomBytes(PSEUDONYM_KEY_BYTES));
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      await handle.writeFile(`${toHex(key)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, path);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Reads the shop's pseudonym key from `path` (64 hex digits), or creates it
 * from the OS random source with mode 0600 if the file does not exist.
 * The key is written whole to a private temporary file first and then
 * hard-linked to `path`, which fails if `path` exists: two processes
 * starting together end up with the same key, and neither can read a file
 * the other has created but not yet written. Symlinks are refused, and an
 * existing file readable by group or others is refused rather than silently
 * used.
 */
export async function loadOrCreatePseudonymKey(path: string): Promise<Uint8Array> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  const created = await createKeyFile(path);
  if (created !== undefined) return created;
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') throw new DeidentificationError('PSEUDONYM_KEY_PERMISSIONS', `${path}: the pseudonym key file must not be a symbolic link`);
    throw err;
  });
  try {
    const st = await handle.stat();
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new DeidentificationError('PSEUDONYM_KEY_PERMISSIONS', `${path}: the pseudonym key file must be readable by its owner only (mode 0600), got ${(st.mode & 0o777).toString(8)}`);
    }
    const text = await handle.readFile('utf8');
    if (!KEY_FILE_RE.test(text)) throw new DeidentificationError('PSEUDONYM_KEY_INVALID', `${path}: expected 64 lower-case hex digits`);
    return fromHex(text.trim());
  } finally {
    await handle.close();
  }
}

/** Reads and validates a `fields.json` file. */
export async function readFieldClassification(path: string): Promise<FieldClassification> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new DeidentificationError('FIELD_CLASSIFICATION_INVALID', `${path}: not JSON (${err.message})`);
    throw err;
  }
  try {
    return parseFieldClassification(json);
  } catch (err) {
    if (err instanceof DeidentificationError) throw new DeidentificationError(err.code, `${path}: ${err.message}`);
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Generalisation

// AGE_BANDS and CITY_LEVELS are declared in analytics/customer-groups.ts:
// query layouts (one cell per band or tier) need them above this module.

/** Generalises an exact age (integer years, 0–150) to its band. */
export function generaliseAge(age: number): AgeBand {
  if (typeof age !== 'number' || !Number.isInteger(age)) throw new TypeError('age: expected an integer');
  if (age < 0 || age > 150) throw new RangeError(`age: expected 0 to 150, got ${age}`);
  if (age < 18) return '<18';
  if (age < 25) return '18-24';
  if (age >= 65) return '65+';
  return AGE_BANDS[2 + Math.floor((age - 25) / 10)] as AgeBand;
}

/**
 * Tier of the cities synthetic shops use (and the large ones shops mostly
 * see), after the commonly used 2024 city-tier list. Keys are Chinese names
 * and their pinyin; lookups ignore case, spaces and a trailing 市.
 */
const CITY_TIERS: ReadonlyMap<string, CityLevel> = new Map(
  (
    [
      ['tier-1', ['北京 beijing', '上海 shanghai', '广州 guangzhou', '深圳 shenzhen']],
      [
        'new-tier-1',
        [
          '成都 chengdu', '杭州 hangzhou', '重庆 chongqing', '苏州 suzhou', '武汉 wuhan', '西安 xian', '南京 nanjing', '长沙 changsha',
          '天津 tianjin', '郑州 zhengzhou', '东莞 dongguan', '无锡 wuxi', '宁波 ningbo', '青岛 qingdao', '合肥 hefei',
        ],
      ],
      [
        'tier-2',
        [
          '佛山 foshan', '沈阳 shenyang', '昆明 kunming', '济南 jinan', '厦门 xiamen', '福州 fuzhou', '温州 wenzhou', '大连 dalian',
          '哈尔滨 harbin', '长春 changchun', '石家庄 shijiazhuang', '南宁 nanning', '贵阳 guiyang', '南昌 nanchang', '太原 taiyuan',
        ],
      ],
    ] as const
  ).flatMap(([tier, names]) => names.flatMap((pair) => pair.split(' ').map((n): [string, CityLevel] => [n, tier]))),
);

/** Generalises a city name to its tier; unknown cities are `other`. */
export function generaliseCity(city: string): CityLevel {
  if (typeof city !== 'string') throw new TypeError('city: expected a string');
  const key = city.trim().replace(/市$/, '').replace(/[\s']/g, '').toLowerCase();
  return CITY_TIERS.get(key) ?? 'other';
}

// ---------------------------------------------------------------------------
// Records

/** A cell value of a shop row. */
export type CellValue = string | number | bigint | boolean | null;

/** Options of {@link deidentifyCustomer}. */
export interface DeidentifyOptions {
  /** The shop's 32-byte pseudonym key. */
  readonly pseudonymKey: Uint8Array;
  readonly classification?: FieldClassification;
  /** Column holding the customer id (default `customer_id`). */
  readonly idColumn?: string;
  /**
   * Keep sensitive fields. Only for a purpose that allows sensitive PI and a
   * subject who gave separate consent (PIPL arts. 28–29); default false.
   */
  readonly keepSensitive?: boolean;
}

/** A de-identified customer row. */
export interface DeidentifiedCustomer {
  readonly subjectPseudonym: string;
  /** Remaining fields by column name; generalised columns carry the band/tier. */
  readonly fields: Readonly<Record<string, CellValue>>;
  /** Column names that were dropped, sorted (for audit of minimisation). */
  readonly dropped: readonly string[];
}

function generalise(rule: Generalisation, value: CellValue, column: string): CellValue {
  if (value === null) return null;
  switch (rule) {
    case 'age-band': {
      const age = typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : value;
      if (typeof age !== 'number') throw new TypeError(`row.${column}: expected an integer age`);
      return generaliseAge(age);
    }
    case 'city-level':
      if (typeof value !== 'string') throw new TypeError(`row.${column}: expected a city name`);
      return generaliseCity(value);
  }
}

/**
 * De-identifies one customer row (column name → value) of the `customer`
 * table: the id becomes the keyed pseudonym, direct identifiers are dropped,
 * quasi-identifiers with a generalisation are generalised, sensitive fields
 * are dropped unless `keepSensitive`, and columns the classification does not
 * know are dropped too (minimisation: nothing unexamined is carried along).
 */
export function deidentifyCustomer(row: Readonly<Record<string, CellValue>>, options: DeidentifyOptions): DeidentifiedCustomer {
  if (typeof row !== 'object' || row === null) throw new TypeError('row: expected an object of column values');
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const classification = options.classification ?? DEFAULT_FIELD_CLASSIFICATION;
  const idColumn = options.idColumn ?? 'customer_id';
  const id = row[idColumn];
  if (typeof id !== 'string' || id === '') throw new TypeError(`row.${idColumn}: expected a non-empty customer id`);
  const subjectPseudonym = pseudonymise(id, options.pseudonymKey);
  const byField = new Map(classification.fields.map((e) => [e.field, e]));
  const fields: Record<string, CellValue> = {};
  const dropped: string[] = [];
  for (const [column, value] of Object.entries(row)) {
    const entry = byField.get(`customer.${column}`);
    if (entry === undefined || entry.class === 'direct-identifier' || column === idColumn) {
      dropped.push(column);
    } else if (entry.class === 'sensitive') {
      if (options.keepSensitive === true) fields[column] = value;
      else dropped.push(column);
    } else if (entry.generalise !== undefined) {
      fields[column] = generalise(entry.generalise, value, column);
    } else {
      fields[column] = value;
    }
  }
  return { subjectPseudonym, fields, dropped: dropped.sort() };
}
