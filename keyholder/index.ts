/** Public surface of the key holder service. */
export { KeyHolder, DEFAULT_RELEASE_POLICY, type ReleasePolicy, type ContributionForRelease, type KeyHolderDisclosureOptions } from './key-holder.js';
export { DisclosureStore, type PurposeLedger, type StoredRelease } from './disclosure-store.js';
export { loadOrCreateKeys, KeyFilePermissionError, type KeyHolderKeys } from './key-store.js';
export { ReleaseLedger } from './release-ledger.js';
export { startKeyHolder, KEYHOLDER_MAX_MESSAGE_BYTES, type KeyHolderOptions, type RunningKeyHolder } from './server.js';
export { KeyHolderMetrics, type ReleaseObserver } from './metrics.js';
export { startMetricsListener, MetricsListenError, MIN_KEYHOLDER_METRICS_TOKEN_LENGTH, type KeyHolderMetricsListenOptions, type RunningMetricsListener } from './metrics-http.js';
