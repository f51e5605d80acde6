import { SluiceClient } from '../client/client.js';
import { resolveInfra, type Endpoints } from '../infra/index.js';
import { defaultLogger } from '../observability/logger.js';
import type { GlobalOptions } from './options.js';

/**
 * The endpoints a command uses: given ones, or those `sluice infra up` left running. Commands
 * other than `infra up` never start servers: a typo in --brokers must not quietly start a
 * local broker and submit a job there.
 */
export async function endpointsFor(g: GlobalOptions): Promise<Endpoints> {
  const infra = await resolveInfra({ mode: 'find', brokers: g.brokers, registryUrl: g.registry });
  return { brokers: infra.brokers, registryUrl: infra.registryUrl };
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(
  g: GlobalOptions,
  fn: (client: SluiceClient) => Promise<T>,
): Promise<T> {
  const { brokers, registryUrl } = await endpointsFor(g);
  const client = await SluiceClient.connect({
    brokers,
    registryUrl,
    namespace: g.namespace,
    issuedBy: g.issuedBy ?? process.env.SLUICE_ISSUED_BY,
    logger: defaultLogger(),
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
