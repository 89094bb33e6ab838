/** pino JSON logs on stderr, so stdout stays free for results and events. */
import { pino, type Logger } from 'pino';

export function cliLogger(name: string): Logger {
  return pino({ name, level: process.env.FEDMART_LOG_LEVEL ?? 'info' }, pino.destination(2));
}
