/**
 * Who may call the HTTP API. Four roles of people (docs/architecture.md,
 * "Who uses it"):
 *
 * - `marketer`: creates queries and model fits and reads their releases, only
 *   for the purposes an administrator granted them;
 * - `compliance`: read-only evidence — audit log, checkpoints, proofs, consent
 *   evidence, PIAs, rights-request register — and signed report exports;
 * - `admin`: purposes, PIAs, merchants and users;
 * - `merchant`: a shop's operator, who sees their own shop's enrolment status
 *   and the released benchmarks their shop took part in.
 *
 * The token in FEDMART_API_TOKEN is the bootstrap administrator (`operator`),
 * which may call every route for every purpose, so that a fresh coordinator
 * can be set up and scripts written before users existed keep working.
 *
 * Tokens are 32 random bytes (base64url, prefix `fm_`); only their SHA-256
 * is stored.
 */
import { createHash, randomBytes } from 'node:crypto';

export const ROLES = ['marketer', 'compliance', 'admin', 'merchant'] as const;
export type Role = (typeof ROLES)[number];

/** Labels of the roles, for the console and the docs. */
export const ROLE_LABELS: Readonly<Record<Role, { en: string; zh: string }>> = {
  marketer: { en: 'Marketer', zh: '营销人员' },
  compliance: { en: 'Compliance officer', zh: '合规官' },
  admin: { en: 'Administrator', zh: '管理员' },
  merchant: { en: 'Merchant operator', zh: '商家运营' },
};

/** The authenticated caller of one request. */
export interface Principal {
  /** Opaque user id (an audit id: letters, digits, `. _ : / -`). */
  readonly id: string;
  readonly role: Role;
  /** Purposes a marketer may query; empty for other roles. */
  readonly purposes: readonly string[];
  /** The shop a merchant operator belongs to; null for other roles. */
  readonly merchantId: string | null;
  /** The bootstrap administrator: may call every route for every purpose. */
  readonly bootstrap: boolean;
}

/** Id of the bootstrap administrator (the requester named in queries it creates). */
export const BOOTSTRAP_USER_ID = 'operator';

export function bootstrapPrincipal(): Principal {
  return { id: BOOTSTRAP_USER_ID, role: 'admin', purposes: [], merchantId: null, bootstrap: true };
}

/** SHA-256 of a token's UTF-8 bytes: what is stored and compared. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A new random API token. */
export function newToken(): string {
  return `fm_${randomBytes(32).toString('base64url')}`;
}

/** A new opaque user id. */
export function newUserId(): string {
  return `usr-${randomBytes(6).toString('hex')}`;
}

/** True when `principal` may act for `purpose`. */
export function purposeGranted(principal: Principal, purpose: string): boolean {
  return principal.bootstrap || principal.purposes.includes(purpose);
}
