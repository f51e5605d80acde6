import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { SluiceError } from '../../domain/errors.js';
import type { ConnectionSecurity } from '../../domain/security.js';

/**
 * kafkajs's `ssl` and `sasl` options for these settings. TLS files are read now, that is when a
 * client is created, so a renewed certificate is picked up by the next start.
 */
export function kafkaConnection(
  security: ConnectionSecurity | undefined,
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const ssl = security?.ssl;
  if (ssl === true) out.ssl = true;
  else if (ssl) {
    out.ssl = {
      ...(ssl.ca !== undefined && { ca: readPem(ssl.ca, 'CA') }),
      ...(ssl.cert !== undefined && { cert: readPem(ssl.cert, 'client certificate') }),
      ...(ssl.key !== undefined && { key: readPem(ssl.key, 'client key') }),
      ...(ssl.rejectUnauthorized !== undefined && { rejectUnauthorized: ssl.rejectUnauthorized }),
    };
  }
  const sasl = security?.sasl;
  if (sasl) out.sasl = saslOptions(sasl);
  return out;
}

/** Spelled out per mechanism, because kafkajs types `sasl` as a union keyed by the mechanism. */
function saslOptions(sasl: NonNullable<ConnectionSecurity['sasl']>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/** A PEM file's text; one that cannot be read is a config error saying which and why. */
function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `Cannot read the TLS ${what} file ${path}: ${reason}. Give the path of a PEM file.`,
      { details: { file: path } },
    );
  }
}
