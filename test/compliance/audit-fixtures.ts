/**
 * A deterministic audit scenario shared by the audit-log and audit-bundle
 * tests: two purposes with PIAs, four enrolled shops, two queries (one
 * released with noise and a suppressed cell, one failed), accepted and
 * rejected contributions, a rights request, security events and a retention
 * deletion. Times come from a clock that advances one minute per entry.
 */
import { createHash } from 'node:crypto';
import { signingKeyPairFromSeed } from '../../crypto/index.js';
import type { SigningKeyPair } from '../../crypto/index.js';
import { AuditLog } from '../../compliance/audit.js';
import { InMemoryAuditStore } from '../../compliance/audit-store.js';
import type { AuditEvent, AuditRegisters } from '../../compliance/audit.js';

export const ORIGIN = 'fedmart.test/audit';
export const KEY_NAME = 'fedmart.test/audit';
export const START = Date.parse('2025-05-01T00:00:00.000Z');

/** Hex SHA-256 of a label: a stand-in digest. */
export function d(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** The log key (fixed seed, so bundles are reproducible). */
export function logKeyPair(): SigningKeyPair {
  return signingKeyPairFromSeed(new Uint8Array(32).fill(42));
}

/** A clock that returns START + n minutes on its n-th call. */
export function minuteClock(start: number = START): () => Date {
  let n = 0;
  return () => new Date(start + 60_000 * n++);
}

/** The scenario's events in append order. */
export function scenarioEvents(): AuditEvent[] {
  const shops = ['shop-001', 'shop-002', 'shop-003', 'shop-004'];
  return [
    {
      type: 'purpose.registered',
      actor: 'coordinator',
      details: {
        purpose: 'marketing-analytics',
        legalBasis: 'consent',
        allowedFields: ['order_total', 'order_count', 'lifecycle_stage'],
        retentionDays: 180,
        recipients: ['marketing-team'],
      },
    },
    {
      type: 'purpose.registered',
      actor: 'coordinator',
      details: {
        purpose: 'fraud-prevention',
        legalBasis: 'legal-obligation',
        allowedFields: ['return_count'],
        retentionDays: 365,
        recipients: ['risk-team', 'regulator'],
      },
    },
    { type: 'pia.recorded', actor: 'user:dpo-1', details: { piaId: 'pia-2025-01', purpose: 'marketing-analytics', assessedAt: '2025-04-20T00:00:00.000Z', retainUntil: '2028-04-20T00:00:00.000Z', documentDigest: d('pia-1') } },
    ...shops.map((merchantId): AuditEvent => ({ type: 'merchant.enrolled', actor: `merchant:${merchantId}`, details: { merchantId, keyDigest: d(`key-${merchantId}`) } })),
    {
      type: 'query.created',
      actor: 'user:mkt-7',
      details: {
        queryId: 'q-001',
        requester: 'user:mkt-7',
        purpose: 'marketing-analytics',
        legalBasis: 'consent',
        kind: 'segment-stats',
        specDigest: d('spec-q-001'),
        thresholds: { minMerchants: 3, minSubjects: 10 },
      },
    },
    ...shops.slice(0, 3).map((merchantId, i): AuditEvent => ({
      type: 'contribution.accepted',
      actor: `merchant:${merchantId}`,
      details: {
        merchantId,
        queryId: 'q-001',
        envelopeDigest: d(`env-q-001-${merchantId}`),
        attestationDigest: d(`att-q-001-${merchantId}`),
        subjectsIncluded: 100 + i * 10,
        excludedByReason: i === 1 ? { 'no-record': 7, withdrawn: 2 } : { 'no-record': 3 },
      },
    })),
    { type: 'contribution.rejected', actor: 'coordinator', details: { merchantId: 'shop-004', queryId: 'q-001', grpcCode: 'UNAUTHENTICATED', reason: 'SIGNATURE_INVALID' } },
    { type: 'contribution.rejected', actor: 'coordinator', details: { merchantId: null, queryId: null, grpcCode: 'INVALID_ARGUMENT', reason: 'HEADER_INVALID' } },
    { type: 'threshold.suppressed', actor: 'keyholder', details: { queryId: 'q-001', cells: ['churned|tier-3'], reason: 'MIN_SUBJECTS' } },
    {
      type: 'release.stored',
      actor: 'coordinator',
      details: {
        queryId: 'q-001',
        merchants: ['shop-001', 'shop-002', 'shop-003'],
        policy: { minMerchants: 3, minSubjects: 10 },
        noise: { mechanism: 'discrete-laplace', epsilon: 0.5, delta: 0 },
        releaseDigest: d('release-q-001'),
      },
    },
    {
      type: 'query.created',
      actor: 'user:mkt-7',
      details: {
        queryId: 'q-002',
        requester: 'user:mkt-7',
        purpose: 'fraud-prevention',
        legalBasis: 'legal-obligation',
        kind: 'segment-stats',
        specDigest: d('spec-q-002'),
        thresholds: { minMerchants: 3, minSubjects: 10 },
      },
    },
    {
      type: 'contribution.accepted',
      actor: 'merchant:shop-004',
      details: { merchantId: 'shop-004', queryId: 'q-002', envelopeDigest: d('env-q-002-shop-004'), attestationDigest: null, subjectsIncluded: 40, excludedByReason: {} },
    },
    { type: 'query.failed', actor: 'coordinator', details: { queryId: 'q-002', reason: 'TOO_FEW_MERCHANTS', contributions: 1 } },
    { type: 'rights.request', actor: 'merchant:shop-002', details: { shopId: 'shop-002', requestType: 'deletion', day: '2025-05-01' } },
    { type: 'auth.failed', actor: 'anonymous', details: { surface: 'http', route: '/v1/queries', reason: 'BAD_TOKEN' } },
    { type: 'auth.failed', actor: 'anonymous', details: { surface: 'http', route: '/v1/audit/export', reason: 'BAD_TOKEN' } },
    { type: 'config.changed', actor: 'user:admin-1', details: { key: 'disclosure.min-subjects', oldDigest: d('cfg-old'), newDigest: d('cfg-new') } },
    { type: 'retention.deleted', actor: 'coordinator', details: { category: 'contributions', records: 12, cutoff: '2025-01-01T00:00:00.000Z' } },
    { type: 'merchant.key-rotated', actor: 'merchant:shop-001', details: { merchantId: 'shop-001', sequence: 1, keyDigest: d('key-shop-001-1') } },
    { type: 'merchant.revoked', actor: 'user:admin-1', details: { merchantId: 'shop-004', reason: 'CONTRACT_ENDED' } },
    { type: 'export.created', actor: 'user:dpo-1', details: { exportKind: 'release-csv', queryId: 'q-001', from: null, to: null, entryCount: 0, digest: d('csv') } },
    { type: 'round.incomplete', actor: 'coordinator', details: { fitId: 'fit-001', queryId: 'q-003', round: 2, missing: ['shop-003'], contributions: 3 } },
    { type: 'model.stored', actor: 'coordinator', details: { fitId: 'fit-001', kind: 'logistic-regression', purpose: 'churn-modelling', rounds: 6, merchants: ['shop-001', 'shop-002'], modelDigest: d('model') } },
    { type: 'round.retried', actor: 'coordinator', details: { fitId: 'fit-002', round: 1, failedQueryId: 'q-004', queryId: 'q-005', attempt: 2, reason: 'TOO_FEW_MERCHANTS', contributions: 2, deadlineSeconds: 240 } },
    { type: 'fit.failed', actor: 'coordinator', details: { fitId: 'fit-003', kind: 'logistic-regression', purpose: 'churn-modelling', round: 2, code: 'HESSIAN_NOT_POSITIVE_DEFINITE' } },
  ];
}

/** A log over a fresh in-memory store with the scenario appended. */
export async function scenarioLog(options: { checkpointEvery?: number } = {}): Promise<{ log: AuditLog; store: InMemoryAuditStore; keyPair: SigningKeyPair }> {
  const store = new InMemoryAuditStore();
  const keyPair = logKeyPair();
  const log = new AuditLog({ store, origin: ORIGIN, keyName: KEY_NAME, keyPair, clock: minuteClock() });
  const events = scenarioEvents();
  for (let i = 0; i < events.length; i++) {
    await log.append(events[i]!);
    if (options.checkpointEvery !== undefined && (i + 1) % options.checkpointEvery === 0) await log.checkpoint();
  }
  return { log, store, keyPair };
}

/** Registers matching the scenario: fraud-prevention is registered but has no PIA. */
export function scenarioRegisters(): AuditRegisters {
  return {
    purposes: [
      {
        name: 'marketing-analytics',
        description: 'Aggregate segment statistics across participating shops.',
        legalBasis: 'consent',
        allowedFields: ['order_total', 'order_count', 'lifecycle_stage'],
        retentionDays: 180,
        recipients: ['marketing-team'],
      },
      {
        name: 'fraud-prevention',
        description: 'Return-abuse statistics.',
        legalBasis: 'legal-obligation',
        allowedFields: ['return_count'],
        retentionDays: 365,
        recipients: ['risk-team', 'regulator'],
      },
    ],
    pias: [
      {
        id: 'pia-2025-01',
        purpose: 'marketing-analytics',
        assessedAt: '2025-04-20T00:00:00.000Z',
        summary: 'Only encrypted aggregates leave shops; k and m thresholds before release.',
        reviewer: 'Data protection officer (个人信息保护负责人)',
        retainUntil: '2028-04-20T00:00:00.000Z',
      },
    ],
    classification: [
      { field: 'order_total', class: 'general', grade: 'general', category: 'transaction' },
      { field: 'order_count', class: 'general', grade: 'general', category: 'transaction' },
      { field: 'lifecycle_stage', class: 'general', grade: 'general', category: 'profile' },
      { field: 'return_count', class: 'sensitive', grade: 'important', category: 'transaction' },
    ],
  };
}
