/** pino JSON logs on stderr, so stdout stays free for results and events. */
import { pino, type Logger } from 'pino';
import { LOG_REDACT } from '../protos/log-redact.js';

/** Credentials in headers or fields named like tokens and secrets are redacted (defence in depth). */
export function cliLogger(name: string): Logger {
  return pino({ name, level: process.env.FEDMART_LOG_LEVEL ?? 'info', redact: LOG_REDACT }, pino.destination(2));
}
