/**
 * Registered purposes and their impact assessments, kept in the coordinator
 * database. Registering a purpose or PIA that is new or changed writes an
 * audit entry in the same transaction; re-registering an identical one
 * changes nothing.
 */
import { blake2b256, toHex } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/index.js';
import type { PiaRecord, PurposeDefinition, PurposeRegistry } from '../compliance/index.js';
import type { AuditTrail } from './audit-trail.js';
import type { Database } from './database.js';

function digestOf(value: unknown): Uint8Array {
  return blake2b256(Buffer.from(canonicalSpecJson(value), 'utf8'));
}

export class PurposeStore {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditTrail,
  ) {}

  /** Stores every purpose and PIA of `registry`; returns how many were new or changed. */
  async sync(registry: PurposeRegistry, actor: string): Promise<number> {
    let changed = 0;
    for (const p of registry.purposes) {
      const json = canonicalSpecJson(p);
      const digest = digestOf(p);
      changed += await this.db.transaction(async (tx) => {
        const rows = await tx.query<{ digest: Uint8Array }>('SELECT digest FROM purposes WHERE name = $1 FOR UPDATE', [p.name]);
        if (rows[0] && Buffer.from(rows[0].digest).equals(digest)) return 0;
        await tx.query(
          `INSERT INTO purposes (name, definition_json, digest) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET definition_json = EXCLUDED.definition_json, digest = EXCLUDED.digest, registered_at = now()`,
          [p.name, json, digest],
        );
        await this.audit.record({
          type: 'purpose.registered',
          actor,
          details: { purpose: p.name, legalBasis: p.legalBasis, allowedFields: [...p.allowedFields], retentionDays: p.retentionDays, recipients: [...p.recipients] },
        }, tx);
        return 1;
      });
    }
    for (const pia of registry.pias) {
      const digest = digestOf(pia);
      changed += await this.db.transaction(async (tx) => {
        const rows = await tx.query<{ digest: Uint8Array }>('SELECT digest FROM pias WHERE pia_id = $1 FOR UPDATE', [pia.id]);
        if (rows[0] && Buffer.from(rows[0].digest).equals(digest)) return 0;
        await tx.query(
          `INSERT INTO pias (pia_id, purpose, record_json, digest) VALUES ($1, $2, $3, $4)
           ON CONFLICT (pia_id) DO UPDATE SET purpose = EXCLUDED.purpose, record_json = EXCLUDED.record_json, digest = EXCLUDED.digest, recorded_at = now()`,
          [pia.id, pia.purpose, canonicalSpecJson(pia), digest],
        );
        await this.audit.record({
          type: 'pia.recorded',
          actor,
          details: {
            piaId: pia.id,
            purpose: pia.purpose,
            assessedAt: new Date(pia.assessedAt).toISOString(),
            retainUntil: new Date(pia.retainUntil).toISOString(),
            documentDigest: toHex(digest),
          },
        }, tx);
        return 1;
      });
    }
    return changed;
  }

  async purpose(name: string): Promise<PurposeDefinition | undefined> {
    const rows = await this.db.query<{ definition_json: string }>('SELECT definition_json FROM purposes WHERE name = $1', [name]);
    return rows[0] ? (JSON.parse(rows[0].definition_json) as PurposeDefinition) : undefined;
  }

  async purposes(): Promise<PurposeDefinition[]> {
    const rows = await this.db.query<{ definition_json: string }>('SELECT definition_json FROM purposes ORDER BY name');
    return rows.map((r) => JSON.parse(r.definition_json) as PurposeDefinition);
  }

  async pias(purpose?: string): Promise<PiaRecord[]> {
    const rows = purpose
      ? await this.db.query<{ record_json: string }>('SELECT record_json FROM pias WHERE purpose = $1 ORDER BY pia_id', [purpose])
      : await this.db.query<{ record_json: string }>('SELECT record_json FROM pias ORDER BY pia_id');
    return rows.map((r) => JSON.parse(r.record_json) as PiaRecord);
  }

  /** The registry as stored (for audit exports). */
  async registry(): Promise<PurposeRegistry> {
    return { version: 1, purposes: await this.purposes(), pias: await this.pias() };
  }
}
