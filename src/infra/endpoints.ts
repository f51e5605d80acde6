import { SluiceError } from '../domain/errors.js';
import type { Endpoints } from './types.js';

/** Explicit endpoints from CLI flags; each falls back to its environment variable. */
export interface GivenEndpointInput {
  brokers?: string | undefined;
  registryUrl?: string | undefined;
}

/**
 * Reads endpoints the user gave (flags first, then `SLUICE_BROKERS` / `SLUICE_REGISTRY_URL`).
 * Returns undefined when neither is given; throws when they are malformed or only half given,
 * because silently starting a local server next to a half-configured remote one would surprise.
 */
export function givenEndpoints(
  input: GivenEndpointInput = {},
  env: NodeJS.ProcessEnv = process.env,
): Endpoints | undefined {
  const brokers = nonEmpty(input.brokers) ?? nonEmpty(env.SLUICE_BROKERS);
  const registry = nonEmpty(input.registryUrl) ?? nonEmpty(env.SLUICE_REGISTRY_URL);
  if (brokers === undefined && registry === undefined) return undefined;
  if (brokers === undefined || registry === undefined) {
    const missing =
      brokers === undefined ? '--brokers / SLUICE_BROKERS' : '--registry / SLUICE_REGISTRY_URL';
    throw new SluiceError(
      'SLUICE_INFRA_BAD_ENDPOINT',
      `Only one of the two endpoints was given; ${missing} is missing. Give both the brokers and the registry URL, or neither to let Sluice find or start local ones.`,
    );
  }
  return { brokers: parseBrokers(brokers), registryUrl: parseRegistryUrl(registry) };
}

/** Parses a comma list of `host:port` bootstrap servers. */
export function parseBrokers(list: string): string[] {
  const entries = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) {
    throw new SluiceError(
      'SLUICE_INFRA_BAD_ENDPOINT',
      `No broker in "${list}". Expected a comma list such as "localhost:9092,localhost:9093".`,
    );
  }
  for (const entry of entries) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s/]+):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new SluiceError(
        'SLUICE_INFRA_BAD_ENDPOINT',
        `Broker "${entry}" is not host:port. Expected a comma list such as "localhost:9092,localhost:9093", without a scheme.`,
        { details: { broker: entry } },
      );
    }
  }
  return entries;
}

/** Parses and normalises a schema-registry base URL (no trailing slash). */
export function parseRegistryUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SluiceError(
      'SLUICE_INFRA_BAD_ENDPOINT',
      `Registry URL "${raw}" is not a URL. Expected e.g. "http://localhost:8081" or, for Apicurio, "http://localhost:8080/apis/ccompat/v7".`,
      { details: { registryUrl: raw } },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SluiceError(
      'SLUICE_INFRA_BAD_ENDPOINT',
      `Registry URL "${raw}" uses ${url.protocol}; expected http: or https:.`,
      { details: { registryUrl: raw } },
    );
  }
  return url.toString().replace(/\/+$/, '');
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim().length > 0 ? s : undefined;
}
