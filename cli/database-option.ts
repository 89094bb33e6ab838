/**
 * The `--db` option, shared by the commands that open the coordinator's
 * database (`fedmart coordinator`, `fedmart db`), so that an operator's
 * `fedmart db migrate` reaches exactly the database the coordinator would
 * open with the same flags and environment.
 */
import { requireString } from './args.js';

/** The embedded PGlite folder used when neither --db nor FEDMART_DATABASE_URL is given. */
export const DEFAULT_DATABASE = '.fedmart/coordinator-db';

/** `--db`, else FEDMART_DATABASE_URL, else {@link DEFAULT_DATABASE}. */
export function databaseOption(values: Record<string, string | boolean | undefined>): string {
  return requireString(values, 'db', process.env.FEDMART_DATABASE_URL || DEFAULT_DATABASE);
}
