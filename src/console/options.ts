import { isIP } from 'node:net';
import { SluiceError } from '../domain/errors.js';

/** How the console is reached, and who may reach it. */
export interface ConsoleOptions {
  /** Default 127.0.0.1: only this machine. */
  host?: string | undefined;
  /** Default 8080; 0 picks a free port. */
  port?: number | undefined;
  /** A bearer token every request must carry (header, cookie, or `?token=` once). */
  token?: string | undefined;
  /** Basic-auth credentials every request must carry. */
  basic?: { username: string; password: string } | undefined;
}

/** The options with defaults filled in, checked. */
export interface CompiledConsoleOptions {
  host: string;
  port: number;
  token: string | undefined;
  basic: { username: string; password: string } | undefined;
}

export const DEFAULT_CONSOLE_HOST = '127.0.0.1';
export const DEFAULT_CONSOLE_PORT = 8080;

/** Tokens shorter than this are guessable. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Checks the options. The console acts on jobs, so a console bound where other machines reach
 * it must ask who is there: anywhere but a loopback address it refuses to start without a
 * token or basic-auth credentials (`SLUICE_CONSOLE_UNPROTECTED`).
 */
export function compileConsoleOptions(o: ConsoleOptions): CompiledConsoleOptions {
  const host = o.host ?? DEFAULT_CONSOLE_HOST;
  const port = o.port ?? DEFAULT_CONSOLE_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new SluiceError('SLUICE_USAGE', `--port must be a whole number 0 to 65535, not ${port}.`);
  if (o.token !== undefined && o.token.length < MIN_TOKEN_LENGTH)
    throw new SluiceError(
      'SLUICE_USAGE',
      `The console token must be at least ${MIN_TOKEN_LENGTH} characters; make one with \`openssl rand -hex 16\`.`,
    );
  if (
    o.basic &&
    (o.basic.username === '' || o.basic.username.includes(':') || o.basic.password === '')
  )
    throw new SluiceError(
      'SLUICE_USAGE',
      'Basic-auth credentials need a user name without ":" and a password that is not empty.',
    );
  if (!isLoopback(host) && o.token === undefined && o.basic === undefined)
    throw new SluiceError(
      'SLUICE_CONSOLE_UNPROTECTED',
      `The console would listen on ${host}, which other machines can reach, without credentials. Give a token (--token-file or SLUICE_CONSOLE_TOKEN) or basic-auth credentials (--user with --password-file, or SLUICE_CONSOLE_PASSWORD), or bind to 127.0.0.1.`,
      { details: { host } },
    );
  return { host, port, token: o.token, basic: o.basic };
}

/** True for an address only this machine reaches: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === '::1' || bare === '::ffff:127.0.0.1';
}
