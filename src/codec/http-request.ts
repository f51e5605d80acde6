import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** One HTTP call to a registry. */
export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT';
  url: URL;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
  /** PEM CA certificate(s) to trust for `https:` instead of the system's: a private CA. */
  ca?: string | undefined;
}

/** The status and the body's text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/**
 * One request over node:http or node:https. Not fetch: Node's fetch cannot be given a CA without
 * undici's Agent, which Node does not export, and it refuses URLs that carry credentials.
 * Rejects with Node's own error (its `code` says why: ECONNREFUSED, a TLS verification code...)
 * or, after `timeoutMs` without a complete answer, with an error named TimeoutError.
 */
export function send(call: HttpCall): Promise<HttpAnswer> {
  const request = call.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(
      call.url,
      {
        method: call.method,
        headers: call.headers,
        ...(call.ca !== undefined && { ca: call.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    // The whole exchange, not only the idle time between packets, as fetch's AbortSignal.timeout.
    const timer = setTimeout(() => {
      const err = new Error(`no answer within ${call.timeoutMs} ms`);
      err.name = 'TimeoutError';
      req.destroy(err);
    }, call.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(call.body);
  });
}
