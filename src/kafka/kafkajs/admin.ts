import type { Admin as KafkaJSAdmin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUnknownTopic, KafkaProtocolError } from '../errors.js';
import type { Admin, GroupMember, NewTopic, PartitionOffset, PartitionOffsets } from '../port.js';
import kafkajs from './loader.js';

/** How long a created topic may take to have a leader for every partition, as brokers see it. */
const LEADER_WAIT_MS = 10_000;

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
    await this.admin
      .createTopics({
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          // Left out, kafkajs sends -1: the broker's default.
          ...(t.replicationFactor !== undefined && { replicationFactor: t.replicationFactor }),
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
        // kafkajs's own wait gives up on a broker that has not heard of the topic yet: see below.
        waitForLeaders: false,
      })
      .catch((err: unknown) => {
        throw topicError(err);
      });
    await this.untilLeaders(topics.map((t) => t.topic));
  }

  /**
   * Waits until every partition of the topics has a leader. kafkajs's `waitForLeaders` retries
   * LEADER_NOT_AVAILABLE only, but on a cluster of several brokers the one it asks may not have
   * the new topic in its metadata yet and answer UNKNOWN_TOPIC_OR_PARTITION, which kafkajs then
   * throws although the topic was created (seen on a local 3-broker cluster, often). One
   * broker learns of its own topics at once, which is why a single broker never showed it.
   */
  private async untilLeaders(topics: string[], timeoutMs = LEADER_WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { topics: meta } = await this.admin.fetchTopicMetadata({ topics });
        if (meta.every((t) => t.partitions.every((p) => p.leader >= 0))) return;
      } catch (err) {
        if (!isUnknownTopic(err) || Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline)
        throw new KafkaProtocolError(
          'LEADER_NOT_AVAILABLE',
          `No leader for every partition of ${topics.join(', ')} within ${timeoutMs} ms of creating them`,
          true,
        );
      await sleep(100);
    }
  }

  deleteTopics(topics: string[]): Promise<void> {
    return this.admin.deleteTopics({ topics });
  }

  async partitions(topics: string[]): Promise<{ topic: string; partitions: number[] }[]> {
    const { topics: meta } = await this.admin.fetchTopicMetadata({ topics });
    return meta.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partitionId) }));
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    return (await this.admin.fetchTopicOffsets(topic)).map((o) => ({
      partition: o.partition,
      low: BigInt(o.low),
      high: BigInt(o.high),
    }));
  }

  async committed(groupId: string, topics?: string[]): Promise<PartitionOffset[]> {
    const answer = await this.admin.fetchOffsets(topics ? { groupId, topics } : { groupId });
    return answer.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => ({ topic, partition, offset })),
    );
  }

  async listGroups(): Promise<string[]> {
    return (await this.admin.listGroups()).groups.map((g) => g.groupId);
  }

  async describeGroups(groupIds: string[]): Promise<{ groupId: string; members: GroupMember[] }[]> {
    if (groupIds.length === 0) return [];
    const { groups } = await this.admin.describeGroups(groupIds);
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
    return this.admin.deleteGroups(groupIds).then(() => undefined);
  }

  async topicConfig(topic: string, names: string[]): Promise<Record<string, string>> {
    const { resources } = await this.admin.describeConfigs({
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
      includeSynonyms: false,
    });
    return Object.fromEntries(
      (resources[0]?.configEntries ?? []).map((c) => [c.configName, c.configValue]),
    );
  }

  async brokerCount(): Promise<number> {
    return (await this.admin.describeCluster()).brokers.length;
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
