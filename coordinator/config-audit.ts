/**
 * Notices when the coordinator starts with a configuration other than last
 * time (thresholds stated to the key holder, audit origin, pinned key-holder
 * key, parameter set) and records a `config.changed` entry. Only digests are
 * stored and logged: configuration values may be secrets.
 */
import { blake2b256, toHex } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { Database } from './database.js';

export async function auditConfiguration(db: Database, audit: AuditTrail, key: string, value: unknown): Promise<boolean> {
  const digest = blake2b256(Buffer.from(canonicalSpecJson(value), 'utf8'));
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ digest: Uint8Array }>('SELECT digest FROM settings WHERE key = $1 FOR UPDATE', [key]);
    const old = rows[0]?.digest;
    if (old && Buffer.from(old).equals(digest)) return false;
    await tx.query(
      `INSERT INTO settings (key, digest) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET digest = EXCLUDED.digest, changed_at = now()`,
      [key, digest],
    );
    await audit.record({ type: 'config.changed', actor: 'coordinator', details: { key, oldDigest: old ? toHex(old) : null, newDigest: toHex(digest) } }, tx);
    return true;
  });
}
