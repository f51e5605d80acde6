import { randomBytes } from 'node:crypto';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import { afterAll, inject } from 'vitest';
import { pino } from 'pino';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import { createTopicsWithLeaders } from '../../src/kafka/kafkajs/admin.js';
import type { Kafka as KafkaPort } from '../../src/kafka/port.js';
import { rawKafka } from './raw-kafka.js';

/** Endpoints from the global setup. */
export function endpoints(): { brokers: string[]; registryUrl: string } {
  return inject('infra');
}

/** The environment for a `sluice` child process on the test servers and a namespace. */
export function sluiceEnv(
  namespace: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const { brokers, registryUrl } = endpoints();
  return {
    ...process.env,
    SLUICE_BROKERS: brokers.join(','),
    SLUICE_REGISTRY_URL: registryUrl,
    SLUICE_NAMESPACE: namespace,
    ...extra,
  };
}

/** A kafkajs client on the test broker (or `brokers`); quiet, because expected errors would flood the output. */
export function kafkaClient(clientId = 'sluice-test', brokers = endpoints().brokers): Kafka {
  return rawKafka(clientId, brokers);
}

/** Sluice's Kafka port on the test broker (or `brokers`), for calling Sluice's own code; quiet. */
export function kafkaPort(clientId = 'sluice-test', brokers = endpoints().brokers): KafkaPort {
  return createKafka({ clientId, brokers, logger: pino({ level: 'silent' }) });
}

/** Creates topics where `kafka` connects (a private broker a test file started), leaders elected. */
export async function createTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopicsWithLeaders(admin, topics);
  } finally {
    await admin.disconnect();
  }
}

/** A namespace unique to one test file, so tests never see each other's topics. */
export function testNamespace(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates topics for one test file and deletes them after it; also deletes every other topic and
 * consumer group whose name starts with the namespace, so what the code under test made goes too.
 */
export async function useTopics(namespace: string, topics: ITopicConfig[]): Promise<Admin> {
  const admin = kafkaClient('sluice-test-admin').admin();
  await admin.connect();
  await createTopicsWithLeaders(admin, topics);
  afterAll(async () => {
    await admin.disconnect();
    // A fresh admin: kafkajs's deleteTopics refreshes the metadata of every topic its admin
    // ever looked at, and fails for good on one deleted since (a cancelled job's repartition
    // topic the test read the offsets of; seen in exported-snapshot.int.test.ts).
    const cleaner = kafkaClient('sluice-test-cleanup').admin();
    await cleaner.connect();
    const all = await cleaner.listTopics();
    const mine = all.filter((t) => t.startsWith(`${namespace}.`) || t === namespace);
    if (mine.length > 0) await cleaner.deleteTopics({ topics: mine });
    const { groups } = await cleaner.listGroups();
    const myGroups = groups.map((g) => g.groupId).filter((g) => g.startsWith(namespace));
    if (myGroups.length > 0) await cleaner.deleteGroups(myGroups).catch(() => undefined);
    await cleaner.disconnect();
  });
  return admin;
}
