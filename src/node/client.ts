import { SluiceClient as ClientOnLog } from '../client/client.js';
import { systemClock } from '../domain/clock.js';
import { compileClientOptions, type ClientOptions } from './options.js';
import { openClientParts } from './parts.js';
import { connections } from './wiring.js';

/**
 * The client as an application makes it: `await SluiceClient.connect({ brokers, registryUrl })`.
 * See the client's methods in src/client/client.ts.
 */
export class SluiceClient extends ClientOnLog {
  /** Connects, makes sure the namespace's topics exist, and reads the job log up to now. */
  static async connect(options: ClientOptions): Promise<SluiceClient> {
    const o = compileClientOptions(options);
    const logger = o.logger.child({ component: 'client' });
    // What it connects to and how, never the secrets: where an authentication problem starts.
    const { ssl, sasl } = o.security ?? {};
    logger.debug(
      {
        brokers: o.brokers,
        registryUrl: o.registryUrl,
        namespace: o.namespace,
        tls: ssl !== undefined && ssl !== false,
        sasl: sasl && { mechanism: sasl.mechanism, username: sasl.username },
        registryUser: o.registryAuth?.username,
      },
      'client connecting',
    );
    // A user waits on a client: a registry that stays away for 10 s is reported, not waited out.
    const { kafka, registry } = connections(
      { ...o, retry: { initialMs: 250, maxMs: 2_000, budgetMs: 10_000 } },
      'sluice-client',
      logger,
    );
    const parts = await openClientParts({
      kafka,
      registry,
      namespace: o.namespace,
      logger,
      clock: systemClock,
      commandTimeoutMs: o.commandTimeoutMs,
      replication: o.replication,
      issuedBy: o.issuedBy,
      reader: 'client',
      readFrom: o.readFrom,
      follow: o.follow,
    });
    return new SluiceClient({ ...parts, kafka, logger, replication: o.replication });
  }
}

export type { ClientOptions } from './options.js';
