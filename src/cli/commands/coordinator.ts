import type { Command } from 'commander';
import { DEFAULT_SESSION_TIMEOUT_MS } from '../../domain/settings.js';
import { createCoordinator } from '../../node/coordinator.js';
import { resolveNamespace } from '../../node/options.js';
import { defaultLogger } from '../../observability/logger.js';
import { endpointsFor } from '../connect.js';
import { topicOptionsOf, type GlobalOptions } from '../options.js';
import { documented } from '../help.js';
import { exitSoonAfterStop, untilStopSignal } from '../signals.js';
import { jsonLine, progress } from '../output.js';
import { integer } from '../parse.js';

/** `sluice coordinator`: take part in the election and apply commands while elected. */
export function registerCoordinator(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('coordinator')
    .description(
      'run a coordinator until Ctrl-C: one of them, elected through Kafka, turns commands into lifecycle events',
    )
    .option(
      '--session-timeout <ms>',
      'how fast a dead coordinator is noticed (Kafka allows 6000 and up)',
      String(DEFAULT_SESSION_TIMEOUT_MS),
    );
  documented(
    cmd,
    'one line once it joined the election: { "namespace": string, "brokers": string[] }',
    [
      [
        'sluice coordinator',
        'a standalone coordinator (workers also take part unless --no-coordinator)',
      ],
      ['sluice coordinator --session-timeout 6000', 'notice a dead coordinator sooner'],
    ],
  ).action(async (o: { json?: boolean; sessionTimeout: string }) => {
    const g = globals();
    // Checked before connecting: a typo fails at once as a usage error.
    const sessionTimeoutMs = integer('--session-timeout', o.sessionTimeout);
    const topics = topicOptionsOf(g, process.env);
    const { brokers, registryUrl, security } = await endpointsFor(g);
    const logger = defaultLogger();
    const namespace = resolveNamespace(g.namespace);
    // Listening from before the start, not from after the ready line: see untilStopSignal.
    const stopSignal = untilStopSignal();
    const coordinator = createCoordinator({
      brokers,
      registryUrl,
      security,
      namespace,
      logger,
      sessionTimeoutMs,
      ...topics,
    });
    await coordinator.start();
    if (o.json) jsonLine({ namespace, brokers });
    else
      progress(
        `Coordinator for namespace "${namespace}" on ${brokers.join(',')} joined the election; Ctrl-C to stop.`,
      );
    await stopSignal;
    if (!o.json) progress('Stopping; a standby coordinator takes over.');
    await coordinator.stop();
    exitSoonAfterStop(logger);
  });
}
