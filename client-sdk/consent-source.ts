/**
 * Reads a shop's consent ledger from its export folder:
 *
 * - `consents.jsonl`: one consent record per line, with the shop's customer
 *   id in an extra `customerId` field that is taken off before the record is
 *   validated (records themselves carry only pseudonyms);
 * - `rights-requests.jsonl` (optional): one rights request per line, applied
 *   to the ledger in file order after all records are loaded.
 *
 * Strict like the CSV loader: UTF-8 only, one JSON object per line, no blank
 * lines except after the last, every problem a {@link ConsentSourceError}
 * naming file and line; nothing half-loaded is returned.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { access, stat } from 'node:fs/promises';
import {
  ConsentLedger,
  ConsentLedgerError,
  ConsentRecordError,
  DEFAULT_FIELD_CLASSIFICATION,
  DEFAULT_PURPOSE_REGISTRY,
  RightsRequestError,
  parseConsentRecord,
  parseRightsRequest,
  pseudonymise,
  readFieldClassification,
  readPurposeRegistry,
  type ConsentRecord,
  type FieldClassification,
  type PurposeRegistry,
  type RightsRequest,
} from '../compliance/consent.js';
import { PseudonymKeyMissingError, loadShopPseudonymKey, type KeyLocationLogger } from './pseudonym-key.js';
import { ShopDataError } from './csv.js';
import { readShopSchema } from './load-shop-data.js';
import { declaredFieldClasses, type ShopSchema } from './schema.js';

/** Machine-readable cause of a {@link ConsentSourceError}. */
export type ConsentSourceErrorCode =
  | 'FILE_MISSING'
  | 'ENCODING'
  | 'LINE_TOO_LONG'
  | 'JSON_SYNTAX'
  | 'CUSTOMER_ID_INVALID'
  | 'INVALID_RECORD'
  | 'INVALID_REQUEST'
  | 'DUPLICATE'
  | 'PSEUDONYM_MISMATCH';

/** A consent file could not be read; the message is `file line N: detail`. */
export class ConsentSourceError extends Error {
  override readonly name = 'ConsentSourceError';
  readonly code: ConsentSourceErrorCode;
  readonly file: string;
  /** 1-based line; undefined when about the whole file. */
  readonly line: number | undefined;
  readonly detail: string;

  constructor(code: ConsentSourceErrorCode, file: string, line: number | undefined, detail: string) {
    super(`${file}${line === undefined ? '' : ` line ${line}`}: ${detail}`);
    this.code = code;
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}

/** Options of {@link loadConsentLedger}. */
export interface ConsentSourceOptions {
  /** File names inside `dir` (defaults `consents.jsonl`, `rights-requests.jsonl`). */
  readonly consentsFile?: string;
  readonly rightsFile?: string;
  /** Fail if the rights file is absent (default: an absent file means no requests). */
  readonly requireRightsFile?: boolean;
  /**
   * The shop's pseudonym key: when given, every record's `subjectPseudonym`
   * must be the pseudonym of its `customerId` (catches records exported under
   * another key or attached to the wrong customer).
   */
  readonly pseudonymKey?: Uint8Array;
  /** `handledAt` for requests that have none (default: now). */
  readonly handledAt?: Date;
}

/** Longest accepted line (1 MiB): a guard against a file that is not JSON lines at all. */
export const MAX_CONSENT_LINE_BYTES = 1 << 20;

/** Yields (1-based line number, text) of a UTF-8 JSON-lines file. */
async function* jsonLines(path: string, file: string): AsyncGenerator<{ line: number; text: string }> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let buffered = '';
  let line = 0;
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw new ConsentSourceError('ENCODING', file, line + 1, 'the file is not valid UTF-8');
      }
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        line++;
        yield { line, text: buffered.slice(0, nl).replace(/\r$/, '') };
        buffered = buffered.slice(nl + 1);
      }
      if (buffered.length > MAX_CONSENT_LINE_BYTES) throw new ConsentSourceError('LINE_TOO_LONG', file, line + 1, `the line is longer than ${MAX_CONSENT_LINE_BYTES} bytes`);
    }
    try {
      buffered += decoder.decode();
    } catch {
      throw new ConsentSourceError('ENCODING', file, line + 1, 'the file is not valid UTF-8');
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConsentSourceError('FILE_MISSING', file, undefined, `${path} does not exist`);
    throw err;
  } finally {
    stream.destroy();
  }
  if (buffered !== '') yield { line: line + 1, text: buffered.replace(/\r$/, '') };
}

