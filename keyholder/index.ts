/**
 * Public surface of the key holder service: starting it (`startKeyHolder`),
 * its key files, its disclosure store and its metrics listener.
 */
export type { ReleasePolicy } from './key-holder.js';
export { DisclosureStore } from './disclosure-store.js';
export { loadOrCreateKeys, KeyFilePermissionError } from './key-store.js';
export { startKeyHolder, type KeyHolderOptions, type RunningKeyHolder } from './server.js';
export { startMetricsListener, MetricsListenError, MIN_KEYHOLDER_METRICS_TOKEN_LENGTH } from './metrics-http.js';
