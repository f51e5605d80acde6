import { SluiceError } from '../domain/errors.js';
import { errorType } from './errors.js';
import type { Admin, NewTopic } from './port.js';

/**
 * How the topics Sluice creates are replicated. Each setting left out is not sent at all, so
 * the broker's own default applies (`default.replication.factor`, `min.insync.replicas`).
 * Topics that already exist keep theirs.
 */
export interface TopicReplication {
  /** Replicas of each partition. */
  replicationFactor?: number | undefined;
  /** The topic's `min.insync.replicas`: replicas that must have a write before it counts. */
  minInsyncReplicas?: number | undefined;
}

/** A topic to create with the replication settings given; a config it names itself wins. */
export function replicated(topic: NewTopic, replication: TopicReplication): NewTopic {
  const { replicationFactor, minInsyncReplicas } = replication;
  return {
    ...topic,
    ...(replicationFactor !== undefined && { replicationFactor }),
    ...(minInsyncReplicas !== undefined && {
      config: { 'min.insync.replicas': String(minInsyncReplicas), ...topic.config },
    }),
  };
}

/**
 * Creates topics with the replication settings given. A replication factor the cluster cannot
 * give (Kafka's INVALID_REPLICATION_FACTOR, which names no numbers through kafkajs) becomes a
 * SluiceError naming the factor asked for and the brokers the cluster has up. It is not
 * retryable: a KRaft controller places replicas on every registered broker, a broker that is
 * down included, so only adding brokers cures it.
 */
export async function createTopics(
  admin: Admin,
  topics: NewTopic[],
  replication: TopicReplication = {},
): Promise<void> {
  try {
    await admin.createTopics(topics.map((t) => replicated(t, replication)));
  } catch (err) {
    if (errorType(err) !== 'INVALID_REPLICATION_FACTOR') throw err;
    throw await replicationRefused(admin, topics, replication, err);
  }
}

async function replicationRefused(
  admin: Admin,
  topics: NewTopic[],
  replication: TopicReplication,
  cause: unknown,
): Promise<SluiceError> {
  const brokers = await admin.brokerCount().catch(() => undefined);
  const names = topics.map((t) => t.topic).join(', ');
  const factor = replication.replicationFactor;
  const asked =
    factor === undefined
      ? "the broker's default replication factor (default.replication.factor)"
      : `replication factor ${factor}`;
  const has =
    brokers === undefined ? 'fewer brokers' : `${brokers} broker${brokers === 1 ? '' : 's'} up`;
  const flag = '--replication-factor (SLUICE_REPLICATION_FACTOR, or the replicationFactor option)';
  const fix =
    factor === undefined
      ? `Set ${flag} to at most the cluster's number of brokers, or lower the broker's default.replication.factor`
      : `Lower ${flag} to at most the cluster's number of brokers, or leave it unset for the broker's default`;
  return new SluiceError(
    'SLUICE_CONFIG_INVALID',
    `Kafka refused to create ${names} with ${asked}: the cluster has ${has}. ${fix}.`,
    {
      cause,
      details: { topics: topics.map((t) => t.topic), replicationFactor: factor ?? null, brokers },
    },
  );
}
