/**
 * Public surface of the merchant-node SDK: reading a shop's export, its
 * consent records and the consent CSV import, and the node that answers
 * queries with encrypted, signed statistics.
 */
export { MerchantNode, CHUNK_BYTES, readReceipts, type MerchantNodeOptions } from './merchant-node.js';
export { startMerchantTracing, MERCHANT_TRACER_NAME, type MerchantTracingOptions } from './merchant-node-tracing.js';
export { ModelScoringError, type LocalScores, type ModelScoringCode } from './model-scoring.js';
export { loadOrCreateSigningKey } from './signing-key.js';
export { loadShopData, loadPooledData } from './load-shop-data.js';
export { CsvParser, parseCsv, ShopDataError } from './csv.js';
export { loadShopCompliance, readConsentRecords, ConsentSourceError, type ShopCompliance } from './consent-source.js';
export { defaultStateDir } from './pseudonym-key.js';
export { ConsentImportError, importConsentCsv, noticeHash, type ConsentImportEncoding } from './consent-import.js';
export { roundView } from '../round/index.js';
