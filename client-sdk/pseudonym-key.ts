/**
 * Where a shop's pseudonym key lives: in the merchant node's state folder
 * (`STATE/pseudonym.key`, mode 0600, folder 0700), beside its signing seed,
 * never in the export folder the shop's data comes from. Whoever holds the
 * key can re-link every pseudonym to its customer, so it must not travel with
 * exports, backups of exports or folders handed to analysts.
 *
 * Earlier versions kept the key in the export folder (`DATA/pseudonym.key`).
 * Such a key is still read when the state folder has none, with a warning
 * that names both paths (never the key), so existing shops keep their
 * pseudonyms until the file is moved.
 *
 * @module
 */
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreatePseudonymKey } from '../compliance/consent.js';

/** File name of the pseudonym key inside a state folder (and, formerly, an export folder). */
export const PSEUDONYM_KEY_FILE = 'pseudonym.key';

/** Name of the default state folder inside the export folder (`fedmart merchant --state`). */
export const DEFAULT_STATE_FOLDER = '.fedmart-state';

/** The merchant node's state folder when none is given: `DATA/.fedmart-state`. */
export function defaultStateDir(dataDir: string): string {
  if (typeof dataDir !== 'string' || dataDir === '') throw new TypeError('dataDir: expected a folder path');
  return join(dataDir, DEFAULT_STATE_FOLDER);
}

/** The warning side of a logger (pino's `warn` fits). */
export interface KeyLocationLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link loadShopPseudonymKey}. */
export interface ShopPseudonymKeyOptions {
  /** The node's state folder (default {@link defaultStateDir} of the export folder). */
  readonly stateDir?: string | undefined;
  /** Receives the warning about a key found in the export folder (default: a process warning). */
  readonly logger?: KeyLocationLogger | undefined;
  /**
   * Create the key when there is none (default true). False makes a missing
   * key a {@link PseudonymKeyMissingError}: for a caller whose files already
   * hold pseudonyms, which a new key could never match.
   */
  readonly create?: boolean | undefined;
}

/** No pseudonym key where one must already exist (see `ShopPseudonymKeyOptions.create`). */
export class PseudonymKeyMissingError extends Error {
  override readonly name = 'PseudonymKeyMissingError';
  readonly code = 'PSEUDONYM_KEY_MISSING';
  /** Where the key was looked for (state folder first). */
  readonly paths: readonly string[];

  constructor(paths: readonly string[], why: string) {
    super(`no pseudonym key in ${paths.join(' or ')}, but ${why}: use the state folder that holds the shop's pseudonym.key (fedmart merchant --state), or move the key there (mode 0600)`);
    this.paths = paths;
  }
}

/** A loaded key and where it came from. */
export interface ShopPseudonymKey {
  readonly key: Uint8Array;
  /** The file the key was read from or created in. */
  readonly path: string;
  /** The key did not exist and was created just now. */
  readonly created: boolean;
  /** The key was read from the export folder, its old place. */
  readonly legacy: boolean;
}

const present = (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );

function warn(logger: KeyLocationLogger | undefined, fields: Record<string, unknown>, message: string): void {
  if (logger !== undefined) logger.warn(fields, message);
  else process.emitWarning(`${message} (${Object.entries(fields).map(([k, v]) => `${k} ${String(v)}`).join(', ')})`, { code: 'FEDMART_PSEUDONYM_KEY_LOCATION' });
}

/**
 * The shop's pseudonym key: `STATE/pseudonym.key` if it exists; else the old
 * `DATA/pseudonym.key` if that exists (with a warning); else a new key
 * created in `STATE/pseudonym.key` (mode 0600, the state folder made 0700 if
 * missing), unless `create` is false. Both files present: the state folder's key is used and the other
 * is reported as ignored.
 */
export async function loadShopPseudonymKey(dataDir: string, options: ShopPseudonymKeyOptions = {}): Promise<ShopPseudonymKey> {
  if (typeof dataDir !== 'string' || dataDir === '') throw new TypeError('dataDir: expected a folder path');
  const stateDir = options.stateDir ?? defaultStateDir(dataDir);
  if (typeof stateDir !== 'string' || stateDir === '') throw new TypeError('options.stateDir: expected a folder path');
  const path = join(stateDir, PSEUDONYM_KEY_FILE);
  const legacyPath = join(dataDir, PSEUDONYM_KEY_FILE);
  const [inState, inExport] = await Promise.all([present(path), present(legacyPath)]);
  if (inState) {
    if (inExport) {
      warn(options.logger, { keyFile: path, ignoredFile: legacyPath }, 'a pseudonym key file is also in the export folder; it is ignored (the state folder\'s key is used): delete it once no consent file depends on it');
    }
    return { key: await loadOrCreatePseudonymKey(path), path, created: false, legacy: false };
  }
  if (inExport) {
    warn(
      options.logger,
      { keyFile: legacyPath, stateKeyFile: path },
      'reading the pseudonym key from the export folder, where earlier versions kept it: move it to the state folder (mode 0600) so it no longer travels with the export',
    );
    return { key: await loadOrCreatePseudonymKey(legacyPath), path: legacyPath, created: false, legacy: true };
  }
  if (options.create === false) throw new PseudonymKeyMissingError([path, legacyPath], 'it is needed here');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const key = await loadOrCreatePseudonymKey(path);
  return { key, path, created: true, legacy: false };
}
