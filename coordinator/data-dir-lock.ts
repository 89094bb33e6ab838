/**
 * Exclusive ownership of a PGlite data folder. Two processes writing one
 * folder would corrupt it, and a restarted coordinator may only take over
 * the round claims of its predecessor if that predecessor is really gone.
 * The lock is a file `<folder>.lock` holding the owner's pid and host; a lock
 * whose process no longer exists (killed with -9, machine restarted) is
 * stale and taken over. A standby coordinator waits for the lock
 * ({@link DataDirLock.acquireWaiting}), having done its slow start-up
 * already, and takes over the moment its predecessor is gone.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';

/** Raised when another live process holds the data folder. */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly dir: string,
    readonly holder: string,
  ) {
    super(`database folder ${dir} is in use by ${holder}; stop that coordinator first (or, if it is gone, remove ${dir}.lock)`);
    this.name = 'DataDirLockedError';
  }
}

interface Holder {
  readonly pid: number;
  readonly host: string;
}

/** Lock files this process holds, so that a stale lock carrying our own pid (a restarted container) is recognised. */
const HELD = new Set<string>();

function readHolder(file: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host } : undefined;
  } catch {
    return undefined; // unreadable or half-written: its writer died before finishing
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isLive(file: string, h: Holder): boolean {
  if (h.host !== hostname()) return true; // cannot tell from here: assume it runs
  if (h.pid === process.pid) return HELD.has(file);
  return isAlive(h.pid);
}

export class DataDirLock {
  private released = false;

  private constructor(private readonly file: string) {}

  /** Takes the lock of `dir` or throws {@link DataDirLockedError}. */
  static acquire(dir: string): DataDirLock {
    const file = resolve(dir) + '.lock';
    mkdirSync(dirname(file), { recursive: true });
    for (let attempt = 0; attempt < 5; attempt++) {
      let fd: number;
      try {
        fd = openSync(file, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readHolder(file);
        if (holder && isLive(file, holder)) throw new DataDirLockedError(dir, `process ${holder.pid} on ${holder.host}`);
        rmSync(file, { force: true });
        continue;
      }
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      HELD.add(file);
      return new DataDirLock(file);
    }
    throw new DataDirLockedError(dir, 'processes racing for it');
  }

  /**
   * Takes the lock of `dir`, polling every `pollMs` while another live
   * process holds it, for at most `waitMs` (Infinity: until it is free).
   * Throws {@link DataDirLockedError} if it is still held after that.
   */
  static async acquireWaiting(dir: string, waitMs: number, pollMs = 100): Promise<DataDirLock> {
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        return DataDirLock.acquire(dir);
      } catch (err) {
        if (!(err instanceof DataDirLockedError) || Date.now() + pollMs > until) throw err;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    HELD.delete(this.file);
    rmSync(this.file, { force: true });
  }
}
