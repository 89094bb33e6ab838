/**
 * Public surface of the merchant-node SDK: reading a shop's export under a
 * declared schema, and the node that answers queries with encrypted, signed
 * statistics.
 */
export { MerchantNode, CHUNK_BYTES, readReceipts, type StoredReceipt, type MerchantNodeOptions, type AnswerOutcome, type EncryptionStats } from './merchant-node.js';
export { loadOrCreateSigningKey } from './signing-key.js';
export { loadShopData, loadPooledData, readShopSchema } from './load-shop-data.js';
export {
  parseShopSchema,
  standardShopSchema,
  OPTIONAL_TABLES,
  STANDARD_CHANNELS,
  TABLE_FORMATS,
  CHANNEL_NAME_RE,
  type ShopSchema,
  type ColumnSpec,
  type OptionalTable,
  type TableFormat,
  type StandardSchemaOptions,
} from './schema.js';
export { JsonlParser, parseJsonl, readJsonlRecords, type JsonlRecord, type JsonlOptions } from './jsonl.js';
export { CsvParser, parseCsv, readCsvRecords, ShopDataError, type CsvRecord, type CsvOptions, type ShopDataErrorCode } from './csv.js';
export {
  loadShopCompliance,
  loadShopPurposes,
  loadConsentLedger,
  readConsentRecords,
  readRightsRequests,
  ConsentSourceError,
  type ShopCompliance,
  type ShopComplianceOptions,
} from './consent-source.js';
export {
  PSEUDONYM_KEY_FILE,
  DEFAULT_STATE_FOLDER,
  defaultStateDir,
  loadShopPseudonymKey,
  PseudonymKeyMissingError,
  type KeyLocationLogger,
  type ShopPseudonymKey,
  type ShopPseudonymKeyOptions,
} from './pseudonym-key.js';
export {
  CONSENT_IMPORT_REQUIRED_COLUMNS,
  CONSENT_IMPORT_OPTIONAL_COLUMNS,
  CONSENT_IMPORT_ENCODINGS,
  CONSENT_CHANNEL_ALIASES,
  ConsentImportError,
  decodeConsentTable,
  readConsentTable,
  keyConsentTable,
  importConsentCsv,
  importedRecordId,
  noticeHash,
  formatConsentsJsonl,
  type ConsentImportEncoding,
  type ConsentImportProblem,
  type ConsentImportOptions,
  type ConsentImportResult,
  type ConsentTable,
  type ConsentTableOptions,
} from './consent-import.js';
export { roundView, DeclinedError } from '../round/index.js';
