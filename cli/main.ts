/**
 * The `fedmart` command: one binary, one subcommand per role.
 */
import { UsageError } from './args.js';
import { AUDIT_HELP, auditCommand } from './audit-command.js';
import { COORDINATOR_HELP, coordinatorCommand } from './coordinator-command.js';
import { DB_HELP, dbCommand } from './db-command.js';
import { DEMO_HELP, demoCommand } from './demo-command.js';
import { ENROL_TOKEN_HELP, enrolTokenCommand } from './enrol-token-command.js';
import { INIT_HELP, initCommand } from './init-command.js';
import { KEYHOLDER_HELP, keyholderCommand } from './keyholder-command.js';
import { MERCHANT_HELP, merchantCommand } from './merchant-command.js';
import { MERCHANTS_HELP, merchantsCommand } from './merchants-command.js';
import { QUERY_HELP, queryCommand } from './query-command.js';
import { SYNTH_HELP, synthCommand } from './synth-command.js';
import { USERS_HELP, usersCommand } from './users-command.js';
import { packageVersion } from './version.js';

interface Command {
  readonly summary: string;
  readonly help: string;
  readonly run: (argv: readonly string[]) => Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: { summary: 'run everything locally and compare with the pooled answer', help: DEMO_HELP, run: demoCommand },
  init: { summary: 'create a deployment folder: CA, TLS certificates, signing keys', help: INIT_HELP, run: initCommand },
  synth: { summary: 'write synthetic shop exports', help: SYNTH_HELP, run: synthCommand },
  keyholder: { summary: 'run the key holder', help: KEYHOLDER_HELP, run: keyholderCommand },
  coordinator: { summary: 'run the coordinator', help: COORDINATOR_HELP, run: coordinatorCommand },
  db: { summary: "apply the coordinator database's schema migrations (operators)", help: DB_HELP, run: dbCommand },
  'enrol-token': { summary: 'issue a one-time enrolment token for a merchant (administrator)', help: ENROL_TOKEN_HELP, run: enrolTokenCommand },
  merchant: { summary: 'run a merchant node', help: MERCHANT_HELP, run: merchantCommand },
  query: { summary: 'ask for aggregate statistics', help: QUERY_HELP, run: queryCommand },
  audit: { summary: 'export and verify signed audit reports', help: AUDIT_HELP, run: auditCommand },
  users: { summary: 'create, list and revoke API users and their roles', help: USERS_HELP, run: usersCommand },
  merchants: { summary: 'list enrolled merchants and revoke one (administrator)', help: MERCHANTS_HELP, run: merchantsCommand },
  bench: {
    summary: 'measure HE, Paillier, Prio3 and plaintext costs; write bench/results.json',
    help: 'fedmart bench — measure costs per value and write bench/results.json\n\nUsage: fedmart bench [--quick]',
    run: async (argv) => (await import('../bench/run.js')).benchCommand(argv),
  },
};

export const MAIN_HELP = `fedmart — privacy-preserving federated analytics for merchants

Usage: fedmart <command> [options]      fedmart <command> --help      fedmart --version

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`).join('\n')}`;

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(`fedmart ${packageVersion()}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`fedmart: unknown command "${name}"; run fedmart --help`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`fedmart ${name}: ${err.message} (see fedmart ${name} --help)`);
      return err.exitCode;
    }
    const code = (err as { code?: unknown }).code;
    console.error(`fedmart ${name}: ${err instanceof Error ? err.message : String(err)}${typeof code === 'string' ? ` [${code}]` : ''}`);
    return 1;
  }
}
