import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { CompiledConsoleOptions } from './options.js';

/** The cookie a browser keeps the token in after opening the console's `?token=` link. */
export const TOKEN_COOKIE = 'sluice_console_token';

/** Who a request comes from, or why it is refused. */
export type Verdict = { ok: true; user: string | null } | { ok: false; challenge: string | null };

/**
 * Whether a request carries the console's credentials. With neither a token nor basic auth
 * (bound to a loopback address) everyone on this machine is let in. A token comes as
 * `Authorization: Bearer`, as the cookie the page's first load set, or as `?token=`; basic
 * auth as `Authorization: Basic`, which browsers resend on every request of the page, the
 * event stream included. Compared in constant time.
 */
export function authorize(req: IncomingMessage, o: CompiledConsoleOptions): Verdict {
  if (o.token === undefined && o.basic === undefined) return { ok: true, user: null };
  const header = req.headers.authorization ?? '';
  if (o.token !== undefined) {
    const given =
      bearer(header) ?? cookie(req.headers.cookie ?? '', TOKEN_COOKIE) ?? queryToken(req);
    if (given !== undefined && same(given, o.token)) return { ok: true, user: null };
  }
  if (o.basic !== undefined) {
    const creds = basic(header);
    if (creds && same(creds.username, o.basic.username) && same(creds.password, o.basic.password))
      return { ok: true, user: creds.username };
  }
  // Only basic auth has a browser prompt to offer; a token is given in the link.
  return { ok: false, challenge: o.basic ? 'Basic realm="sluice console", charset="UTF-8"' : null };
}

/**
 * Whether a request names this machine in its Host header. A console without credentials
 * trusts whoever reaches it on loopback; a web page elsewhere could still reach it by DNS
 * rebinding (its own name, resolved to 127.0.0.1), and would then send its own name as the
 * Host. With credentials, they decide instead.
 */
export function hostAllowed(req: IncomingMessage, o: CompiledConsoleOptions): boolean {
  if (o.token !== undefined || o.basic !== undefined) return true;
  const host = req.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return ['localhost', '127.0.0.1', '[::1]', o.host, `[${o.host}]`].includes(name ?? '');
}

/** The `?token=` of a request's URL, if any. */
export function queryToken(req: IncomingMessage): string | undefined {
  return new URL(req.url ?? '/', 'http://console').searchParams.get('token') ?? undefined;
}

function bearer(header: string): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}

function basic(header: string): { username: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m?.[1]) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function cookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Equal strings, in time that does not depend on where they differ (hashes have one length). */
function same(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}
