/**
 * Routes for administrators (users, purposes, PIAs, merchants) and for
 * merchant operators (their own shop's enrolment status and the released
 * benchmarks their shop took part in).
 *
 * A merchant operator's benchmark is the released segment statistics of
 * queries their shop contributed to with at least two other shops:
 * cross-shop aggregates above the m and k thresholds, never another shop's
 * own figures. The shop compares them with its own numbers locally.
 */
import { z } from 'zod';
import { blake2b256, toHex } from '../crypto/index.js';
import { DEFAULT_FIELD_CLASSIFICATION, PurposeError, parsePurposeRegistry, purposeDisclosureSchema, type PiaRecord, type PurposeDefinition } from '../compliance/index.js';
import type { UserStore, UserRecord } from './auth-store.js';
import { ROLES } from './auth.js';
import { defineRoute, type ApiRoute } from './http-routes.js';
import { HttpProblem } from './problems.js';
import type { PurposeStore } from './purpose-registry.js';
import type { AuditTrail } from './audit-trail.js';
import type { CoordinatorStore } from './store.js';

/**
 * Fewest shops in a release shown as a benchmark. A shop subtracting its own
 * figures from a release of n shops learns the sum of the other n - 1; with
 * at least 3 that is never a single other shop, whatever m the query had.
 */
export const BENCHMARK_MIN_SHOPS = 3;

export interface AdminRouteDeps {
  readonly store: CoordinatorStore;
  readonly users: UserStore;
  readonly purposes: PurposeStore;
  readonly audit: AuditTrail;
}

const iso = z.string().meta({ format: 'date-time' });
const purposeCode = z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a purpose code like marketing-analytics');
const merchantIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'expected a merchant id');

export const userViewSchema = z.object({
  userId: z.string(),
  role: z.enum(ROLES),
  purposes: z.array(z.string()),
  merchantId: z.string().nullable(),
  label: z.string().nullable(),
  createdBy: z.string(),
  createdAt: iso,
  revokedAt: iso.nullable(),
}).meta({ id: 'User' });

export const createUserBody = z.object({
  userId: z.string().min(3).max(63).regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a lower-case id such as mkt-li').optional(),
  role: z.enum(ROLES),
  purposes: z.array(purposeCode).max(100).optional(),
  merchantId: merchantIdSchema.optional(),
  label: z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]+$/).optional(),
}).strict().meta({ id: 'CreateUser' });

const purposeBody = z.object({
  name: purposeCode,
  description: z.string().min(1).max(4000),
  legalBasis: z.string().min(1).max(64),
  allowedFields: z.array(z.string().min(1).max(128)).max(1000),
  sensitiveAllowed: z.boolean(),
  retentionDays: z.number().int().min(1).max(36_600),
  recipients: z.array(z.string().min(1).max(256)).max(64),
  personalisedMarketing: z.boolean(),
  /** What the key holder may release for the purpose (exact, or DP with a budget); absent: exact under the key holder's floors. */
  disclosure: purposeDisclosureSchema.optional(),
}).strict().meta({ id: 'Purpose' });

const piaBody = z.object({
  id: z.string().min(1).max(128),
  purpose: purposeCode,
  assessedAt: z.string().min(1).max(40),
  reviewer: z.string().min(1).max(256),
  summary: z.string().min(1).max(4000),
  risks: z.array(z.string().min(1).max(4000)).min(1).max(256),
  measures: z.array(z.string().min(1).max(4000)).min(1).max(256),
  retainUntil: z.string().min(1).max(40),
}).strict().meta({ id: 'Pia' });

const merchantViewSchema = z.object({
  merchantId: z.string(),
  enrolledAt: iso,
  keyDigest: z.string().regex(/^[0-9a-f]{64}$/),
  contributions: z.number().int().min(0),
  lastContributionAt: iso.nullable(),
  /** How often the signing key was rotated (0: the enrolled key). */
  keySequence: z.number().int().min(0),
  /** Enrolled with a one-time token of the enrolment authority (false only for enrolments from before tokens). */
  tokenEnrolled: z.boolean(),
  revokedAt: iso.nullable(),
}).meta({ id: 'Merchant' });

