/**
 * The key holder's disclosure state on disk: the policy applied per purpose,
 * the privacy-loss budget spent per purpose, the population behind every
 * release (for the differencing defence) and the signed releases themselves
 * (so that re-delivering a release repeats it instead of drawing new noise,
 * which would let averaging undo the noise).
 *
 * Layout under `<dataDir>/disclosure/`: `policies.json`, one
 * `purposes/<purpose>.json` per purpose, one `releases/<query>.json` per
 * release. Every file is replaced atomically (write, fsync, rename), and the
 * spend is written before the release leaves the key holder: a crash may
 * charge a release that was never delivered, never deliver one uncharged.
 * One key holder process owns a data folder at a time.
 *
 * Without a data folder the state lives in memory (tests of the engine).
 *
 * @module
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  DisclosureError,
  formatRho,
  loosening,
  policyFromJson,
  policyToJson,
  type EffectivePolicy,
  type PopulationRecord,
} from '../compliance/index.js';

/** What the key holder keeps per purpose. */
export interface PurposeLedger {
  readonly purpose: string;
  /** zCDP ρ spent so far, in units of 10^-9. */
  readonly rhoSpentUnits: bigint;
  /** Populations of every release, oldest first. */
  readonly releases: readonly (PopulationRecord & { readonly rhoUnits: bigint })[];
}

/** A signed release as delivered, kept for identical re-delivery. */
export interface StoredRelease {
  readonly releaseJson: string;
  /** Hex Ed25519 signature. */
  readonly signature: string;
}

