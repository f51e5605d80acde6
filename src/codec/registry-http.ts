import { SluiceError } from '../domain/errors.js';

/** Connection settings for a Confluent-compatible schema registry. */
export interface RegistryOptions {
  url: string;
  auth?: { username: string; password: string } | undefined;
  /** How long one HTTP call may take before it counts as the registry being unavailable, ms. */
  timeoutMs?: number;
}

/** A registry answer that is not a transport failure: its status and parsed JSON body. */
export interface RegistryAnswer {
  status: number;
  body: unknown;
}

/** What the registry says in an error body: Confluent's `error_code` (e.g. 40403) and message. */
export function errorCode(answer: RegistryAnswer): number | undefined {
  const code = (answer.body as { error_code?: unknown } | null)?.error_code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The Confluent REST API over fetch, with basic auth and a timeout. Every way the registry can
 * be out of reach becomes one error, SLUICE_REGISTRY_UNAVAILABLE marked retryable: a refused
 * connection, a timeout, a 5xx, a 408 or a 429. A 401 or 403 becomes SLUICE_AUTH_FAILED:
 * retrying will not help, and the message says which credentials to fix. Every other answer
 * is returned for the caller to read, because what a 404 or 409 means depends on the call.
 */
export class RegistryHttp {
  private readonly authorization: string | undefined;

  constructor(readonly opts: RegistryOptions) {
    this.authorization = opts.auth
      ? `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`
      : undefined;
  }

  get url(): string {
    return this.opts.url;
  }

  /** `what` names the call in errors ("registering the schema for x-value"). */
  async call(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    what: string,
    body?: unknown,
  ): Promise<RegistryAnswer> {
    const headers: Record<string, string> = {
      accept: 'application/vnd.schemaregistry.v1+json, application/json',
    };
    if (this.authorization) headers.authorization = this.authorization;
    if (body !== undefined) headers['content-type'] = 'application/vnd.schemaregistry.v1+json';
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.opts.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      text = await res.text();
    } catch (err) {
      throw this.unavailable(what, describeTransport(err), err);
    }
    if (res.status === 401 || res.status === 403) throw this.refused(res.status);
    if (res.status >= 500 || res.status === 408 || res.status === 429)
      throw this.unavailable(what, `it answered ${res.status} ${text.slice(0, 200)}`);
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      throw this.unavailable(what, `it answered ${res.status} with a body that is not JSON`);
    }
    return { status: res.status, body: parsed };
  }

  private unavailable(what: string, why: string, cause?: unknown): SluiceError {
    return new SluiceError(
      'SLUICE_REGISTRY_UNAVAILABLE',
      `The schema registry at ${this.opts.url} is unavailable (${what}): ${why}.`,
      { cause, retryable: true, details: { registryUrl: this.opts.url } },
    );
  }

  /** A 401 or 403: retrying will not help, and the user must fix the credentials. */
  private refused(status: number): SluiceError {
    return new SluiceError(
      'SLUICE_AUTH_FAILED',
      `The schema registry at ${this.opts.url} answered ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}: ${this.opts.auth ? 'check the registry username and password' : 'it requires a username and password (--registry-user, SLUICE_REGISTRY_USERNAME and SLUICE_REGISTRY_PASSWORD)'}.`,
      { details: { registryUrl: this.opts.url, status } },
    );
  }
}

/** "connection refused", "timed out after 10000 ms": fetch hides the reason in `cause`. */
function describeTransport(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return 'no answer in time';
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
