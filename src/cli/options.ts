import { SluiceError } from '../domain/errors.js';
import type { SecurityFlags } from '../node/security.js';

/** Flags every `sluice` command accepts. */
export interface GlobalOptions extends SecurityFlags {
  brokers?: string;
  registry?: string;
  namespace?: string;
  issuedBy?: string;
}

/**
 * A TCP port from a flag or an environment variable: an integer from 0 to 65535, where 0 lets
 * the OS pick a free one. `source` names where the text came from, for the error message.
 */
export function parsePort(text: string, source: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(port >= 0 && port <= 65535))
    throw new SluiceError(
      'SLUICE_USAGE',
      `${source} must be a port number from 0 to 65535 (0 picks a free port), not "${text}".`,
      { details: { [source]: text } },
    );
  return port;
}
