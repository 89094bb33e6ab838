/**
 * HTTP routes of the audit trail, for compliance officers: the latest signed
 * checkpoint, entries, inclusion and consistency proofs for anyone holding a
 * checkpoint, consent evidence and the rights-request register derived from
 * the log, and signed audit-report bundles — synchronously
 * (`POST /v1/audit/exports`, as `fedmart audit export` and the demo use it)
 * or as a job that also renders the HTML report and, where a headless
 * Chromium is installed, the PDF (`POST /v1/audit/export-jobs`).
 */
import { z } from 'zod';
import { toHex } from '../crypto/index.js';
import {
  AUDIT_ID_RE,
  AuditLogError,
  DEFAULT_FIELD_CLASSIFICATION,
  consentFigures,
  rightsRegister,
  auditBundleSchema,
  deriveSections,
  registersFromConfig,
  renderAuditReportHtml,
  verifierKeyString,
  verifyAuditBundle,
  type AuditBundle,
  type AuditEntry,
} from '../compliance/index.js';
import type { AuditTrail } from './audit-trail.js';
import { defineRoute, RouteReply, type ApiRoute } from './http-routes.js';
import type { Job, JobRegistry } from './http-jobs.js';
import { findChromium, renderPdf } from './http-report-pdf.js';
import { RenderSlots } from './render-slots.js';
import { HttpProblem } from './problems.js';
import type { PurposeStore } from './purpose-registry.js';

/** Most entries one request returns. */
export const MAX_AUDIT_PAGE = 1000;
/** Most entries the consent and rights registers are derived from (the newest). */
export const MAX_DERIVED_ENTRIES = 200_000;

const iso = z.string().meta({ format: 'date-time' });
const seqQuery = z.object({ from: z.coerce.number().int().min(0), to: z.coerce.number().int().min(0) }).strict();
const entriesQuery = z.object({
  from: z.coerce.number().int().min(0),
  to: z.coerce.number().int().min(0),
  type: z.string().regex(/^[a-z][a-z.]{0,63}$/).optional(),
  actor: z.string().min(1).max(128).optional(),
  /** Only entries about this query (its `queryId`, or a retried round's `failedQueryId`). */
  queryId: z.string().regex(AUDIT_ID_RE).optional(),
}).strict();
const inclusionQuery = z.object({ seq: z.coerce.number().int().min(0), size: z.coerce.number().int().min(1).optional() }).strict();
const exportBody = z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }).strict().meta({ id: 'AuditRange' });
const exportJobBody = exportBody.extend({
  /** Also render the PDF (default true; skipped with a note when no Chromium is installed). */
  pdf: z.boolean().optional(),
}).strict().meta({ id: 'AuditExportJobRequest' });
const jobParams = z.object({ id: z.string().min(1).max(64).regex(/^job-[0-9a-f]+$/) }).strict();

const hex = z.string().regex(/^[0-9a-f]*$/);
const counts = z.record(z.string(), z.number());

export const jobViewSchema = z.object({
  jobId: z.string(),
  kind: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
  progress: z.object({ done: z.number().int(), total: z.number().int(), step: z.string() }),
  createdAt: iso,
  finishedAt: iso.nullable(),
  error: z.object({ code: z.string(), title: z.string(), detail: z.string().optional() }).nullable(),
  result: z.object({
    entries: z.number().int(),
    verified: z.boolean(),
    verification: z.string(),
    links: z.object({ bundle: z.string(), html: z.string(), pdf: z.string().nullable() }),
    pdfNote: z.string().nullable(),
  }).nullable(),
}).meta({ id: 'Job' });

