import type { AclBinding } from '../../domain/acl.js';
import { KafkaProtocolError } from '../errors.js';
import type { Admin, GroupMember, NewTopic, PartitionOffset, PartitionOffsets } from '../port.js';
import type { FaultTarget } from './faults.js';
import { parseOffset, toPartitionOffsets } from './offsets.js';
import type { ClientProcess } from './process.js';

/** The in-memory cluster is one broker (see broker.ts). */
const BROKERS = 1;

/**
 * Cluster administration. `connect` and `disconnect` only check the process is alive (nothing
 * enforces connecting first). Lists come sorted, where Kafka's order is arbitrary.
 */
export class MemoryAdmin implements Admin {
  constructor(private readonly process: ClientProcess) {}

  connect(): Promise<void> {
    return this.call('connect', {}, () => undefined);
  }

  disconnect(): Promise<void> {
    return this.call('disconnect', {}, () => undefined);
  }

  listTopics(): Promise<string[]> {
    return this.call('listTopics', {}, () => this.broker.topics.names());
  }

  /**
   * One broker: a topic gets one replica, by default or by asking for 1; more fails as Kafka's
   * controller refuses it. A `min.insync.replicas` config is kept and answered, but never
   * refuses a write, where Kafka would refuse one (NOT_ENOUGH_REPLICAS) on a topic whose
   * replicas are fewer than it.
   */
  createTopics(topics: NewTopic[]): Promise<void> {
    return this.call('createTopics', { topics: topics.map((t) => t.topic) }, () => {
      for (const t of topics) {
        checkReplicationFactor(t, BROKERS);
        if (this.broker.topics.create(t.topic, t.partitions, t.config))
          this.broker.trace(`${this.process.name} created ${t.topic} (${t.partitions})`);
      }
    });
  }

  deleteTopics(topics: string[]): Promise<void> {
    return this.call('deleteTopics', { topics }, () => {
      for (const t of topics) this.broker.topics.require(t);
      for (const t of topics) this.broker.topics.delete(t);
      this.broker.trace(`${this.process.name} deleted ${topics.join(' ')}`);
    });
  }

  deleteRecords(topic: string, below: { partition: number; offset: string }[]): Promise<void> {
    return this.call('deleteRecords', { topics: [topic] }, () => {
      const t = this.broker.topics.require(topic);
      for (const { partition, offset } of below) t.log(partition).deleteBefore(parseOffset(offset));
      this.broker.trace(
        `${this.process.name} deleted records of ${topic} below ${below.map((b) => `${b.partition}@${b.offset}`).join(' ')}`,
      );
    });
  }

  partitions(topics: string[]): Promise<{ topic: string; partitions: number[] }[]> {
    return this.call('partitions', { topics }, () =>
      topics.map((topic) => ({
        topic,
        partitions: this.broker.topics.require(topic).logs.map((l) => l.partition),
      })),
    );
  }

  offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.call('offsets', { topics: [topic] }, () =>
      this.broker.topics.require(topic).logs.map((l) => ({
        partition: l.partition,
        low: BigInt(l.low),
        high: BigInt(l.high),
      })),
    );
  }

  committed(groupId: string, topics?: string[]): Promise<PartitionOffset[]> {
    return this.call('committed', { groupId, topics: topics ?? [] }, () => {
      const group = this.broker.groups.get(groupId);
      if (topics === undefined) return toPartitionOffsets(group?.committed.values() ?? []);
      return topics.flatMap((topic) =>
        this.broker.topics.require(topic).logs.map((l) => {
          const at = group?.committed.get(`${topic}:${l.partition}`);
          return {
            topic,
            partition: l.partition,
            offset: String(at?.offset ?? -1),
            ...(at?.metadata ? { metadata: at.metadata } : {}),
          };
        }),
      );
    });
  }

  listGroups(): Promise<string[]> {
    return this.call('listGroups', {}, () => this.broker.groups.ids());
  }

  describeGroups(groupIds: string[]): Promise<{ groupId: string; members: GroupMember[] }[]> {
    return this.call('describeGroups', {}, () =>
      groupIds.map((groupId) => {
        const group = this.broker.groups.get(groupId);
        const members = [...(group?.members.values() ?? [])]
          .sort((a, b) => (a.id < b.id ? -1 : 1))
          .map((m) => ({
            memberId: m.id,
            // Empty while the group rebalances, as kafkajs's describe shows it.
            assignment: group?.rebalancing ? {} : structuredClone(m.assignment),
          }));
        return { groupId, members };
      }),
    );
  }

  deleteGroups(groupIds: string[]): Promise<void> {
    return this.call('deleteGroups', {}, () => {
      for (const id of groupIds) this.broker.groups.delete(id);
    });
  }

  topicConfig(topic: string, names: string[]): Promise<Record<string, string>> {
    return this.call('topicConfig', { topics: [topic] }, () => {
      const t = this.broker.topics.require(topic);
      const out: Record<string, string> = {};
      for (const name of names) {
        const value = t.configValue(name);
        if (value !== undefined) out[name] = value;
      }
      return out;
    });
  }

  brokerCount(): Promise<number> {
    return this.call('brokerCount', {}, () => BROKERS);
  }

  /**
   * Kept, and answered by describeAcls, but never enforced: the in-memory Kafka has no
   * principals. What the bindings allow is checked against a real broker's StandardAuthorizer
   * (test/security/acl.int.test.ts).
   */
  createAcls(bindings: AclBinding[]): Promise<void> {
    return this.call('createAcls', {}, () => {
      for (const b of bindings) this.broker.acls.set(aclKey(b), { ...b });
    });
  }

  describeAcls(principal: string): Promise<AclBinding[]> {
    return this.call('describeAcls', {}, () =>
      [...this.broker.acls.values()].filter((b) => b.principal === principal),
    );
  }

  private get broker() {
    return this.process.broker;
  }

  private call<T>(method: keyof Admin, target: FaultTarget, effect: () => T): Promise<T> {
    return this.process.call(`admin.${method}`, target, effect);
  }
}

/** Refuses a replication factor the cluster cannot give, in the words of Kafka's controller. */
function checkReplicationFactor(t: NewTopic, brokers: number): void {
  const rf = t.replicationFactor;
  if (rf === undefined || rf === -1 || (rf >= 1 && rf <= brokers)) return;
  throw new KafkaProtocolError(
    'INVALID_REPLICATION_FACTOR',
    rf < 1
      ? 'Replication factor must be larger than 0, or -1 to use the default value.'
      : `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${brokers} broker(s) are registered.`,
  );
}

/** A binding's identity: Kafka keeps one of each. */
function aclKey(b: AclBinding): string {
  return [b.principal, b.resourceType, b.pattern, b.resourceName, b.operation].join('\u0000');
}
