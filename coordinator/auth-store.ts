/**
 * API users in the coordinator database (`api_users`): role, granted
 * purposes, the shop of a merchant operator, and the SHA-256 of the token —
 * never the token itself, which is shown once when the user is created.
 * Creating or revoking a user records a `config.changed` entry (key
 * `users.<id>`) with digests of the user's role and grants, so the audit log
 * shows who could do what since when, without names or credentials.
 */
import { timingSafeEqual } from 'node:crypto';
import { blake2b256, toHex } from '../crypto/index.js';
import { canonicalSpecJson } from '../analytics/index.js';
import type { AuditTrail } from './audit-trail.js';
import { bootstrapPrincipal, hashToken, newToken, newUserId, type Principal, type Role } from './auth.js';
import type { Database } from './database.js';
import { RequestError } from './request-errors.js';

export interface UserRecord {
  readonly userId: string;
  readonly role: Role;
  readonly purposes: readonly string[];
  readonly merchantId: string | null;
  /** Free label for administrators (e.g. a team); never written to the audit log. */
  readonly label: string | null;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

interface UserRow {
  user_id: string;
  role: Role;
  purposes_json: string;
  merchant_id: string | null;
  label: string | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

function toUser(r: UserRow): UserRecord {
  return {
    userId: r.user_id,
    role: r.role,
    purposes: JSON.parse(r.purposes_json) as string[],
    merchantId: r.merchant_id,
    label: r.label,
    createdBy: r.created_by,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

function grantDigest(u: Pick<UserRecord, 'userId' | 'role' | 'purposes' | 'merchantId' | 'revokedAt'>): string {
  return toHex(blake2b256(Buffer.from(canonicalSpecJson({
    userId: u.userId,
    role: u.role,
    purposes: [...u.purposes].sort(),
    merchantId: u.merchantId,
    revoked: u.revokedAt !== null,
  }), 'utf8')));
}

export interface NewUser {
  readonly role: Role;
  readonly purposes?: readonly string[] | undefined;
  readonly merchantId?: string | null | undefined;
  readonly label?: string | null | undefined;
  /** Chosen id; a random `usr-…` id when absent. */
  readonly userId?: string | undefined;
}

/** Outcome of authenticating a bearer token. */
export type Authentication =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_REVOKED' };

export class UserStore {
  private readonly bootstrapHash: Buffer;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditTrail,
    bootstrapToken: string,
  ) {
    this.bootstrapHash = hashToken(bootstrapToken);
  }

  /** Finds the principal behind a presented token. */
  async authenticate(token: string): Promise<Authentication> {
    if (token.length === 0) return { ok: false, reason: 'TOKEN_MISSING' };
    if (token.length > 512) return { ok: false, reason: 'TOKEN_INVALID' };
    const hash = hashToken(token);
    if (timingSafeEqual(hash, this.bootstrapHash)) return { ok: true, principal: bootstrapPrincipal() };
    const rows = await this.db.query<UserRow>('SELECT * FROM api_users WHERE token_hash = $1', [hash]);
    const row = rows[0];
    if (!row) return { ok: false, reason: 'TOKEN_INVALID' };
    if (row.revoked_at !== null) return { ok: false, reason: 'TOKEN_REVOKED' };
    const u = toUser(row);
    return { ok: true, principal: { id: u.userId, role: u.role, purposes: u.purposes, merchantId: u.merchantId, bootstrap: false } };
  }

  async list(): Promise<UserRecord[]> {
    return (await this.db.query<UserRow>('SELECT * FROM api_users ORDER BY created_at, user_id')).map(toUser);
  }

  async get(userId: string): Promise<UserRecord | undefined> {
    const rows = await this.db.query<UserRow>('SELECT * FROM api_users WHERE user_id = $1', [userId]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /**
   * Creates a user and returns it with its token (the only time the token
   * exists outside the caller). Throws RequestError USER_INVALID or USER_EXISTS.
   */
  async create(input: NewUser, actor: string): Promise<{ user: UserRecord; token: string }> {
    const userId = input.userId ?? newUserId();
    const purposes = input.role === 'marketer' ? [...new Set(input.purposes ?? [])].sort() : [];
    const merchantId = input.role === 'merchant' ? (input.merchantId ?? null) : null;
    if (input.role === 'marketer' && purposes.length === 0) throw new RequestError('USER_INVALID', 'a marketer needs at least one granted purpose');
    if (input.role === 'merchant' && merchantId === null) throw new RequestError('USER_INVALID', 'a merchant operator needs a merchantId');
    if (input.role !== 'marketer' && (input.purposes?.length ?? 0) > 0) throw new RequestError('USER_INVALID', 'only marketers are granted purposes');
    if (userId === bootstrapPrincipal().id) throw new RequestError('USER_EXISTS', `${userId} is the bootstrap administrator`);
    const token = newToken();
    await this.db.transaction(async (tx) => {
      const existing = await tx.query<{ user_id: string }>('SELECT user_id FROM api_users WHERE user_id = $1 FOR UPDATE', [userId]);
      if (existing.length > 0) throw new RequestError('USER_EXISTS', `user ${userId} exists`);
      await tx.query(
        `INSERT INTO api_users (user_id, role, purposes_json, merchant_id, label, token_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [userId, input.role, JSON.stringify(purposes), merchantId, input.label ?? null, hashToken(token), actor],
      );
      await this.audit.record({
        type: 'config.changed',
        actor,
        details: { key: `users.${userId.toLowerCase()}`, oldDigest: null, newDigest: grantDigest({ userId, role: input.role, purposes, merchantId, revokedAt: null }) },
      }, tx);
    });
    return { user: (await this.get(userId))!, token };
  }

  /** Revokes a user's token (idempotent); returns the user. Throws RequestError USER_NOT_FOUND. */
  async revoke(userId: string, actor: string): Promise<UserRecord> {
    await this.db.transaction(async (tx) => {
      const rows = await tx.query<UserRow>('SELECT * FROM api_users WHERE user_id = $1 FOR UPDATE', [userId]);
      const row = rows[0];
      if (!row) throw new RequestError('USER_NOT_FOUND', `no user ${userId}`);
      if (row.revoked_at !== null) return;
      const before = toUser(row);
      await tx.query('UPDATE api_users SET revoked_at = now() WHERE user_id = $1', [userId]);
      await this.audit.record({
        type: 'config.changed',
        actor,
        details: { key: `users.${userId.toLowerCase()}`, oldDigest: grantDigest(before), newDigest: grantDigest({ ...before, revokedAt: new Date() }) },
      }, tx);
    });
    return (await this.get(userId))!;
  }
}
