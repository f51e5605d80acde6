import { SluiceClient as ClientOnLog } from '../client/client.js';
import { CommandSender } from '../log/commands.js';
import { JobLog } from '../log/job-log.js';
import { compileClientOptions, type ClientOptions } from './options.js';
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
    const { kafka, registry } = connections(o, 'sluice-client', logger);
    const log = await JobLog.open({
      kafka,
      registry,
      namespace: o.namespace,
      logger,
      reader: 'client',
    });
    try {
      const sender = await CommandSender.open({
        kafka,
        registry,
        log,
        issuedBy: o.issuedBy,
        timeoutMs: o.commandTimeoutMs,
      });
      return new SluiceClient({ log, sender, logger });
    } catch (err) {
      await log.close().catch(() => undefined);
      throw err;
    }
  }
}

export type { ClientOptions } from './options.js';