/** Parses every non-final line as one JSON object; blank lines are errors. */
async function* jsonObjects(path: string, file: string): AsyncGenerator<{ line: number; value: Record<string, unknown> }> {
  for await (const { line, text } of jsonLines(path, file)) {
    if (text.trim() === '') throw new ConsentSourceError('JSON_SYNTAX', file, line, 'the line is empty');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ConsentSourceError('JSON_SYNTAX', file, line, `not JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConsentSourceError('JSON_SYNTAX', file, line, 'expected a JSON object');
    yield { line, value: value as Record<string, unknown> };
  }
}

/** Records of `consents.jsonl` with their customer ids, in file order. */
export async function readConsentRecords(path: string, file = 'consents.jsonl'): Promise<Array<{ customerId: string; record: ConsentRecord; line: number }>> {
  const out: Array<{ customerId: string; record: ConsentRecord; line: number }> = [];
  for await (const { line, value } of jsonObjects(path, file)) {
    const { customerId, ...rest } = value;
    if (typeof customerId !== 'string' || customerId === '' || customerId.length > 256) {
      throw new ConsentSourceError('CUSTOMER_ID_INVALID', file, line, 'expected a customerId string (1–256 characters)');
    }
    try {
      out.push({ customerId, record: parseConsentRecord(rest), line });
    } catch (err) {
      if (err instanceof ConsentRecordError) throw new ConsentSourceError('INVALID_RECORD', file, line, err.message);
      throw err;
    }
  }
  return out;
}

/** Requests of `rights-requests.jsonl`, in file order. */
export async function readRightsRequests(path: string, file = 'rights-requests.jsonl'): Promise<Array<{ request: RightsRequest; line: number }>> {
  const out: Array<{ request: RightsRequest; line: number }> = [];
  for await (const { line, value } of jsonObjects(path, file)) {
    try {
      out.push({ request: parseRightsRequest(value), line });
    } catch (err) {
      if (err instanceof RightsRequestError) throw new ConsentSourceError('INVALID_REQUEST', file, line, err.message);
      throw err;
    }
  }
  return out;
}

/**
 * Loads `dir/consents.jsonl` into a ledger and applies
 * `dir/rights-requests.jsonl`. Throws ConsentSourceError naming file and
 * line for malformed lines, duplicate customers, record ids or request ids,
 * and (with `pseudonymKey`) pseudonyms that do not match their customer.
 */
export async function loadConsentLedger(dir: string, options: ConsentSourceOptions = {}): Promise<ConsentLedger> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  if (typeof options !== 'object' || options === null) throw new TypeError('options: expected an object');
  const consentsFile = options.consentsFile ?? 'consents.jsonl';
  const rightsFile = options.rightsFile ?? 'rights-requests.jsonl';
  const key = options.pseudonymKey;
  const ledger = new ConsentLedger();
  for (const { customerId, record, line } of await readConsentRecords(join(dir, consentsFile), consentsFile)) {
    if (key !== undefined && pseudonymise(customerId, key) !== record.subjectPseudonym) {
      throw new ConsentSourceError('PSEUDONYM_MISMATCH', consentsFile, line, `the subjectPseudonym of record '${record.recordId}' is not the pseudonym of its customer under the shop's key`);
    }
    try {
      ledger.add(customerId, record);
    } catch (err) {
      if (err instanceof ConsentLedgerError) throw new ConsentSourceError('DUPLICATE', consentsFile, line, err.message);
      throw err;
    }
  }
  let requests: Array<{ request: RightsRequest; line: number }> = [];
  try {
    requests = await readRightsRequests(join(dir, rightsFile), rightsFile);
  } catch (err) {
    if (!(err instanceof ConsentSourceError && err.code === 'FILE_MISSING' && options.requireRightsFile !== true)) throw err;
  }
  const seen = new Set<string>();
  for (const { request, line } of requests) {
    if (seen.has(request.requestId)) throw new ConsentSourceError('DUPLICATE', rightsFile, line, `request id '${request.requestId}' appears twice`);
    seen.add(request.requestId);
    ledger.applyRightsRequest(request, options.handledAt === undefined ? {} : { handledAt: options.handledAt });
  }
  return ledger;
}

