import { pino } from 'pino';
import { afterAll } from 'vitest';
import { SluiceClient } from '../../src/node/client.js';
import { Worker } from '../../src/node/worker.js';
import { RegistryClient } from '../../src/codec/registry.js';
import { Coordinator } from '../../src/control/coordinator.js';
import type { Endpoints } from '../../src/infra/types.js';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import { endpoints, testNamespace } from './kafka.js';
import { useTopics } from './kafka.js';

/** A logger for tests: silent unless SLUICE_TEST_LOG is set (e.g. to "info"). */
export const testLogger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });

/** A fresh namespace whose topics and groups are removed after the file. */
export async function freshNamespace(prefix: string): Promise<string> {
  const ns = testNamespace(prefix);
  await useTopics(ns, []);
  return ns;
}

/** Starts an in-process coordinator for `namespace` (on the shared servers by default), stopped after the file. */
export async function startCoordinator(
  namespace: string,
  memberName = 'test-coordinator',
  at: Endpoints = endpoints(),
): Promise<Coordinator> {
  const { brokers, registryUrl } = at;
  const coordinator = new Coordinator({
    kafka: createKafka({ brokers, clientId: memberName, logger: testLogger }),
    registry: new RegistryClient({ url: registryUrl }),
    namespace,
    logger: testLogger,
    memberName,
    sessionTimeoutMs: 6000,
  });
  await coordinator.start();
  afterAll(() => coordinator.stop());
  return coordinator;
}

/** A client on `namespace` (on the shared servers by default), closed after the file. */
export async function connectClient(
  namespace: string,
  issuedBy = 'test-user',
  at: Endpoints = endpoints(),
): Promise<SluiceClient> {
  const { brokers, registryUrl } = at;
  const client = await SluiceClient.connect({
    brokers,
    registryUrl,
    namespace,
    issuedBy,
    logger: testLogger,
    commandTimeoutMs: 30_000,
  });
  afterAll(() => client.close());
  return client;
}

/**
 * A worker in this process on `namespace` (the shared servers by default), with no coordinator
 * and no metrics port: register its pipelines, then start it.
 */
export function inProcessWorker(
  namespace: string,
  workerId: string,
  at: Endpoints = endpoints(),
): Worker {
  const { brokers, registryUrl } = at;
  return new Worker({
    brokers,
    registryUrl,
    namespace,
    logger: testLogger,
    workerId,
    coordinator: false,
    metricsPort: 0,
  });
}
