/**
 * Public surface of the key holder service: starting it (`startKeyHolder`)
 * with its options, its release policy and the shortest metrics token it
 * accepts.
 */
export type { ReleasePolicy } from './key-holder.js';
export { startKeyHolder, type KeyHolderOptions, type RunningKeyHolder } from './server.js';
export { MIN_KEYHOLDER_METRICS_TOKEN_LENGTH } from './metrics-http.js';
