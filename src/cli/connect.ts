import { SluiceClient } from '../node/client.js';
import { SluiceError } from '../domain/errors.js';
import type { ConnectionSecurity } from '../domain/security.js';
import { givenEndpoints, resolveInfra, type Access, type Endpoints } from '../infra/index.js';
import { loadSecurity, registryCaOf } from '../node/security.js';
import { defaultLogger } from '../observability/logger.js';
import { topicOptionsOf, type GlobalOptions } from './options.js';

/** Where a command connects, and how it gets past the servers' security. */
export interface Connection extends Endpoints {
  security: ConnectionSecurity;
}

/**
 * The endpoints a command uses: given ones, or those `sluice infra up` left running. Commands
 * other than `infra up` never start servers: a typo in --brokers must not quietly start a
 * local broker and submit a job there.
 */
export async function endpointsFor(g: GlobalOptions): Promise<Connection> {
  const security = loadSecurity({ flags: g });
  const infra = await resolveInfra({
    mode: 'find',
    brokers: g.brokers,
    registryUrl: g.registry,
    access: accessFor(g, security),
  });
  return { brokers: infra.brokers, registryUrl: infra.registryUrl, security };
}

/**
 * What the reachability check needs to log in. Security settings only make sense for servers
 * the user names: the local ones `infra up` starts are plaintext, and sending credentials meant
 * for a remote cluster to them would fail confusingly.
 */
export function accessFor(g: GlobalOptions, security: ConnectionSecurity): Access {
  const secured =
    security.ssl !== undefined ||
    security.sasl ||
    security.registryAuth ||
    security.registryCa !== undefined;
  if (secured && !givenEndpoints({ brokers: g.brokers, registryUrl: g.registry })) {
    throw new SluiceError(
      'SLUICE_USAGE',
      'TLS, SASL, registry credentials or a registry CA are set, but no servers are named. Give --brokers and --registry (or SLUICE_BROKERS and SLUICE_REGISTRY_URL) for the secured cluster.',
    );
  }
  return {
    connection: security,
    registryAuth: security.registryAuth,
    registryCa: registryCaOf(security),
  };
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(
  g: GlobalOptions,
  fn: (client: SluiceClient) => Promise<T>,
  /** `checkpoint` for commands that need jobs' states, not their histories (see ClientOptions.readFrom). */
  readFrom: 'start' | 'checkpoint' = 'start',
): Promise<T> {
  const topics = topicOptionsOf(g, process.env);
  const { brokers, registryUrl, security } = await endpointsFor(g);
  const client = await SluiceClient.connect({
    brokers,
    registryUrl,
    security,
    namespace: g.namespace,
    issuedBy: issuedByOf(g, process.env),
    logger: defaultLogger(),
    readFrom,
    // A command that reads from the checkpoint only looks; it follows once it sends, if it does.
    follow: readFrom === 'start',
    ...topics,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Who the commands are recorded as: --issued-by, else SLUICE_ISSUED_BY, else the client's default. */
export function issuedByOf(g: GlobalOptions, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.SLUICE_ISSUED_BY === '' ? undefined : env.SLUICE_ISSUED_BY;
  const who = g.issuedBy ?? fromEnv;
  if (who !== undefined && (who.trim() === '' || who.length > 200))
    throw new SluiceError(
      'SLUICE_USAGE',
      `${g.issuedBy !== undefined ? '--issued-by' : 'SLUICE_ISSUED_BY'} must name who issues the command in 1 to 200 characters, not "${who.slice(0, 40)}${who.length > 40 ? '…' : ''}".`,
    );
  return who;
}
