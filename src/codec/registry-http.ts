import { SluiceError } from '../domain/errors.js';
import { REGISTRY_TLS_HINTS, tlsFailureMessage, tlsFailureOf } from '../domain/tls-failure.js';
import { send } from './http-request.js';

/** Connection settings for a Confluent-compatible schema registry. */
export interface RegistryOptions {
  /**
   * Its base URL. Credentials in it (`https://user:password@host/...`) are used as basic auth
   * when `auth` is not given, and never appear in messages.
   */
  url: string;
  auth?: { username: string; password: string } | undefined;
  /**
   * PEM CA certificate(s) (the text, not a path) to trust for an `https:` registry instead of
   * the system's: for a registry whose certificate a private CA signed.
   */
  ca?: string | undefined;
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
  /** The URL without credentials: the one messages show. */
  readonly url: string;
  private readonly auth: RegistryOptions['auth'];

  constructor(readonly opts: RegistryOptions) {
    const { url, auth } = splitCredentials(opts.url);
    this.url = url;
    this.auth = opts.auth ?? auth;
    this.authorization = this.auth
      ? `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`
      : undefined;
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
    let res: { status: number };
    let text: string;
    try {
      ({ text, ...res } = await send({
        method,
        url: new URL(`${this.url}${path}`),
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: this.opts.timeoutMs ?? 10_000,
        ca: this.opts.ca,
      }));
    } catch (err) {
      const tls = tlsFailureOf(err);
      if (tls) {
        // A certificate problem does not go away by waiting: not retryable, and said plainly.
        throw new SluiceError(
          'SLUICE_TLS_FAILED',
          tlsFailureMessage(`The schema registry at ${this.url}`, tls, REGISTRY_TLS_HINTS),
          { cause: err, details: { registryUrl: this.url, tlsCode: tls.code } },
        );
      }
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
      `The schema registry at ${this.url} is unavailable (${what}): ${why}.`,
      { cause, retryable: true, details: { registryUrl: this.url } },
    );
  }

  /** A 401 or 403: retrying will not help, and the user must fix the credentials. */
  private refused(status: number): SluiceError {
    return new SluiceError(
      'SLUICE_AUTH_FAILED',
      `The schema registry at ${this.url} answered ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}: ${this.auth ? 'check the registry username and password' : 'it requires a username and password (--registry-user, SLUICE_REGISTRY_USERNAME and SLUICE_REGISTRY_PASSWORD)'}.`,
      { details: { registryUrl: this.url, status } },
    );
  }
}

/** "connection refused", "no answer in time", "ECONNRESET (socket hang up)". */
function describeTransport(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return 'no answer in time';
  const e = err as { code?: string; message?: string } | null;
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  if (e?.code) return `${e.code}${e.message ? ` (${e.message})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The URL without its user info, and that user info as credentials. A URL that does not parse
 * is left as given: the first call reports it.
 */
export function splitCredentials(raw: string): {
  url: string;
  auth?: { username: string; password: string };
} {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { url: raw };
  }
  if (u.username === '' && u.password === '') return { url: raw };
  const auth = {
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
  u.username = '';
  u.password = '';
  // URL adds a "/" to a bare origin; the paths Sluice appends start with one.
  return { url: u.toString().replace(/\/$/, ''), auth };
}
