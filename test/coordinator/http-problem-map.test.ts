/**
 * Domain refusals become problems only at the HTTP edge: every code of
 * `REQUEST_ERRORS` and the round codes a request can cause have a problem,
 * with the status and detail clients have always seen, through the real
 * error handler of the app.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady, generateSigningKeyPair } from '../../crypto/index.js';
import { ROUND_ERRORS, RoundError, type RoundErrorCode } from '../../round/index.js';
import { AuditTrail, CoordinatorStore, PurposeStore, buildHttpApp, openDatabase, type Database, type FitRunner, type QueryService } from '../../coordinator/index.js';
import { REQUEST_ERRORS, RequestError, type RequestErrorCode, type RequestFailure } from '../../coordinator/request-errors.js';
import { HttpProblem, PROBLEMS } from '../../coordinator/problems.js';
import { REQUEST_PROBLEMS, ROUND_PROBLEMS, problemOf } from '../../coordinator/http-problem-map.js';

/** The status each domain code has always answered with (when it was thrown as an HttpProblem of the same code). */
const STATUS: Record<RequestErrorCode, number> = {
  QUERY_KIND_UNKNOWN: 400,
  QUERY_KIND_INTERNAL: 403,
  QUERY_SPEC_INVALID: 400,
  OVERFLOW_RISK: 400,
  PURPOSE_UNKNOWN: 400,
  PIA_MISSING: 400,
  FIELD_NOT_ALLOWED: 400,
  CUTOFF_INVALID: 400,
  USER_INVALID: 400,
  USER_EXISTS: 409,
  USER_NOT_FOUND: 404,
};

const FAILURE_STATUS: Record<RequestFailure, number> = { invalid: 400, denied: 403, 'not-found': 404, conflict: 409 };

const DOMAIN_CODES = Object.keys(REQUEST_ERRORS) as RequestErrorCode[];
const ROUND_CODES = Object.keys(ROUND_ERRORS) as RoundErrorCode[];

describe('problemOf', () => {
  it('gives every domain code the problem of the same name, its status and the message as detail', () => {
    expect(Object.keys(STATUS).sort()).toEqual([...DOMAIN_CODES].sort());
    for (const code of DOMAIN_CODES) {
      const problem = problemOf(new RequestError(code, `why ${code}`));
      expect(problem, code).toEqual({ code, detail: `why ${code}` });
      expect(REQUEST_PROBLEMS[code]).toBe(code);
      expect(PROBLEMS[problem!.code].status, code).toBe(STATUS[code]);
      expect(PROBLEMS[problem!.code].status, code).toBe(FAILURE_STATUS[REQUEST_ERRORS[code]]);
    }
  });

  it('maps the round codes a query spec can cause and leaves every other round code to INTERNAL', () => {
    expect(problemOf(new RoundError('SPEC_INVALID', 'spec.groupBy: bad'))).toEqual({ code: 'QUERY_SPEC_INVALID', detail: 'spec.groupBy: bad' });
    expect(problemOf(new RoundError('LAYOUT_INVALID', 'sums could wrap'))).toEqual({ code: 'OVERFLOW_RISK', detail: 'sums could wrap' });
    expect(problemOf(new RoundError('QUERY_KIND_UNKNOWN', 'unknown'))).toEqual({ code: 'QUERY_KIND_UNKNOWN', detail: 'unknown' });
    for (const code of ROUND_CODES) {
      const mapped = ROUND_PROBLEMS[code];
      if (mapped === undefined) expect(problemOf(new RoundError(code, 'x')), code).toBeUndefined();
      else expect(PROBLEMS[mapped].status, code).toBe(400);
    }
  });

  it('keeps an HttpProblem as it is and knows nothing else', () => {
    expect(problemOf(new HttpProblem('SELF_REVOKE', 'you'))).toEqual({ code: 'SELF_REVOKE', detail: 'you' });
    expect(problemOf(new HttpProblem('NOT_FOUND'))).toEqual({ code: 'NOT_FOUND', detail: undefined });
    expect(problemOf(new Error('boom'))).toBeUndefined();
    expect(problemOf(Object.assign(new Error('coded'), { code: 'USER_EXISTS' }))).toBeUndefined();
  });
});

describe('the HTTP error handler', () => {
  const TOKEN = 'problem-map-token-0123456789';
  let db: Database;
  let app: FastifyInstance;
  let next: unknown;

  beforeAll(async () => {
    await cryptoReady();
    db = await openDatabase('memory://');
    const audit = new AuditTrail({ db, origin: 'test.local/audit', keyPair: generateSigningKeyPair() });
    const purposes = new PurposeStore(db, audit);
    const store = new CoordinatorStore(db);
    // Query creation throws whatever the test sets, as the domain code would.
    const queries = { create: async () => { throw next; } } as unknown as QueryService;
    const fits = {} as unknown as FitRunner;
    app = buildHttpApp({ store, queries, fits, audit, purposes, apiToken: TOKEN, logger: pino({ level: 'silent' }) });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const post = async (err: unknown) => {
    next = err;
    const res = await app.inject({
      method: 'POST', url: '/v1/queries',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { kind: 'no-such-kind', spec: {} },
    });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  it('answers every domain code with its problem, status and detail', async () => {
    for (const code of DOMAIN_CODES) {
      const { status, body } = await post(new RequestError(code, `because ${code}`));
      expect(status, code).toBe(STATUS[code]);
      expect(body, code).toEqual({
        type: `urn:fedmart:problem:${code.toLowerCase().replaceAll('_', '-')}`,
        title: PROBLEMS[code].title,
        status: STATUS[code],
        code,
        detail: `because ${code}`,
        instance: '/v1/queries',
      });
    }
  });

  it('answers the round codes of a query spec with their problems and any other round code with INTERNAL', async () => {
    expect(await post(new RoundError('SPEC_INVALID', 'spec.x: bad'))).toMatchObject({ status: 400, body: { code: 'QUERY_SPEC_INVALID', detail: 'spec.x: bad' } });
    expect(await post(new RoundError('LAYOUT_INVALID', 'could wrap'))).toMatchObject({ status: 400, body: { code: 'OVERFLOW_RISK', detail: 'could wrap' } });
    const internal = await post(new RoundError('AGGREGATE_MISMATCH', 'internals'));
    expect(internal.status).toBe(500);
    expect(internal.body).toMatchObject({ code: 'INTERNAL' });
    expect(internal.body).not.toHaveProperty('detail');
  });
});