/** Everything a merchant node needs for the consent side of a round. */
export interface ShopCompliance {
  readonly ledger: ConsentLedger;
  readonly registry: PurposeRegistry;
  readonly classification: FieldClassification;
  /** The shop's pseudonym key (never leaves the shop). */
  readonly pseudonymKey: Uint8Array;
}

/** Options of {@link loadShopCompliance}. */
export interface ShopComplianceOptions extends Omit<ConsentSourceOptions, 'pseudonymKey'> {
  /** The node's state folder, which holds `pseudonym.key` (default `DIR/.fedmart-state`). */
  readonly stateDir?: string | undefined;
  /** Receives the warning about a pseudonym key found in the export folder. */
  readonly logger?: KeyLocationLogger | undefined;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** `fields.json` and `purposes.json` of a shop folder, or the built-in defaults where absent. */
export async function loadShopPurposes(dir: string): Promise<{ registry: PurposeRegistry; classification: FieldClassification }> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  const fieldsPath = join(dir, 'fields.json');
  const base = (await exists(fieldsPath)) ? await readFieldClassification(fieldsPath) : DEFAULT_FIELD_CLASSIFICATION;
  const classification = (await exists(join(dir, 'schema.json'))) ? withDeclaredColumns(base, await readShopSchema(dir)) : base;
  const purposesPath = join(dir, 'purposes.json');
  const registry = (await exists(purposesPath)) ? await readPurposeRegistry(purposesPath, classification) : DEFAULT_PURPOSE_REGISTRY;
  return { registry, classification };
}

/**
 * The classification with the columns `schema.json` declares added from
 * their PIPL class. A column `fields.json` already classifies keeps that
 * entry when it is at least as strict; a `fields.json` entry laxer than the
 * schema's class (general for a column the schema calls sensitive) is a
 * ShopDataError naming the field.
 */
function withDeclaredColumns(base: FieldClassification, schema: ShopSchema): FieldClassification {
  const known = new Map(base.fields.map((e) => [e.field, e]));
  const added: FieldClassification['fields'][number][] = [];
  for (const entry of declaredFieldClasses(schema)) {
    const existing = known.get(entry.field);
    if (existing === undefined) {
      added.push(entry);
      continue;
    }
    if (entry.class === 'sensitive' && existing.class !== 'sensitive' && existing.class !== 'direct-identifier') {
      throw new ShopDataError({ code: 'SCHEMA_INVALID', table: 'schema', file: 'schema.json', column: entry.field, detail: `fields.json classifies ${entry.field} as ${existing.class}, schema.json declares it sensitive: make them agree` });
    }
  }
  return added.length === 0 ? base : { ...base, fields: [...base.fields, ...added] };
}

/**
 * Loads a shop's compliance files in one call: the pseudonym key from the
 * node's state folder (created with mode 0600 if absent while there are no
 * consent records yet, else a PseudonymKeyMissingError; see
 * `loadShopPseudonymKey` for a key left in the export folder), `fields.json`
 * and `purposes.json` (built-in defaults if absent), and the consent ledger,
 * whose pseudonyms are checked against the key.
 */
export async function loadShopCompliance(dir: string, options: ShopComplianceOptions = {}): Promise<ShopCompliance> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a folder path');
  const { stateDir, logger, ...ledgerOptions } = options;
  // A consent file already holds pseudonyms: a key made now could never match them.
  const consentsPath = join(dir, ledgerOptions.consentsFile ?? 'consents.jsonl');
  const hasConsents = ((await stat(consentsPath).catch(() => undefined))?.size ?? 0) > 0;
  let pseudonymKey: Uint8Array;
  try {
    pseudonymKey = (await loadShopPseudonymKey(dir, { stateDir, logger, create: !hasConsents })).key;
  } catch (err) {
    if (err instanceof PseudonymKeyMissingError) throw new PseudonymKeyMissingError(err.paths, `${consentsPath} holds pseudonyms made under one`);
    throw err;
  }
  const { registry, classification } = await loadShopPurposes(dir);
  const ledger = await loadConsentLedger(dir, { ...ledgerOptions, pseudonymKey });
  return { ledger, registry, classification, pseudonymKey };
}
