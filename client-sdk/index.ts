/**
 * Public surface of the merchant-node SDK: reading a shop's export under a
 * declared schema, and the node that answers queries with encrypted, signed
 * statistics.
 */
export { MerchantNode, DeclinedError, CHUNK_BYTES, readReceipts, type StoredReceipt, type MerchantNodeOptions, type AnswerOutcome } from './merchant-node.js';
export { loadOrCreateSigningKey } from './signing-key.js';
export { loadShopData, loadPooledData, readShopSchema } from './load-shop-data.js';
export { parseShopSchema, standardShopSchema, type ShopSchema, type ColumnSpec } from './schema.js';
export { CsvParser, parseCsv, readCsvRecords, ShopDataError, type CsvRecord, type CsvOptions, type ShopDataErrorCode } from './csv.js';
export { loadShopCompliance, loadConsentLedger, readConsentRecords, readRightsRequests, ConsentSourceError, type ShopCompliance } from './consent-source.js';
export { roundView } from './round-view.js';
