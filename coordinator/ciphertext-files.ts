/**
 * Contribution ciphertexts kept as files beside an embedded (PGlite)
 * database instead of in its rows. Writing a 123 KB `bytea` through PGlite
 * costs about 7 ms of the coordinator's only thread (hex text, parsed and
 * TOASTed by PostgreSQL compiled to WebAssembly); the same bytes as a file
 * cost a fraction of a millisecond and leave the main thread to the round.
 *
 * Every write goes to a fresh random name, and the contribution row names
 * the file only once the file is complete, so:
 *  - a refused or failed insert deletes its own file and never another's
 *    (two sends of one contribution never share a name);
 *  - a row never names a missing or partial file, unless someone removed it
 *    by hand, which {@link CiphertextFilesError} reports;
 *  - a crash between the write and the commit leaves only an unnamed file,
 *    which {@link CiphertextFiles.sweep} deletes at the next start.
 *
 * Each file is flushed to disk (`fdatasync`, about 0.1 ms of CPU) before
 * the row that names it commits, so a row that survives never names a lost
 * file. A process kill loses nothing acknowledged; PGlite itself does not
 * flush its own files (no fsync in its node file system), so after a power
 * loss its newest rows may be gone, and their files are then swept as
 * unnamed. Files are readable by the coordinator's user only, like the
 * database folder.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { open, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A file name this module makes: 32 hex digits (128 random bits). */
const FILE_NAME_RE = /^[0-9a-f]{32}$/;

/** The sub-folder of a PGlite data folder that holds the ciphertext files. */
export const CIPHERTEXT_FILES_FOLDER = 'fedmart-ciphertexts';

/** A stored row names a ciphertext file that is missing, unreadable or not one of ours. */
export class CiphertextFilesError extends Error {
  override readonly name = 'CiphertextFilesError';
  readonly code = 'CIPHERTEXTS_MISSING';
}

export class CiphertextFiles {
  /** @param dir the folder of the files (created, mode 0700, if missing) */
  constructor(readonly dir: string) {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a folder path');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  /** Writes `bytes` to a new file, flushed to disk; resolves with its name. */
  async write(bytes: Uint8Array): Promise<string> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    const name = randomBytes(16).toString('hex');
    const file = await open(join(this.dir, name), 'wx', 0o600);
    try {
      await file.writeFile(bytes);
      await file.datasync();
    } catch (err) {
      await file.close();
      await unlink(join(this.dir, name)).catch(() => undefined);
      throw err;
    }
    await file.close();
    return name;
  }

  /** The bytes of file `name`, which must be `expectedLength` long when given. */
  async read(name: string, expectedLength?: number): Promise<Uint8Array> {
    if (!FILE_NAME_RE.test(name)) throw new CiphertextFilesError(`not a ciphertext file name: ${JSON.stringify(name.slice(0, 40))}`);
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, name));
    } catch (err) {
      throw new CiphertextFilesError(`ciphertext file ${name} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (expectedLength !== undefined && bytes.length !== expectedLength) {
      throw new CiphertextFilesError(`ciphertext file ${name} holds ${bytes.length} bytes, not ${expectedLength}`);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Deletes the named files; a name already gone is not an error. */
  async remove(names: Iterable<string>): Promise<void> {
    for (const name of names) {
      if (!FILE_NAME_RE.test(name)) continue;
      await unlink(join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  /**
   * Deletes every file of ours not in `referenced`: the leftovers of a crash
   * between a write and its commit, or between an erasure and its deletion.
   * Call it only while no write is in flight (at start, before intake).
   * Resolves with the number deleted.
   */
  async sweep(referenced: ReadonlySet<string>): Promise<number> {
    const orphans = (await readdir(this.dir)).filter((n) => FILE_NAME_RE.test(n) && !referenced.has(n));
    await this.remove(orphans);
    return orphans.length;
  }
}
