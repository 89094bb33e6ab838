/**
 * HTTP routes of the audit trail: the latest signed checkpoint, entries,
 * inclusion and consistency proofs for anyone holding a checkpoint, and
 * signed audit-report bundles for compliance officers.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { toHex } from '../crypto/index.js';
import { DEFAULT_FIELD_CLASSIFICATION, exportAuditBundle, registersFromConfig, verifierKeyString } from '../compliance/index.js';
import type { AuditTrail } from './audit-trail.js';
import { HttpProblem } from './problems.js';
import type { PurposeStore } from './purpose-registry.js';

const seqQuery = z.object({ from: z.coerce.number().int().min(0), to: z.coerce.number().int().min(0) }).strict();
const inclusionQuery = z.object({ seq: z.coerce.number().int().min(0), size: z.coerce.number().int().min(1).optional() }).strict();
const exportBody = z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }).strict();

/** Most entries one request returns. */
export const MAX_AUDIT_PAGE = 1000;

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new HttpProblem('VALIDATION_FAILED', issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid');
  }
  return r.data;
}

export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditTrail; purposes: PurposeStore }): void {
  const { audit } = deps;

  app.get('/v1/audit/checkpoint', async () => {
    const checkpoint = await audit.checkpoint();
    return {
      checkpoint,
      origin: audit.origin,
      publicKey: toHex(audit.publicKey),
      verifierKey: verifierKeyString(audit.origin, audit.publicKey),
    };
  });

  app.get('/v1/audit/entries', async (request) => {
    const { from, to } = parse(seqQuery, request.query);
    if (to < from || to - from > MAX_AUDIT_PAGE) throw new HttpProblem('AUDIT_RANGE_INVALID', `need from <= to and at most ${MAX_AUDIT_PAGE} entries`);
    const rows = await audit.log.entryRows(from, to);
    return { entries: rows.map((r) => ({ seq: r.seq, entry: r.entryJson })) };
  });

  app.get('/v1/audit/proofs/inclusion', async (request) => {
    const { seq, size } = parse(inclusionQuery, request.query);
    const logSize = await audit.log.size();
    const treeSize = size ?? logSize;
    if (seq >= treeSize || treeSize > logSize) throw new HttpProblem('AUDIT_RANGE_INVALID', `need seq < size <= ${logSize}`);
    const proof = await audit.log.inclusionProof(seq, treeSize);
    return { seq, size: treeSize, proof: proof.map(toHex) };
  });

  app.get('/v1/audit/proofs/consistency', async (request) => {
    const { from, to } = parse(seqQuery, request.query);
    const logSize = await audit.log.size();
    if (from > to || to > logSize) throw new HttpProblem('AUDIT_RANGE_INVALID', `need from <= to <= ${logSize}`);
    const proof = await audit.log.consistencyProof(from, to);
    return { from, to, proof: proof.map(toHex) };
  });

  app.post('/v1/audit/exports', async (request) => {
    const { from, to } = parse(exportBody, request.body);
    if (Date.parse(from) > Date.parse(to)) throw new HttpProblem('AUDIT_RANGE_INVALID', 'from must not be after to');
    return audit.exportBundle({
      from,
      to,
      registers: registersFromConfig(await deps.purposes.registry(), DEFAULT_FIELD_CLASSIFICATION),
      actor: 'operator',
    });
  });
}
