/**
 * What the key holder has released, kept on disk. A query is released from
 * one set of contributions only: a second release of the same query from a
 * different subset would let the difference isolate one merchant.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class ReleaseLedger {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'released');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(queryId: string): string {
    return join(this.dir, Buffer.from(queryId, 'utf8').toString('base64url') + '.json');
  }

  /** Contribution digests of an earlier release of this query, if any. */
  previous(queryId: string): string[] | undefined {
    const f = this.file(queryId);
    if (!existsSync(f)) return undefined;
    const parsed: unknown = JSON.parse(readFileSync(f, 'utf8'));
    if (!Array.isArray(parsed) || !parsed.every((d) => typeof d === 'string')) throw new Error(`corrupt release ledger entry ${f}`);
    return parsed;
  }

  /** Durably records a release before any plaintext leaves the key holder. */
  record(queryId: string, contributionDigests: readonly string[]): void {
    const f = this.file(queryId);
    const tmp = f + '.tmp';
    writeFileSync(tmp, JSON.stringify(contributionDigests), { mode: 0o600 });
    renameSync(tmp, f);
  }
}