/** Figures that count what they say: subject-rounds are summed over rounds, distinct subjects only bounded from below. */
const consentFigureFields = {
  rounds: z.number().int().describe('Rounds (queries, including every round of a model fit and every retry) with an accepted contribution'),
  shops: z.number().int().describe('Shops with an accepted contribution'),
  subjectRoundsIncluded: z.number().int().describe('Included subjects summed over contributions: subject-rounds (one customer in N rounds counts N times), NOT distinct subjects'),
  subjectRoundsExcluded: z.number().int().describe('Excluded subjects summed over contributions: subject-rounds, NOT distinct subjects'),
  largestRoundIncluded: z.number().int().describe('The most subjects included in any single round, all its shops together'),
  distinctIncludedAtLeast: z.number().int().describe('Lower bound of the distinct consented (shop, customer) pairs included: each shop\'s largest single-round count, summed over shops. The exact distinct count cannot be derived: the coordinator never sees who was included'),
};

const consentEvidenceSchema = z.object({
  size: z.number().int(),
  derivedFrom: z.number().int(),
  purposes: z.array(z.object({
    purpose: z.string().nullable(),
    registered: z.boolean(),
    legalBasis: z.string().nullable(),
    piaIds: z.array(z.string()),
    queriesRun: z.number().int(),
    contributions: z.number().int(),
    subjectsIncluded: z.number().int().describe('Same as subjectRoundsIncluded: summed over rounds, NOT distinct subjects (kept for existing readers)'),
    subjectsExcluded: z.number().int().describe('Same as subjectRoundsExcluded: summed over rounds, NOT distinct subjects (kept for existing readers)'),
    excludedByReason: counts.describe('Excluded subjects by reason, summed over contributions (subject-rounds)'),
    ...consentFigureFields,
    periods: z.array(z.object({
      period: z.string().describe('UTC month YYYY-MM of the accepted contributions'),
      contributions: z.number().int(),
      ...consentFigureFields,
    })).describe('The same figures per UTC month, ascending; a month\'s lower bound is not additive across months'),
  })),
}).meta({ id: 'ConsentEvidence' });

const rightsSchema = z.object({
  size: z.number().int(),
  derivedFrom: z.number().int(),
  total: z.number().int().describe('Requests: a request reported pending and later handled counts once'),
  byType: counts,
  byStatus: z.object({ pending: z.number().int(), handled: z.number().int(), unreported: z.number().int() }).describe('Requests by status; unreported: from nodes that did not report it'),
  requests: z.array(z.object({
    seq: z.number().int().describe('Seq of the entry of the latest report of the request'),
    shopId: z.string(),
    requestType: z.string(),
    day: z.string().describe('UTC day of the latest report: handled, or received while pending'),
    status: z.enum(['pending', 'handled']).nullable().describe('Null when the shop did not report it (older nodes)'),
    receivedDay: z.string().nullable(),
    responseDays: z.number().int().nullable().describe('Whole days from received to handled; null while pending or when not reported'),
    reportSeqs: z.array(z.number().int()),
  })),
}).meta({ id: 'RightsRegister' });

/** What an export job stores as its summary; the bundle, HTML and PDF are its files. */
interface ExportSummary {
  readonly entries: number;
  readonly verified: boolean;
  readonly verification: string;
  readonly pdf: boolean;
  readonly pdfNote: string | null;
}

/** An export job's parameters, enough to run it again on any coordinator. */
interface ExportParams {
  readonly from: string;
  readonly to: string;
  readonly pdf: boolean;
}

const EXPORT_FILES = { bundle: 'bundle.json', html: 'report.html', pdf: 'report.pdf' } as const;

function jobView(job: Job): z.infer<typeof jobViewSchema> {
  const r = job.result as ExportSummary | null;
  const base = `/v1/jobs/${job.jobId}`;
  return {
    jobId: job.jobId,
    kind: job.kind,
    status: job.status,
    progress: { ...job.progress },
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    error: job.error,
    result: r === null ? null : {
      entries: r.entries,
      verified: r.verified,
      verification: r.verification,
      links: { bundle: `${base}/bundle`, html: `${base}/report.html`, pdf: r.pdf ? `${base}/report.pdf` : null },
      pdfNote: r.pdfNote,
    },
  };
}

