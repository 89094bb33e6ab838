/**
 * A small client for the coordinator's HTTP API, used by `fedmart query` and
 * the demo. Problem+json answers become one clear error line.
 *
 * HTTPS trusts the CA given (or named by FEDMART_CA) and nothing else, or the
 * system store when none is given; plain HTTP is refused unless the
 * coordinator is on a loopback address.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { assertPlaintextAllowed } from '../protos/index.js';
import { UsageError, requireString } from './args.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A kept-alive connection the coordinator closed as the request was written to it (see CoordinatorHttpClient.send). */
class StaleConnectionError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
    this.name = 'StaleConnectionError';
  }
}

export interface HttpClientOptions {
  /** PEM of the one CA to trust for https (default: the file named by FEDMART_CA, else the system store). */
  readonly ca?: string | Uint8Array;
}

interface RawResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly body: Buffer;
}

/** The `--http`, `--token` and `--ca` options every HTTP command takes (parse config). */
export const HTTP_CLIENT_OPTIONS = {
  http: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
} as const;

/** A client from `--http`/FEDMART_HTTP, `--token`/FEDMART_API_TOKEN and `--ca`/FEDMART_CA. */
export function httpClientFrom(values: Record<string, string | boolean | undefined>): CoordinatorHttpClient {
  const ca = values.ca;
  if (typeof ca === 'string' && !existsSync(ca)) throw new UsageError(`--ca ${ca} does not exist`);
  return new CoordinatorHttpClient(
    requireString(values, 'http', process.env.FEDMART_HTTP ?? 'http://127.0.0.1:7080'),
    requireString(values, 'token', process.env.FEDMART_API_TOKEN),
    typeof ca === 'string' ? { ca: readFileSync(ca) } : {},
  );
}

export class CoordinatorHttpClient {
  private readonly ca: string | Uint8Array | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    options: HttpClientOptions = {},
  ) {
    const url = new URL(baseUrl);
    if (url.protocol === 'http:') {
      assertPlaintextAllowed(url.hostname, 'HTTP', 'use https:// (FEDMART_CA=FILE names the deployment CA to trust)');
    } else if (url.protocol !== 'https:') {
      throw new Error(`${baseUrl}: the coordinator's address must be an http:// or https:// URL`);
    }
    const caFile = process.env.FEDMART_CA;
    this.ca = options.ca ?? (caFile ? readFileSync(caFile) : undefined);
  }

  /**
   * One request over node:http or node:https (with the pinned CA). Node
   * keeps connections alive between requests; the coordinator closes one
   * that stays idle for its keep-alive timeout (5 s by default). A request
   * written to such a connection just as it closes fails with ECONNRESET
   * before the coordinator reads it, e.g. after the demo's local scoring
   * step. That one case is sent again once on a fresh connection, as Node's
   * documentation advises (`request.reusedSocket`); any other error, or a
   * reset on a new connection, is the caller's.
   */
  private async send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<RawResponse> {
    try {
      return await this.sendOnce(method, path, body);
    } catch (err) {
      if (err instanceof StaleConnectionError) return this.sendOnce(method, path, body, false);
      throw err;
    }
  }

  private sendOnce(method: 'GET' | 'POST', path: string, body: unknown, reuse = true): Promise<RawResponse> {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string | number> = {
      authorization: `Bearer ${this.token}`,
      ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length }),
    };
    return new Promise((resolve, reject) => {
      const done = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ ok: status >= 200 && status < 300, status, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks) });
        });
      };
      const fresh = reuse ? {} : { agent: false as const };
      const req = url.protocol === 'https:'
        ? httpsRequest(url, { method, headers, ...fresh, ...(this.ca === undefined ? {} : { ca: Buffer.from(this.ca) }) }, done)
        : httpRequest(url, { method, headers, ...fresh }, done);
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(reuse && req.reusedSocket && err.code === 'ECONNRESET' ? new StaleConnectionError(err) : err);
      });
      req.end(payload);
    });
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = res.body.toString('utf8');
    const parsed: unknown = text.length > 0 ? JSON.parse(text) : null;
    if (!res.ok) {
      const p = (parsed ?? {}) as { code?: string; title?: string; detail?: string };
      throw new ApiError(res.status, p.code ?? 'HTTP_' + res.status, `${p.title ?? res.statusText}${p.detail ? `: ${p.detail}` : ''}`);
    }
    return parsed as T;
  }

  /** GET of a file (e.g. a PDF report); problem+json answers throw ApiError. */
  async download(path: string): Promise<Buffer> {
    const res = await this.send('GET', path);
    if (!res.ok) {
      let p: { code?: string; title?: string; detail?: string } = {};
      try {
        p = (JSON.parse(res.body.toString('utf8')) ?? {}) as typeof p;
      } catch {
        // not problem+json
      }
      throw new ApiError(res.status, p.code ?? 'HTTP_' + res.status, `${p.title ?? res.statusText}${p.detail ? `: ${p.detail}` : ''}`);
    }
    return res.body;
  }
}

/** A text in English and Simplified Chinese, as the coordinator explains codes. */
export interface ReasonTextView {
  readonly en: string;
  readonly zh: string;
}

/** A withheld cell as a released table's result lists it. */
export interface WithheldCellView {
  readonly cell: string;
  readonly reasonCode: string;
  readonly reason: ReasonTextView;
}

export interface QueryView {
  readonly queryId: string;
  readonly kind: string;
  readonly status: 'open' | 'closing' | 'released' | 'failed';
  readonly statusReason: string | null;
  /** Stable code of a failure (absent from coordinators that predate it). */
  readonly statusCode?: string | null;
  /** What the failure means and what to do. */
  readonly explanation?: ReasonTextView | null;
  readonly contributions: number;
  readonly targetMerchants: number;
  readonly minMerchants: number;
  readonly result?: unknown;
}

/**
 * Polls a query until it is released or failed, reporting progress
 * (merchants answered of the target) through `onProgress`.
 */
export async function waitForQuery(
  client: CoordinatorHttpClient,
  queryId: string,
  options: { timeoutMs: number; onProgress?: (q: QueryView) => void },
): Promise<QueryView> {
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    const q = await client.request<QueryView>('GET', `/v1/queries/${encodeURIComponent(queryId)}`);
    options.onProgress?.(q);
    if (q.status === 'released' || q.status === 'failed') return q;
    if (Date.now() > until) throw new Error(`query ${queryId} still ${q.status} after ${options.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface FitView {
  readonly fitId: string;
  readonly status: 'running' | 'evaluating' | 'done' | 'failed';
  readonly statusReason: string | null;
  /** Stable code of a failure (absent from coordinators that predate it). */
  readonly statusCode?: string | null;
  /** What the failure means and what to do. */
  readonly explanation?: ReasonTextView | null;
  readonly round: number;
  readonly model: { coefficients: number[]; standardErrors: number[]; rounds: number; trainingRows: number } | null;
  readonly evaluation: { auc: number | null; n: number; logLoss: number | null; accuracy: number | null } | null;
}

/** Polls a model fit until done or failed, reporting each new round or status. */
export async function waitForFit(
  client: CoordinatorHttpClient,
  fitId: string,
  onChange: (round: number, status: string) => void,
  timeoutMs = 600_000,
): Promise<FitView> {
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const f = await client.request<FitView>('GET', `/v1/fits/${encodeURIComponent(fitId)}`);
    const key = `${f.round}/${f.status}`;
    if (key !== last) {
      last = key;
      onChange(f.round, f.status);
    }
    if (f.status === 'done' || f.status === 'failed') return f;
    if (Date.now() > until) throw new Error(`fit ${fitId} still ${f.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