function fileKey(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

const units = z.string().regex(/^(0|[1-9][0-9]*)$/).transform((s) => BigInt(s));
const hexSeq = z.array(z.string().regex(/^[0-9a-f]{16}$/));
const digestHex = z.string().regex(/^[0-9a-f]{64}$/);
const rowSetRecordSchema = z.strictObject({
  powers: z.number().int().min(1),
  members: hexSeq,
  fields: z.record(z.string(), hexSeq),
  merchants: z.record(z.string(), z.strictObject({ members: digestHex, fields: z.record(z.string(), digestHex), shop: z.record(z.string(), digestHex) })),
});
const ledgerSchema = z.strictObject({
  version: z.literal(1),
  purpose: z.string().min(1),
  rhoSpentUnits: units,
  releases: z.array(
    z.strictObject({
      queryId: z.string().min(1),
      kind: z.string().min(1),
      specDigest: z.string(),
      merchants: z.record(z.string(), z.number().int().nonnegative()),
      attestedSubjects: z.number().int().nonnegative(),
      releasedAt: z.string(),
      rhoUnits: units,
      fitId: z.string().min(1).optional(),
      rowSet: rowSetRecordSchema.optional(),
    }),
  ),
});
const policiesSchema = z.strictObject({ version: z.literal(1), policies: z.record(z.string(), z.unknown()) });
const storedReleaseSchema = z.strictObject({ releaseJson: z.string().min(2), signature: z.string().regex(/^[0-9a-f]{128}$/) });

function readJson<T>(path: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DisclosureError('DISCLOSURE_STATE_CORRUPT', `${path}: ${err instanceof Error ? err.message : 'unreadable'}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new DisclosureError('DISCLOSURE_STATE_CORRUPT', `${path}${issue ? ` ${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

export class DisclosureStore {
  readonly dir: string | undefined;
  readonly #policies = new Map<string, EffectivePolicy>();
  readonly #ledgers = new Map<string, PurposeLedger>();
  readonly #releases = new Map<string, StoredRelease>();

  /** Opens (creating) `<dataDir>/disclosure`, or a memory-only store when `dataDir` is undefined. */
  constructor(dataDir?: string) {
    if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === '')) throw new TypeError('dataDir: expected a folder path or undefined');
    this.dir = dataDir === undefined ? undefined : join(dataDir, 'disclosure');
    if (this.dir === undefined) return;
    for (const sub of ['', 'purposes', 'releases']) mkdirSync(join(this.dir, sub), { recursive: true, mode: 0o700 });
    const file = join(this.dir, 'policies.json');
    if (existsSync(file)) {
      const stored = readJson(file, policiesSchema);
      for (const [purpose, json] of Object.entries(stored.policies)) this.#policies.set(purpose, policyFromJson(json, `${file} ${purpose}`));
    }
  }

  /** The policy last applied to `purpose`, if any. */
  policy(purpose: string): EffectivePolicy | undefined {
    return this.#policies.get(purpose);
  }

  /** Purposes with a stored policy. */
  purposes(): string[] {
    return [...this.#policies.keys()].sort();
  }

  /**
   * Makes `next` the policy of its purpose. Refuses (DisclosureError
   * `POLICY_LOOSENED`, naming the purpose and what loosened) a policy weaker
   * than the stored one; an equal or stricter one replaces it.
   */
  adopt(next: EffectivePolicy): EffectivePolicy {
    const previous = this.#policies.get(next.purpose);
    if (previous) {
      const weaker = loosening(previous, next);
      if (weaker !== undefined) {
        throw new DisclosureError('POLICY_LOOSENED', `purpose '${next.purpose}': the configured disclosure policy is weaker than the one already applied (${weaker}); policies may only be tightened`, next.purpose);
      }
      if (JSON.stringify(policyToJson(previous)) === JSON.stringify(policyToJson(next))) return previous;
    }
    this.#policies.set(next.purpose, next);
    if (this.dir !== undefined) {
      const all = Object.fromEntries([...this.#policies].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, v]) => [p, policyToJson(v)]));
      writeAtomic(join(this.dir, 'policies.json'), JSON.stringify({ version: 1, policies: all }, null, 1));
    }
    return next;
  }

  /** Budget and release populations of `purpose` (empty for a new purpose). */
  ledger(purpose: string): PurposeLedger {
    const cached = this.#ledgers.get(purpose);
    if (cached) return cached;
    let ledger: PurposeLedger = { purpose, rhoSpentUnits: 0n, releases: [] };
    if (this.dir !== undefined) {
      const file = join(this.dir, 'purposes', `${fileKey(purpose)}.json`);
      if (existsSync(file)) {
        const stored = readJson(file, ledgerSchema);
        if (stored.purpose !== purpose) throw new DisclosureError('DISCLOSURE_STATE_CORRUPT', `${file}: holds purpose '${stored.purpose}', expected '${purpose}'`);
        ledger = { purpose, rhoSpentUnits: stored.rhoSpentUnits, releases: stored.releases };
      }
    }
    this.#ledgers.set(purpose, ledger);
    return ledger;
  }

  /**
   * Durably records a release of `purpose`: its population (replacing an
   * earlier record of the same query) and its ρ, added to the spend.
   */
  recordRelease(purpose: string, record: PopulationRecord, rhoUnits: bigint): PurposeLedger {
    if (typeof rhoUnits !== 'bigint' || rhoUnits < 0n) throw new RangeError('rhoUnits: expected a bigint >= 0');
    const before = this.ledger(purpose);
    const next: PurposeLedger = {
      purpose,
      rhoSpentUnits: before.rhoSpentUnits + rhoUnits,
      releases: [...before.releases.filter((r) => r.queryId !== record.queryId), { ...record, rhoUnits }],
    };
    if (this.dir !== undefined) {
      const json = {
        version: 1,
        purpose,
        rhoSpentUnits: next.rhoSpentUnits.toString(),
        releases: next.releases.map((r) => ({ ...r, rhoUnits: r.rhoUnits.toString() })),
      };
      writeAtomic(join(this.dir, 'purposes', `${fileKey(purpose)}.json`), JSON.stringify(json));
    }
    this.#ledgers.set(purpose, next);
    return next;
  }

  /** The release delivered for `queryId`, if any. */
  storedRelease(queryId: string): StoredRelease | undefined {
    const cached = this.#releases.get(queryId);
    if (cached || this.dir === undefined) return cached;
    const file = join(this.dir, 'releases', `${fileKey(queryId)}.json`);
    if (!existsSync(file)) return undefined;
    const stored = readJson(file, storedReleaseSchema);
    this.#releases.set(queryId, stored);
    return stored;
  }

  /** Keeps the delivered release of `queryId`. */
  storeRelease(queryId: string, release: StoredRelease): void {
    if (this.dir !== undefined) writeAtomic(join(this.dir, 'releases', `${fileKey(queryId)}.json`), JSON.stringify(release));
    this.#releases.set(queryId, release);
  }

  /** Remaining ρ of a purpose as a short decimal, for messages. */
  static remaining(policy: EffectivePolicy, ledger: PurposeLedger): string {
    if (policy.noise.mode !== 'dp') return 'unlimited';
    const left = policy.noise.totalRhoUnits - ledger.rhoSpentUnits;
    return formatRho(left > 0n ? left : 0n);
  }
}
