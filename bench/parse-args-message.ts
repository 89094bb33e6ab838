/**
 * node:util parseArgs's errors in the words the command line uses, for the
 * CLI's subcommands (`cli/args.ts`) and `fedmart bench`'s own options
 * (`bench/options.ts`). It lives here, below `cli/`, because the CLI imports
 * the bench and never the other way round.
 *
 * @module
 */

/**
 * node:util parseArgs's error as the CLI's own short phrase ("unknown option
 * --foo", "--spec needs a value"); main adds the command and the --help hint.
 */
export function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /^Unknown option '([^']+)'/.exec(message);
    if (m) return `unknown option ${m[1]}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const missing = /^Option '(.+?)(?: <value>)?' argument missing/.exec(message);
    if (missing) return `${missing[1]} needs a value`;
    const noArg = /^Option '([^']+)' does not take an argument/.exec(message);
    if (noArg) return `${noArg[1]} takes no value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const m = /^Unexpected argument '([^']*)'/.exec(message);
    if (m) return `unexpected argument "${m[1]}"`;
  }
  return message;
}