export interface AuditRouteDeps {
  readonly audit: AuditTrail;
  readonly purposes: PurposeStore;
  readonly jobs: JobRegistry;
  /** Chromium for PDF reports: a path, null for none, undefined to look for one. */
  readonly chromium?: string | null | undefined;
  /** The cap on Chromium renders at once in this process (default: 2). */
  readonly renders?: RenderSlots;
}

export function auditRoutes(deps: AuditRouteDeps): ApiRoute[] {
  const { audit } = deps;
  const chromium = deps.chromium === undefined ? findChromium() : deps.chromium;

  const registers = async () => registersFromConfig(await deps.purposes.registry(), DEFAULT_FIELD_CLASSIFICATION);

  const checkRange = (from: string, to: string) => {
    if (Date.parse(from) > Date.parse(to)) throw new HttpProblem('AUDIT_RANGE_INVALID', 'from must not be after to');
  };

  /** Exports a bundle; a range the log cannot yet show complete (it begins after the latest entry) is the caller's error. */
  const exportBundle = async (body: { from: string; to: string }, actor: string): Promise<AuditBundle> => {
    try {
      return await audit.exportBundle({ from: body.from, to: body.to, registers: await registers(), actor });
    } catch (e) {
      if (e instanceof AuditLogError && (e.code === 'OUT_OF_RANGE' || e.code === 'TIMES_OUT_OF_ORDER')) throw new HttpProblem('AUDIT_RANGE_INVALID', e.message);
      throw e;
    }
  };

  /** Sections derived from the newest entries of the log. */
  const derived = async () => {
    const size = await audit.log.size();
    const start = Math.max(0, size - MAX_DERIVED_ENTRIES);
    const entries: AuditEntry[] = [];
    for (let s = start; s < size; s += MAX_AUDIT_PAGE) entries.push(...(await audit.log.entries(s, Math.min(size, s + MAX_AUDIT_PAGE))));
    return { size, derivedFrom: start, entries, sections: deriveSections(entries, await registers()) };
  };

  const renders = deps.renders ?? new RenderSlots();

  deps.jobs.define<ExportParams>('audit-export', async (params, progress, job) => {
    void progress(0, 'signing');
    const bundle = await exportBundle(params, job.owner);
    void progress(1, 'verifying');
    const v = verifyAuditBundle(bundle, { publicKeyHex: toHex(audit.publicKey) });
    const verification = v.ok ? `intact: ${v.summary.entries} entries, log size ${v.summary.size}, root ${v.summary.root}` : `BROKEN at ${v.firstBroken}: ${v.reason}`;
    void progress(2, 'rendering-html');
    const html = renderAuditReportHtml(bundle, { verification: v });
    let pdf: Buffer | null = null;
    let pdfNote: string | null = null;
    if (!params.pdf) pdfNote = 'PDF not requested';
    else if (!chromium) pdfNote = 'no headless Chromium installed on the coordinator';
    else {
      pdf = await renders.run(() => {
        void progress(3, 'rendering-pdf');
        return renderPdf(html, { chromium });
      }, () => void progress(3, 'waiting-for-renderer'));
    }
    const summary: ExportSummary = { entries: bundle.entries.length, verified: v.ok, verification, pdf: pdf !== null, pdfNote };
    return {
      summary: { ...summary },
      files: { [EXPORT_FILES.bundle]: JSON.stringify(bundle), [EXPORT_FILES.html]: html, ...(pdf ? { [EXPORT_FILES.pdf]: pdf } : {}) },
    };
  });

  /** A result file of a finished export job the caller may see. */
  const exportFile = async (id: string, principalId: string, bootstrap: boolean, name: string): Promise<Buffer | null> => {
    const job = await deps.jobs.get(id, principalId, bootstrap);
    if (job.status !== 'done' || job.result === null) throw new HttpProblem('JOB_NOT_DONE', `job ${id} is ${job.status}`);
    return deps.jobs.file(id, name);
  };
  const requiredFile = async (id: string, principalId: string, bootstrap: boolean, name: string): Promise<Buffer> => {
    const body = await exportFile(id, principalId, bootstrap, name);
    if (!body) throw new HttpProblem('JOB_NOT_DONE', `job ${id} has no ${name}`);
    return body;
  };

  return [
    defineRoute({
      method: 'GET', url: '/v1/audit/checkpoint', operationId: 'getAuditCheckpoint', tag: 'audit',
      summary: 'The latest signed checkpoint (C2SP signed note) and the audit public key',
      roles: ['compliance'],
      responses: {
        200: {
          description: 'Checkpoint',
          schema: z.object({ checkpoint: z.string(), origin: z.string(), publicKey: hex, verifierKey: z.string() }).meta({ id: 'Checkpoint' }),
        },
      },
      handler: async () => ({
        checkpoint: await audit.checkpoint(),
        origin: audit.origin,
        publicKey: toHex(audit.publicKey),
        verifierKey: verifierKeyString(audit.origin, audit.publicKey),
      }),
    }),
    defineRoute({
      method: 'GET', url: '/v1/audit/entries', operationId: 'listAuditEntries', tag: 'audit',
      summary: `Entries with seq in [from, to) (at most ${MAX_AUDIT_PAGE}), optionally only of one type, actor or query; each as its exact canonical text`,
      roles: ['compliance'],
      query: entriesQuery,
      responses: {
        200: {
          description: 'Entries',
          schema: z.object({ size: z.number().int(), entries: z.array(z.object({ seq: z.number().int(), entry: z.string() })) }).meta({ id: 'AuditEntries' }),
        },
      },
      problems: ['AUDIT_RANGE_INVALID'],
      handler: async ({ query }) => {
        const { from, to, type, actor, queryId } = query;
        if (to < from || to - from > MAX_AUDIT_PAGE) throw new HttpProblem('AUDIT_RANGE_INVALID', `need from <= to and at most ${MAX_AUDIT_PAGE} entries`);
        const size = await audit.log.size();
        const rows = await audit.log.entryRows(Math.min(from, size), Math.min(to, size));
        const wanted = rows.filter((r) => {
          if (type === undefined && actor === undefined && queryId === undefined) return true;
          const e = JSON.parse(r.entryJson) as { type: string; actor: string; details: { queryId?: unknown; failedQueryId?: unknown } };
          return (type === undefined || e.type === type) && (actor === undefined || e.actor === actor)
            && (queryId === undefined || e.details.queryId === queryId || e.details.failedQueryId === queryId);
        });
        return { size, entries: wanted.map((r) => ({ seq: r.seq, entry: r.entryJson })) };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/audit/proofs/inclusion', operationId: 'getInclusionProof', tag: 'audit',
      summary: 'RFC 9162 inclusion proof of entry seq in the tree of the given size (default: the whole log)',
      roles: ['compliance'],
      query: inclusionQuery,
      responses: { 200: { description: 'Proof, hex hashes from the leaf sibling up', schema: z.object({ seq: z.number().int(), size: z.number().int(), proof: z.array(hex) }) } },
      problems: ['AUDIT_RANGE_INVALID'],
      handler: async ({ query }) => {
        const logSize = await audit.log.size();
        const treeSize = query.size ?? logSize;
        if (query.seq >= treeSize || treeSize > logSize) throw new HttpProblem('AUDIT_RANGE_INVALID', `need seq < size <= ${logSize}`);
        const proof = await audit.log.inclusionProof(query.seq, treeSize);
        return { seq: query.seq, size: treeSize, proof: proof.map(toHex) };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/audit/proofs/consistency', operationId: 'getConsistencyProof', tag: 'audit',
      summary: 'RFC 9162 consistency proof between two tree sizes',
      roles: ['compliance'],
      query: seqQuery,
      responses: { 200: { description: 'Proof', schema: z.object({ from: z.number().int(), to: z.number().int(), proof: z.array(hex) }) } },
      problems: ['AUDIT_RANGE_INVALID'],
      handler: async ({ query }) => {
        const logSize = await audit.log.size();
        if (query.from > query.to || query.to > logSize) throw new HttpProblem('AUDIT_RANGE_INVALID', `need from <= to <= ${logSize}`);
        const proof = await audit.log.consistencyProof(query.from, query.to);
        return { from: query.from, to: query.to, proof: proof.map(toHex) };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/compliance/consent-evidence', operationId: 'getConsentEvidence', tag: 'compliance',
      summary: 'Consent evidence per purpose and month, derived from the log: contributions, rounds, attested subjects included and excluded summed over rounds (subject-rounds, not distinct subjects), a lower bound of the distinct subjects included, PIAs',
      roles: ['compliance'],
      responses: { 200: { description: 'Consent evidence', schema: consentEvidenceSchema } },
      handler: async () => {
        const { size, derivedFrom, entries, sections } = await derived();
        const figures = new Map(consentFigures(entries).map((f) => [f.purpose, f]));
        const register = new Map(sections.processingRegister.map((r) => [r.purpose, r]));
        const names = new Set<string | null>([...sections.processingRegister.map((r) => r.purpose), ...sections.consentSummary.map((r) => r.purpose)]);
        return {
          size,
          derivedFrom,
          purposes: [...names].map((purpose) => {
            const reg = purpose === null ? undefined : register.get(purpose);
            const rows = sections.consentSummary.filter((c) => c.purpose === purpose);
            const excludedByReason: Record<string, number> = {};
            for (const r of rows) for (const [k, v] of Object.entries(r.excludedByReason)) excludedByReason[k] = (excludedByReason[k] ?? 0) + v;
            const f = figures.get(purpose);
            return {
              purpose,
              registered: reg?.registered ?? false,
              legalBasis: reg?.legalBasis ?? null,
              piaIds: [...(reg?.piaIds ?? [])],
              queriesRun: reg?.queriesRun ?? 0,
              contributions: rows.reduce((s, r) => s + r.contributions, 0),
              subjectsIncluded: rows.reduce((s, r) => s + r.subjectsIncluded, 0),
              subjectsExcluded: rows.reduce((s, r) => s + r.subjectsExcluded, 0),
              excludedByReason,
              rounds: f?.rounds ?? 0,
              shops: f?.shops ?? 0,
              subjectRoundsIncluded: f?.subjectRoundsIncluded ?? 0,
              subjectRoundsExcluded: f?.subjectRoundsExcluded ?? 0,
              largestRoundIncluded: f?.largestRoundIncluded ?? 0,
              distinctIncludedAtLeast: f?.distinctIncludedAtLeast ?? 0,
              periods: (f?.periods ?? []).map((p) => ({ ...p })),
            };
          }),
        };
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/compliance/rights-requests', operationId: 'getRightsRegister', tag: 'compliance',
      summary: 'Register of data-subject rights requests reported by shops, with status and response time in days (type and days only, never the person)',
      roles: ['compliance'],
      responses: { 200: { description: 'Rights-request register', schema: rightsSchema } },
      handler: async () => {
        const { size, derivedFrom, entries } = await derived();
        const r = rightsRegister(entries);
        return { size, derivedFrom, total: r.total, byType: { ...r.byType }, byStatus: { ...r.byStatus }, requests: r.requests.map((q) => ({ ...q, reportSeqs: [...q.reportSeqs] })) };
      },
    }),
    defineRoute({
      method: 'POST', url: '/v1/audit/exports', operationId: 'exportAuditBundle', tag: 'audit',
      summary: 'Sign and return an audit report bundle of the entries in [from, to] at once, with the entries just outside the range proving none is left out (the export is logged; a to past the latest entry ends at its time)',
      roles: ['compliance'],
      body: exportBody,
      responses: { 200: { description: 'Signed bundle (verify offline with fedmart audit verify)', schema: auditBundleSchema } },
      problems: ['AUDIT_RANGE_INVALID'],
      handler: async ({ body, principal }) => {
        checkRange(body.from, body.to);
        return exportBundle(body, principal.id);
      },
    }),
    defineRoute({
      method: 'POST', url: '/v1/audit/export-jobs', operationId: 'startAuditExport', tag: 'audit',
      summary: 'Start an audit report export job: signed bundle, verification, HTML report and PDF',
      roles: ['compliance'],
      body: exportJobBody,
      responses: { 202: { description: 'Accepted; poll the job (Location header)', schema: jobViewSchema } },
      problems: ['AUDIT_RANGE_INVALID'],
      handler: async ({ body, principal }) => {
        checkRange(body.from, body.to);
        const wantPdf = body.pdf ?? true;
        const params: ExportParams = { from: body.from, to: body.to, pdf: wantPdf };
        const job = await deps.jobs.start('audit-export', principal.id, wantPdf ? 4 : 3, params);
        return new RouteReply(202, jobView(job), { location: `/v1/jobs/${job.jobId}` });
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/jobs', operationId: 'listJobs', tag: 'jobs',
      summary: 'Your jobs, newest first',
      roles: ['compliance'],
      responses: { 200: { description: 'Jobs', schema: z.object({ jobs: z.array(jobViewSchema) }) } },
      handler: async ({ principal }) => ({ jobs: (await deps.jobs.list(principal.id, principal.bootstrap)).map(jobView) }),
    }),
    defineRoute({
      method: 'GET', url: '/v1/jobs/:id', operationId: 'getJob', tag: 'jobs',
      summary: 'Status and progress of a job; links to its results when done',
      roles: ['compliance'],
      params: jobParams,
      responses: { 200: { description: 'The job', schema: jobViewSchema } },
      problems: ['JOB_NOT_FOUND'],
      handler: async ({ params, principal }) => jobView(await deps.jobs.get(params.id, principal.id, principal.bootstrap)),
    }),
    defineRoute({
      method: 'GET', url: '/v1/jobs/:id/bundle', operationId: 'getJobBundle', tag: 'jobs',
      summary: 'The signed audit bundle of a finished export job',
      roles: ['compliance'],
      params: jobParams,
      responses: { 200: { description: 'Signed bundle', schema: auditBundleSchema } },
      problems: ['JOB_NOT_FOUND', 'JOB_NOT_DONE'],
      handler: async ({ params, principal }) => JSON.parse((await requiredFile(params.id, principal.id, principal.bootstrap, EXPORT_FILES.bundle)).toString('utf8')) as AuditBundle,
    }),
    defineRoute({
      method: 'GET', url: '/v1/jobs/:id/report.html', operationId: 'getJobReportHtml', tag: 'jobs',
      summary: 'The self-contained HTML audit report (zh-CN/English) of a finished export job',
      roles: ['compliance'],
      params: jobParams,
      responses: { 200: { description: 'HTML report', contentType: 'text/html' } },
      problems: ['JOB_NOT_FOUND', 'JOB_NOT_DONE'],
      handler: async ({ params, principal }) => {
        const html = (await requiredFile(params.id, principal.id, principal.bootstrap, EXPORT_FILES.html)).toString('utf8');
        return new RouteReply(200, html, {
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
          'content-disposition': `attachment; filename="audit-report-${params.id}.html"`,
        }, 'text/html; charset=utf-8');
      },
    }),
    defineRoute({
      method: 'GET', url: '/v1/jobs/:id/report.pdf', operationId: 'getJobReportPdf', tag: 'jobs',
      summary: 'The PDF audit report of a finished export job (when the coordinator has a headless Chromium)',
      roles: ['compliance'],
      params: jobParams,
      responses: { 200: { description: 'PDF report', contentType: 'application/pdf' } },
      problems: ['JOB_NOT_FOUND', 'JOB_NOT_DONE', 'PDF_UNAVAILABLE'],
      handler: async ({ params, principal }) => {
        const pdf = await exportFile(params.id, principal.id, principal.bootstrap, EXPORT_FILES.pdf);
        if (!pdf) throw new HttpProblem('PDF_UNAVAILABLE');
        return new RouteReply(200, pdf, { 'content-disposition': `attachment; filename="audit-report-${params.id}.pdf"` }, 'application/pdf');
      },
    }),
  ];
}
