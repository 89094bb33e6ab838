/**
 * Rate limits counted in the database, on PGlite and PostgreSQL: limiters
 * of two coordinators (each with counters of its own over one database)
 * count every request for a key into one window, HTTP and gRPC alike;
 * limiters of different names never share a count; ended windows are
 * purged; a database that does not answer leaves each process counting in
 * its own memory. Windows are an hour long, so none ends during a test.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../coordinator/index.js';
import { GrpcRateLimiter, RETRY_AFTER_METADATA_KEY, windowOf } from '../../coordinator/grpc-rate-limit.js';
import { FixedWindowLimiter } from '../../coordinator/http-rate-limit.js';
import { RateWindows } from '../../coordinator/rate-windows.js';
import { RpcError } from '../../protos/index.js';
import { freshDatabase, type TestDatabase } from '../../harness/databases.js';
import { describeBackends } from '../helpers/backends.js';

const HOUR = 3_600_000;
const warnings: unknown[] = [];
const log = { warn: (o: unknown) => void warnings.push(o) };

describeBackends('rate limits shared through the database', (backend) => {
  let database: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    database = await freshDatabase(backend, 'shared_rates');
    db = await openDatabase(database.target);
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('counts the requests of one key at two coordinators into one window, with the time left for Retry-After', async () => {
    const a = new FixedWindowLimiter({ limit: 4, windowMs: HOUR }, { windows: new RateWindows(db, log), name: 'http.user' });
    const b = new FixedWindowLimiter({ limit: 4, windowMs: HOUR }, { windows: new RateWindows(db, log), name: 'http.user' });
    const decisions = [];
    for (const l of [a, b, a, b, a, b]) decisions.push(await l.take('alice'));
    expect(decisions.slice(0, 4)).toEqual([{ ok: true, remaining: 3 }, { ok: true, remaining: 2 }, { ok: true, remaining: 1 }, { ok: true, remaining: 0 }]);
    for (const d of decisions.slice(4)) {
      expect(d.ok).toBe(false);
      if (d.ok) continue;
      expect(d.retryAfterSeconds).toBeGreaterThan(0);
      expect(d.retryAfterSeconds).toBeLessThanOrEqual(3600);
      expect(d.retryAfterMs).toBeLessThanOrEqual(HOUR);
    }
    // Another key, and another limiter's name, count on their own.
    expect(await a.take('bob')).toEqual({ ok: true, remaining: 3 });
    const failures = new FixedWindowLimiter({ limit: 4, windowMs: HOUR }, { windows: new RateWindows(db, log), name: 'http.auth-failure' });
    expect(await failures.take('alice')).toEqual({ ok: true, remaining: 3 });
  });

  it('shares gRPC limits the same way and refuses with RESOURCE_EXHAUSTED and a retry trailer', async () => {
    const rate = { ratePerSecond: 3 / 3600, burst: 3 }; // three calls an hour
    expect(windowOf(rate)).toEqual({ limit: 3, windowMs: HOUR });
    expect(windowOf({ ratePerSecond: 20, burst: 40 })).toEqual({ limit: 40, windowMs: 2000 });
    const a = new GrpcRateLimiter({ perPeer: rate, perMerchant: rate }, new RateWindows(db, log));
    const b = new GrpcRateLimiter({ perPeer: rate, perMerchant: rate }, new RateWindows(db, log));
    await a.peer('ipv4:10.1.1.1:5000');
    await b.peer('ipv4:10.1.1.1:6000');
    await a.peer('ipv4:10.1.1.1:7000');
    const refused = await b.peer('ipv4:10.1.1.1:8000').then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcError);
    const err = refused as RpcError;
    expect([err.status, err.code]).toEqual([status.RESOURCE_EXHAUSTED, 'RATE_LIMITED']);
    expect(Number(err.metadata[RETRY_AFTER_METADATA_KEY])).toBeGreaterThan(0);
    expect(Number(err.metadata[RETRY_AFTER_METADATA_KEY])).toBeLessThanOrEqual(HOUR);
    // The merchant window is another one.
    await expect(b.merchant('shop-01')).resolves.toBeUndefined();
  });

  it('purges windows that have ended and keeps the current ones', async () => {
    const windows = new RateWindows(db, log);
    await windows.count('test.current:k', HOUR);
    await db.query(`INSERT INTO rate_windows (bucket, window_start, count, expires_at) VALUES ('test.old:k', 0, 5, clock_timestamp() - interval '1 second')`);
    expect(await windows.purge()).toBeGreaterThanOrEqual(1);
    const left = await db.query<{ bucket: string }>(`SELECT bucket FROM rate_windows WHERE bucket LIKE 'test.%'`);
    expect(left.map((r) => r.bucket)).toEqual(['test.current:k']);
  });

  it('counts in memory while the database does not answer', async () => {
    const other = await freshDatabase(backend, 'shared_rates_gone');
    const gone = await openDatabase(other.target);
    await gone.close();
    await other.drop();
    warnings.length = 0;
    const limiter = new FixedWindowLimiter({ limit: 2, windowMs: HOUR }, { windows: new RateWindows(gone, log), name: 'http.public' });
    const oks = [];
    for (let i = 0; i < 3; i++) oks.push((await limiter.take('10.0.0.9')).ok);
    expect(oks).toEqual([true, true, false]);
    expect(warnings).toHaveLength(1); // once, not per request
  });
});