const revokeMerchantBody = z.object({
  /** Why, as a reason code for the audit log (default REVOKED_BY_ADMINISTRATOR). */
  reason: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected a reason code like CONTRACT_ENDED').optional(),
}).strict().meta({ id: 'RevokeMerchant' });

const benchmarkSchema = z.object({
  merchantId: z.string(),
  benchmarks: z.array(z.object({
    queryId: z.string(),
    kind: z.string(),
    purpose: z.string(),
    releasedAt: iso,
    merchants: z.number().int(),
    result: z.unknown(),
  })),
}).meta({ id: 'MerchantBenchmark' });

export function userView(u: UserRecord): z.infer<typeof userViewSchema> {
  return {
    userId: u.userId,
    role: u.role,
    purposes: [...u.purposes],
    merchantId: u.merchantId,
    label: u.label,
    createdBy: u.createdBy,
    createdAt: u.createdAt.toISOString(),
    revokedAt: u.revokedAt?.toISOString() ?? null,
  };
}

interface MerchantRow {
  merchant_id: string;
  signing_public_key: Uint8Array;
  enrolled_at: Date;
  contributions: number;
  last_at: Date | null;
  key_sequence: number;
  token_enrolled: boolean;
  revoked_at: Date | null;
}

const MERCHANT_SQL = `SELECT m.merchant_id, m.signing_public_key, m.enrolled_at, m.key_sequence, m.key_evidence IS NOT NULL AS token_enrolled, m.revoked_at,
    (SELECT count(*)::int FROM contributions c WHERE c.merchant_id = m.merchant_id) AS contributions,
    (SELECT max(c.received_at) FROM contributions c WHERE c.merchant_id = m.merchant_id) AS last_at
  FROM merchants m`;

function merchantView(r: MerchantRow): z.infer<typeof merchantViewSchema> {
  return {
    merchantId: r.merchant_id,
    enrolledAt: new Date(r.enrolled_at).toISOString(),
    keyDigest: toHex(blake2b256(r.signing_public_key)),
    contributions: r.contributions,
    lastContributionAt: r.last_at ? new Date(r.last_at).toISOString() : null,
    keySequence: r.key_sequence,
    tokenEnrolled: r.token_enrolled,
    revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  };
}

function invalidPurpose(err: unknown): never {
  if (err instanceof PurposeError) throw new HttpProblem('PURPOSE_INVALID', err.message);
  throw err;
}

