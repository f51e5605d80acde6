import { describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../../src/domain/errors.js';
import { KafkaProtocolError } from '../../src/kafka/errors.js';
import { MemoryCluster, VirtualClock } from '../../src/kafka/memory/index.js';
import type { Admin, NewTopic } from '../../src/kafka/port.js';
import { createTopics, replicated } from '../../src/kafka/topics.js';
import { recordingAdmin } from '../support/recording-admin.js';

// Creating topics with Sluice's replication settings (src/kafka/topics.ts), on the in-memory
// Kafka: one broker, so any replication factor above 1 is refused as Kafka refuses it.

function memoryAdmin(): { admin: Admin; requests: NewTopic[][]; cluster: MemoryCluster } {
  const cluster = new MemoryCluster({ clock: new VirtualClock() });
  const requests: NewTopic[][] = [];
  return { admin: recordingAdmin(cluster.client('a').admin(), requests), requests, cluster };
}

async function refusal(work: Promise<unknown>): Promise<SluiceError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSluiceError(err, 'SLUICE_CONFIG_INVALID'))
    throw new Error(`expected SLUICE_CONFIG_INVALID, got ${String(err)}`);
  return err;
}

describe('replicated', () => {
  const topic = { topic: 't', partitions: 3, config: { 'cleanup.policy': 'compact' } };

  it('sends neither setting when none is given: the broker’s defaults apply', () => {
    expect(replicated(topic, {})).toEqual(topic);
    expect('replicationFactor' in replicated(topic, {})).toBe(false);
  });

  it('adds the replication factor and min.insync.replicas beside the topic’s own configs', () => {
    expect(replicated(topic, { replicationFactor: 3, minInsyncReplicas: 2 })).toEqual({
      topic: 't',
      partitions: 3,
      replicationFactor: 3,
      config: { 'cleanup.policy': 'compact', 'min.insync.replicas': '2' },
    });
  });

  it('leaves a min.insync.replicas the topic names itself as it is', () => {
    const own = { ...topic, config: { 'min.insync.replicas': '1' } };
    expect(replicated(own, { minInsyncReplicas: 2 }).config).toEqual({
      'min.insync.replicas': '1',
    });
  });
});

describe('createTopics', () => {
  it('creates topics with the settings given, and only with those', async () => {
    const { admin, requests, cluster } = memoryAdmin();
    await createTopics(admin, [{ topic: 'plain', partitions: 1 }]);
    await createTopics(admin, [{ topic: 'set', partitions: 2 }], {
      replicationFactor: 1,
      minInsyncReplicas: 1,
    });
    expect(requests).toEqual([
      [{ topic: 'plain', partitions: 1 }],
      [
        {
          topic: 'set',
          partitions: 2,
          replicationFactor: 1,
          config: { 'min.insync.replicas': '1' },
        },
      ],
    ]);
    expect(cluster.watermarks('set')).toHaveLength(2);
  });

  it('refuses more replicas than brokers with an error naming both numbers, and creates nothing', async () => {
    const { admin, cluster } = memoryAdmin();
    const err = await refusal(
      createTopics(admin, [{ topic: 'ns.control', partitions: 1 }], { replicationFactor: 3 }),
    );
    expect(err.message).toContain('ns.control');
    expect(err.message).toContain('replication factor 3');
    expect(err.message).toContain('1 broker up');
    expect(err.message).toContain('--replication-factor');
    expect(err.retryable).toBe(false); // KRaft counts brokers that are down: only more cure it
    expect(err.details).toMatchObject({ replicationFactor: 3, brokers: 1, topics: ['ns.control'] });
    expect(await cluster.client('b').admin().listTopics()).toEqual([]);
  });

  it('names the broker’s default when that is what the cluster cannot give', async () => {
    // A cluster of three with one broker down, whose default.replication.factor is 3.
    const admin = {
      createTopics: () =>
        Promise.reject(
          new KafkaProtocolError('INVALID_REPLICATION_FACTOR', 'Replication-factor is invalid'),
        ),
      brokerCount: () => Promise.resolve(2),
    } as unknown as Admin;
    const err = await refusal(createTopics(admin, [{ topic: 't', partitions: 1 }]));
    expect(err.message).toContain(
      "the broker's default replication factor (default.replication.factor)",
    );
    expect(err.message).toContain('2 brokers up');
    expect(err.message).toContain("or lower the broker's default.replication.factor");
  });

  it('passes any other error on as it came', async () => {
    const { admin } = memoryAdmin();
    const err = await createTopics(admin, [{ topic: 't', partitions: 0 }]).catch((e: unknown) => e);
    expect((err as KafkaProtocolError).type).toBe('INVALID_PARTITIONS');
  });
});
