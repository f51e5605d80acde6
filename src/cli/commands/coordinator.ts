import type { Command } from 'commander';
import { once } from 'node:events';
import { RegistryClient } from '../../codec/registry.js';
import { Coordinator, DEFAULT_SESSION_TIMEOUT_MS } from '../../control/coordinator.js';
import { resolveNamespace } from '../../control/topics.js';
import { createKafka } from '../../kafka/connect.js';
import { defaultLogger } from '../../observability/logger.js';
import { endpointsFor } from '../connect.js';
import type { GlobalOptions } from '../options.js';
import { progress } from '../output.js';

/** `sluice coordinator`: take part in the election and apply commands while elected. */
export function registerCoordinator(program: Command, globals: () => GlobalOptions): void {
  program
    .command('coordinator')
    .description(
      'run a coordinator: one of them, elected through Kafka, turns commands into lifecycle events',
    )
    .option(
      '--session-timeout <ms>',
      'how fast a dead coordinator is noticed (Kafka allows 6000 and up)',
      String(DEFAULT_SESSION_TIMEOUT_MS),
    )
    .action(async (o: { sessionTimeout: string }) => {
      const g = globals();
      const { brokers, registryUrl, security } = await endpointsFor(g);
      const logger = defaultLogger();
      const namespace = resolveNamespace(g.namespace);
      const coordinator = new Coordinator({
        kafka: createKafka({ brokers, clientId: 'sluice-coordinator', logger, security }),
        registry: new RegistryClient({ url: registryUrl, auth: security.registryAuth }),
        namespace,
        logger,
        sessionTimeoutMs: Number(o.sessionTimeout),
      });
      await coordinator.start();
      progress(
        `Coordinator for namespace "${namespace}" on ${brokers.join(',')} joined the election; Ctrl-C to stop.`,
      );
      await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      progress('Stopping; a standby coordinator takes over.');
      await coordinator.stop();
    });
}
