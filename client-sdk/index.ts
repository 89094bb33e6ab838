/**
 * Public surface of the merchant-node SDK: reading a shop's export under a
 * declared schema, and the node that answers queries with encrypted, signed
 * statistics.
 */
export { MerchantNode, DeclinedError, CHUNK_BYTES, readReceipts, type StoredReceipt, type MerchantNodeOptions, type AnswerOutcome } from './merchant-node.js';
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
export { loadShopCompliance, loadConsentLedger, readConsentRecords, readRightsRequests, ConsentSourceError, type ShopCompliance } from './consent-source.js';
export { roundView } from './round-view.js';