export function adminRoutes(deps: AdminRouteDeps): ApiRoute[] {
  const { store, users, purposes, audit } = deps;
  const merchant = async (id: string): Promise<MerchantRow> => {
    const rows = await store.db.query<MerchantRow>(`${MERCHANT_SQL} WHERE m.merchant_id = $1`, [id]);
    if (!rows[0]) throw new HttpProblem('MERCHANT_NOT_FOUND', `no merchant ${id}`);
    return rows[0];
  };
  return [
    defineRoute({
      method: 'GET', url: '/v1/users', operationId: 'listUsers', tag: 'administration',
      summary: 'API users with role, granted purposes and revocation',
      roles: ['admin'],
      responses: { 200: { description: 'Users (token hashes are never shown)', schema: z.object({ users: z.array(userViewSchema) }) } },
      handler: async () => ({ users: (await users.list()).map(userView) }),
    }),
    defineRoute({
      method: 'POST', url: '/v1/users', operationId: 'createUser', tag: 'administration',
      summary: 'Create a user; the answer carries its API token, shown only this once',
      roles: ['admin'],
      body: createUserBody,
      responses: { 201: { description: 'Created', schema: z.object({ user: userViewSchema, token: z.string() }) } },
      problems: ['USER_INVALID', 'USER_EXISTS', 'PURPOSE_UNKNOWN'],
      handler: async ({ body, principal }) => {
        for (const p of body.purposes ?? []) {
          if (!(await purposes.purpose(p))) throw new HttpProblem('PURPOSE_UNKNOWN', `purpose ${p} is not registered`);
        }
        const { user, token } = await users.create(body, principal.id);
        return { user: userView(user), token };
      },
    }),
    defineRoute({
      method: 'POST', url: '/v1/users/:id/revoke', operationId: 'revokeUser', tag: 'administration',
      summary: "Revoke a user's token at once",
      roles: ['admin'],
      params: z.object({ id: z.string().min(1).max(63) }).strict(),
      responses: { 200: { description: 'Revoked', schema: userViewSchema } },
      problems: ['USER_NOT_FOUND', 'SELF_REVOKE'],
      handler: async ({ params, principal }) => {
        // Locking oneself out leaves no administrator to undo it; another administrator (or the bootstrap token) can.
        if (params.id === principal.id) throw new HttpProblem('SELF_REVOKE', `you are signed in as ${params.id}; ask another administrator to revoke this token`);
        return userView(await users.revoke(params.id, principal.id));
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/purposes', operationId: 'listPurposes', tag: 'purposes',
      summary: 'Registered processing purposes (marketers see the ones they are granted)',
      roles: ['admin', 'compliance', 'marketer'],
      responses: { 200: { description: 'Purposes', schema: z.object({ purposes: z.array(purposeBody) }) } },
      handler: async ({ principal }) => ({
        purposes: (await purposes.purposes()).filter((p) => principal.role !== 'marketer' || principal.purposes.includes(p.name)),
      }),
    }),
    defineRoute({
      method: 'POST', url: '/v1/purposes', operationId: 'registerPurpose', tag: 'purposes',
      summary: 'Register a purpose or change its terms (audited as purpose.registered)',
      roles: ['admin'],
      body: purposeBody,
      responses: { 200: { description: 'Registered (changed tells whether anything was new)', schema: z.object({ purpose: purposeBody, changed: z.boolean() }) } },
      problems: ['PURPOSE_INVALID'],
      handler: async ({ body, principal }) => {
        const existing = await purposes.registry();
        let registry;
        try {
          registry = parsePurposeRegistry({
            version: 1,
            purposes: [...existing.purposes.filter((p) => p.name !== body.name), body],
            pias: existing.pias,
          }, DEFAULT_FIELD_CLASSIFICATION);
        } catch (err) {
          invalidPurpose(err);
        }
        const purpose = registry.purposes.find((p) => p.name === body.name) as PurposeDefinition;
        const changed = await purposes.sync({ version: 1, purposes: [purpose], pias: [] }, principal.id);
        return { purpose, changed: changed > 0 };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/pias', operationId: 'listPias', tag: 'purposes',
      summary: 'Recorded personal-information impact assessments (个人信息保护影响评估)',
      roles: ['admin', 'compliance'],
      responses: { 200: { description: 'PIAs', schema: z.object({ pias: z.array(piaBody) }) } },
      handler: async () => ({ pias: await purposes.pias() }),
    }),
    defineRoute({
      method: 'POST', url: '/v1/pias', operationId: 'recordPia', tag: 'purposes',
      summary: 'Record a PIA for a registered purpose (kept at least three years; audited as pia.recorded)',
      roles: ['admin'],
      body: piaBody,
      responses: { 200: { description: 'Recorded', schema: z.object({ pia: piaBody, changed: z.boolean() }) } },
      problems: ['PURPOSE_INVALID'],
      handler: async ({ body, principal }) => {
        const existing = await purposes.registry();
        let registry;
        try {
          registry = parsePurposeRegistry({ version: 1, purposes: existing.purposes, pias: [...existing.pias.filter((p) => p.id !== body.id), body] }, DEFAULT_FIELD_CLASSIFICATION);
        } catch (err) {
          invalidPurpose(err);
        }
        const pia = registry.pias.find((p) => p.id === body.id) as PiaRecord;
        const changed = await purposes.sync({ version: 1, purposes: [], pias: [pia] }, principal.id);
        return { pia, changed: changed > 0 };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/merchants', operationId: 'listMerchants', tag: 'merchants',
      summary: 'Enrolled merchants and how much they took part',
      roles: ['admin'],
      responses: { 200: { description: 'Merchants', schema: z.object({ merchants: z.array(merchantViewSchema) }) } },
      handler: async () => ({ merchants: (await store.db.query<MerchantRow>(`${MERCHANT_SQL} ORDER BY m.merchant_id`)).map(merchantView) }),
    }),
    defineRoute({
      method: 'GET', url: '/v1/merchants/:id', operationId: 'getMerchant', tag: 'merchants',
      summary: "A shop's enrolment status (merchant operators: their own shop only)",
      roles: ['admin', 'merchant'],
      params: z.object({ id: merchantIdSchema }).strict(),
      responses: { 200: { description: 'Enrolment status', schema: merchantViewSchema } },
      problems: ['MERCHANT_NOT_FOUND', 'NOT_OWN_MERCHANT'],
      handler: async ({ params, requireMerchant }) => {
        await requireMerchant(params.id);
        return merchantView(await merchant(params.id));
      },
    }),
    defineRoute({
      method: 'POST', url: '/v1/merchants/:id/revoke', operationId: 'revokeMerchant', tag: 'merchants',
      summary: 'Revoke a merchant: its later contributions are refused (MERCHANT_REVOKED); accepted ones stay valid (audited as merchant.revoked)',
      roles: ['admin'],
      params: z.object({ id: merchantIdSchema }).strict(),
      body: revokeMerchantBody,
      responses: { 200: { description: 'Revoked (or already revoked)', schema: merchantViewSchema } },
      problems: ['MERCHANT_NOT_FOUND'],
      handler: async ({ params, body, principal }) => {
        const reason = body.reason ?? 'REVOKED_BY_ADMINISTRATOR';
        const outcome = await store.revokeMerchant(params.id, reason, (tx) => audit.record({
          type: 'merchant.revoked',
          actor: principal.id,
          details: { merchantId: params.id, reason },
        }, tx));
        if (outcome === 'unknown') throw new HttpProblem('MERCHANT_NOT_FOUND', `no merchant ${params.id}`);
        return merchantView(await merchant(params.id));
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/merchants/:id/benchmark', operationId: 'getMerchantBenchmark', tag: 'merchants',
      summary: 'Released cross-shop segment statistics of queries the shop took part in, to compare with its own figures locally',
      roles: ['admin', 'merchant'],
      params: z.object({ id: merchantIdSchema }).strict(),
      responses: { 200: { description: 'Benchmarks, newest first (at most 10)', schema: benchmarkSchema } },
      problems: ['MERCHANT_NOT_FOUND', 'NOT_OWN_MERCHANT'],
      handler: async ({ params, requireMerchant }) => {
        await requireMerchant(params.id);
        await merchant(params.id);
        const rows = await store.db.query<{ query_id: string; kind: string; purpose: string; created_at: Date; result_json: string; merchants: number }>(
          `SELECT q.query_id, q.kind, q.purpose, r.created_at, r.result_json,
              (SELECT count(*)::int FROM contributions c2 WHERE c2.query_id = q.query_id) AS merchants
             FROM queries q JOIN releases r ON r.query_id = q.query_id
            WHERE q.kind = 'segment-stats' AND q.status = 'released'
              AND EXISTS (SELECT 1 FROM contributions c WHERE c.query_id = q.query_id AND c.merchant_id = $1)
              AND (SELECT count(*) FROM contributions c3 WHERE c3.query_id = q.query_id) >= $2
            ORDER BY r.created_at DESC LIMIT 10`,
          [params.id, BENCHMARK_MIN_SHOPS],
        );
        return {
          merchantId: params.id,
          benchmarks: rows.map((r) => ({
            queryId: r.query_id,
            kind: r.kind,
            purpose: r.purpose,
            releasedAt: new Date(r.created_at).toISOString(),
            merchants: r.merchants,
            result: JSON.parse(r.result_json) as unknown,
          })),
        };
      },
    }),
  ];
}
