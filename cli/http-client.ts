/**
 * A small client for the coordinator's HTTP API, used by `fedmart query` and
 * the demo. Problem+json answers become one clear error line.
 */
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

export class CoordinatorHttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed: unknown = text.length > 0 ? JSON.parse(text) : null;
    if (!res.ok) {
      const p = (parsed ?? {}) as { code?: string; title?: string; detail?: string };
      throw new ApiError(res.status, p.code ?? 'HTTP_' + res.status, `${p.title ?? res.statusText}${p.detail ? `: ${p.detail}` : ''}`);
    }
    return parsed as T;
  }

  /** GET of a file (e.g. a PDF report); problem+json answers throw ApiError. */
  async download(path: string): Promise<Buffer> {
    const res = await fetch(new URL(path, this.baseUrl), { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok) {
      const p = ((await res.json().catch(() => ({}))) ?? {}) as { code?: string; title?: string; detail?: string };
      throw new ApiError(res.status, p.code ?? 'HTTP_' + res.status, `${p.title ?? res.statusText}${p.detail ? `: ${p.detail}` : ''}`);
    }
    return Buffer.from(await res.arrayBuffer());
  }
}

export interface QueryView {
  readonly queryId: string;
  readonly kind: string;
  readonly status: 'open' | 'closing' | 'released' | 'failed';
  readonly statusReason: string | null;
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
