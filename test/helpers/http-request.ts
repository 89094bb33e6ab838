/**
 * One HTTP request over its own socket to 127.0.0.1:`port`, with the path
 * sent exactly as given (no URL normalisation, unlike fetch), for tests of
 * what reaches the server's own parsing.
 */
import { request as httpRequest } from 'node:http';

export interface RawAnswer {
  readonly status: number;
  /** The content-type header ('' when absent). */
  readonly type: string;
  readonly text: string;
  /** The body parsed as JSON, undefined when it is not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

export function sendRaw(port: number, method: string, path: string, options: { token?: string | null; body?: Buffer } = {}): Promise<RawAnswer> {
  const { token, body } = options;
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1', port, method, path, agent: false,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}) },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
