/**
 * Logs of the services tests start, kept under test-output/logs/ (gitignored)
 * instead of being silenced, so that `scripts/scan-logs.mjs` can check after
 * the suite that no key, token or personal datum reached a log line.
 * One file per name and test process; FEDMART_TEST_LOG_LEVEL sets the level
 * (default info).
 */
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';

/** Folder the scanner reads. */
export const TEST_LOG_DIR = resolve(import.meta.dirname, '..', 'test-output', 'logs');

const loggers = new Map<string, Logger>();

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

/** The path of a log file for `name` in this test process (the folder exists). */
export function testLogPath(name: string): string {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  return join(TEST_LOG_DIR, `${safe(name)}-${process.pid}.log`);
}

/** A pino logger appending to test-output/logs/<name>-<pid>.log (one per name and process). */
export function testLogger(name: string): Logger {
  let log = loggers.get(name);
  if (log === undefined) {
    log = pino({ name, level: process.env.FEDMART_TEST_LOG_LEVEL ?? 'info' }, pino.destination({ dest: testLogPath(name), sync: true, append: true }));
    loggers.set(name, log);
  }
  return log;
}

/** A log path for a spawned process's stderr, named after `file` (usually a temporary log path). */
export function testLogCopyPath(file: string): string {
  return testLogPath(`${basename(file).replace(/\.log$/, '')}-${Date.now().toString(36)}`);
}
