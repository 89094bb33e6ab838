/**
 * pino `redact` settings for every service logger: defence in depth behind
 * the rule that no key, token or personal datum is logged at all (checked
 * after the test suite by scripts/scan-logs.mjs). Request headers that carry
 * credentials, and fields named like tokens or secrets one or two levels
 * deep, are replaced by "[redacted]".
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  'apiToken',
  'secretKey',
  'seed',
  'password',
  '*.authorization',
  '*.token',
  '*.apiToken',
  '*.secretKey',
  '*.seed',
  '*.password',
];

/** The `redact` option of a pino logger or child. */
export const LOG_REDACT = { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' };
