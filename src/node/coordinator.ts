import { Coordinator } from '../control/coordinator.js';
import { compileCoordinatorOptions, type CoordinatorOptions } from './options.js';
import { connections } from './wiring.js';

/**
 * A coordinator from options: it takes part in the namespace's election once started, and
 * turns commands into lifecycle events while elected.
 *
 * @example
 * ```ts
 * const coordinator = createCoordinator({ brokers, registryUrl });
 * await coordinator.start();
 * ```
 */
export function createCoordinator(options: CoordinatorOptions): Coordinator {
  const o = compileCoordinatorOptions(options);
  const { kafka, registry } = connections(o, 'sluice-coordinator', o.logger);
  return new Coordinator({
    kafka,
    registry,
    namespace: o.namespace,
    logger: o.logger,
    memberName: o.memberName,
    sessionTimeoutMs: o.sessionTimeoutMs,
    jobsPartitions: o.jobsPartitions,
    replication: o.replication,
  });
}
