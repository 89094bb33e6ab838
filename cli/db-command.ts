/**
 * `fedmart db`: operator steps on the coordinator's database. `migrate`
 * applies the pending schema migrations, so that an upgrade can migrate
 * once, before new coordinators start with `--no-migrate`, instead of
 * inside whichever process starts first.
 */
import { openDatabase } from '../coordinator/database.js';
import { migrate, schemaVersion } from '../coordinator/migrate.js';
import { MIGRATIONS } from '../coordinator/migrations.js';
import { parse, UsageError } from './args.js';
import { databaseOption } from './database-option.js';

export const DB_HELP = `fedmart db — the coordinator's database (operators)

Usage: fedmart db migrate [--db DIR|URL] [--json]

  migrate          apply the pending schema migrations, each in its own transaction, and say
                   which ran (or that the database is up to date); safe to run again, and while
                   other coordinators run on the same PostgreSQL database
  --db DIR|URL     embedded database folder (default .fedmart/coordinator-db), or a
                   postgres://user@host:port/db URL (default from FEDMART_DATABASE_URL): the
                   same as fedmart coordinator takes
  --json           print one JSON line {"database","backend","from","to","applied"} instead

A PGlite folder is refused while a coordinator has it open. A database written by a newer
fedmart is refused and left untouched. Exit codes: 0 done, 1 the database refused or failed,
2 bad usage.`;

export async function dbCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' }, json: { type: 'boolean' } });
  const sub = positionals[0];
  if (values.help || sub === undefined) {
    console.log(DB_HELP);
    return values.help ? 0 : 2;
  }
  if (sub !== 'migrate') throw new UsageError(`unknown db subcommand "${sub}" (migrate)`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const db = await openDatabase(databaseOption(values), { migrate: false, poolSize: 2 });
  try {
    const where = `database ${db.location} (${db.backend})`;
    const from = await schemaVersion(db);
    const applied: number[] = [];
    if (from < MIGRATIONS.length && !values.json) console.log(`${where}: schema version ${from}, this fedmart's is ${MIGRATIONS.length}`);
    const to = await migrate(db, {
      onApplied: (version, latest) => {
        applied.push(version);
        if (!values.json) console.log(`applied migration ${version} of ${latest}`);
      },
    });
    if (values.json) console.log(JSON.stringify({ database: db.location, backend: db.backend, from, to, applied }));
    else if (applied.length === 0) console.log(`${where}: up to date (schema version ${to})`);
    else console.log(`${where}: migrated from schema version ${from} to ${to}`);
    return 0;
  } finally {
    await db.close();
  }
}
