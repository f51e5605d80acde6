import type { Admin as KafkaJSAdmin } from 'kafkajs';
import { isUnknownTopic } from '../errors.js';
import type { Admin, GroupMember, NewTopic, PartitionOffset, PartitionOffsets } from '../port.js';
import type { AclBinding } from '../../domain/acl.js';
import { authorized } from '../authorization.js';
import { createAcls, describeAcls } from './acls.js';
import kafkajs from './loader.js';

/** Kafka's answers while a topic just created is not yet known everywhere. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Creates topics and waits until every partition has a leader. kafkajs's own wait
 * (`waitForLeaders`) retries only LEADER_NOT_AVAILABLE, but a KRaft broker spreads the new
 * topic's metadata asynchronously, and under load answers UNKNOWN_TOPIC_OR_PARTITION for a
 * moment after the creation; kafkajs lets that through as a failure (seen in the suite with
 * ten topics created at once on a busy machine). A topic that exists already is not an error
 * here: the caller checks what it needs of it.
 */
export async function createTopicsWithLeaders(
  admin: KafkaJSAdmin,
  topics: {
    topic: string;
    numPartitions?: number;
    replicationFactor?: number;
    configEntries?: { name: string; value: string }[];
  }[],
  timeoutMs = 60_000,
): Promise<void> {
  if (topics.length === 0) return; // metadata for no topics would list every topic
  try {
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (err) {
    const error = topicError(err);
    if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
  }
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: names });
      if (
        meta.topics.length === names.length &&
        meta.topics.every(
          (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
        )
      )
        return;
    } catch (err) {
      if (!NOT_YET.has((err as { type?: string }).type ?? '') && !isUnknownTopic(err)) throw err;
    }
    if (Date.now() > deadline)
      throw new Error(`topics still without leaders after ${timeoutMs} ms: ${names.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Cluster administration through a kafkajs admin client. */
export class KafkajsAdmin implements Admin {
  constructor(private readonly admin: KafkaJSAdmin) {}

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async createTopics(topics: NewTopic[]): Promise<void> {
    const names = topics.map((t) => t.topic);
    await authorized({ TOPIC: ['CREATE', names] }, () =>
      createTopicsWithLeaders(
        this.admin,
        topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          // Left out, kafkajs sends -1: the broker's default.
          ...(t.replicationFactor !== undefined && { replicationFactor: t.replicationFactor }),
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      ),
    );
  }

  deleteTopics(topics: string[]): Promise<void> {
    return authorized({ TOPIC: ['DELETE', topics] }, () => this.admin.deleteTopics({ topics }));
  }

  deleteRecords(topic: string, below: { partition: number; offset: string }[]): Promise<void> {
    return authorized({ TOPIC: ['DELETE', topic] }, async () => {
      // kafkajs's admin finds a partition's leader only in metadata it has fetched.
      await this.admin.fetchTopicMetadata({ topics: [topic] });
      await this.admin.deleteTopicRecords({ topic, partitions: below });
    });
  }

  async partitions(topics: string[]): Promise<{ topic: string; partitions: number[] }[]> {
    const { topics: meta } = await authorized({ TOPIC: ['DESCRIBE', topics] }, () =>
      this.admin.fetchTopicMetadata({ topics }),
    );
    return meta.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partitionId) }));
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await authorized({ TOPIC: ['DESCRIBE', topic] }, () =>
      this.admin.fetchTopicOffsets(topic),
    );
    return offsets.map((o) => ({
      partition: o.partition,
      low: BigInt(o.low),
      high: BigInt(o.high),
    }));
  }

  async committed(groupId: string, topics?: string[]): Promise<PartitionOffset[]> {
    const answer = await authorized(
      { GROUP: ['DESCRIBE', groupId], TOPIC: ['DESCRIBE', topics ?? []] },
      () => this.admin.fetchOffsets(topics ? { groupId, topics } : { groupId }),
    );
    return answer.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset, metadata }) => ({
        topic,
        partition,
        offset,
        ...(metadata ? { metadata } : {}),
      })),
    );
  }

  async listGroups(): Promise<string[]> {
    return (await this.admin.listGroups()).groups.map((g) => g.groupId);
  }

  async describeGroups(groupIds: string[]): Promise<{ groupId: string; members: GroupMember[] }[]> {
    if (groupIds.length === 0) return [];
    const { groups } = await authorized({ GROUP: ['DESCRIBE', groupIds] }, () =>
      this.admin.describeGroups(groupIds),
    );
    return groups.map((g) => ({
      groupId: g.groupId,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        // Empty while the group rebalances, and for members of other protocols.
        assignment:
          m.memberAssignment.length > 0
            ? (kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ??
              {})
            : {},
      })),
    }));
  }

  deleteGroups(groupIds: string[]): Promise<void> {
    return authorized({ GROUP: ['DELETE', groupIds] }, () =>
      this.admin.deleteGroups(groupIds),
    ).then(() => undefined);
  }

  async topicConfig(topic: string, names: string[]): Promise<Record<string, string>> {
    const { resources } = await authorized({ TOPIC: ['DESCRIBE_CONFIGS', topic] }, () =>
      this.admin.describeConfigs({
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
        includeSynonyms: false,
      }),
    );
    return Object.fromEntries(
      (resources[0]?.configEntries ?? []).map((c) => [c.configName, c.configValue]),
    );
  }

  async brokerCount(): Promise<number> {
    return (await this.admin.describeCluster()).brokers.length;
  }

  createAcls(bindings: AclBinding[]): Promise<void> {
    return authorized({ CLUSTER: ['ALTER', 'kafka-cluster'] }, () =>
      createAcls(this.admin, bindings),
    );
  }

  describeAcls(principal: string): Promise<AclBinding[]> {
    return authorized({ CLUSTER: ['DESCRIBE', 'kafka-cluster'] }, () =>
      describeAcls(this.admin, principal),
    );
  }
}

/**
 * kafkajs reports the topics' errors of a CreateTopics answer as one KafkaJSAggregateError,
 * which carries no protocol error name (`type`) itself: the first topic's error that says more
 * than TOPIC_ALREADY_EXISTS stands for it, with its `type` and `topic`, so callers can tell
 * INVALID_REPLICATION_FACTOR from the rest (src/kafka/topics.ts).
 */
export function topicError(err: unknown): unknown {
  if (!(err instanceof Error) || err.name !== 'KafkaJSAggregateError') return err;
  const errors = (err as Error & { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return err;
  const typed = errors.filter(
    (e): e is Error & { type: string } => typeof (e as { type?: unknown })?.type === 'string',
  );
  return typed.find((e) => e.type !== 'TOPIC_ALREADY_EXISTS') ?? typed[0] ?? err;
}
