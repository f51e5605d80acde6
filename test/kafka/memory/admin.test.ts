import { describe, expect, it } from 'vitest';
import { errorType } from '../../../src/kafka/errors.js';
import { setup } from './helpers.js';

describe('the in-memory admin’s replication', () => {
  it('is one broker: the default (-1) and one replica are fine', async () => {
    const { cluster } = setup();
    const admin = cluster.client('a').admin();
    await admin.createTopics([
      { topic: 'default', partitions: 1 },
      { topic: 'minus-one', partitions: 1, replicationFactor: -1 },
      { topic: 'one', partitions: 1, replicationFactor: 1 },
    ]);
    expect(await admin.listTopics()).toEqual(['default', 'minus-one', 'one']);
    expect(await admin.brokerCount()).toBe(1);
  });

  it.each([
    [3, 'only 1 broker(s) are registered'],
    [0, 'larger than 0, or -1'],
  ])(
    'refuses replication factor %i as Kafka does (INVALID_REPLICATION_FACTOR)',
    async (rf, words) => {
      const { cluster } = setup();
      const admin = cluster.client('a').admin();
      const err = await admin
        .createTopics([{ topic: 't', partitions: 1, replicationFactor: rf }])
        .catch((e: unknown) => e);
      expect(errorType(err)).toBe('INVALID_REPLICATION_FACTOR');
      expect((err as Error).message).toContain(words);
      expect(await admin.listTopics()).toEqual([]);
    },
  );

  it('keeps a min.insync.replicas given at creation and answers it', async () => {
    const { cluster } = setup();
    const admin = cluster.client('a').admin();
    await admin.createTopics([
      { topic: 't', partitions: 1, config: { 'min.insync.replicas': '2' } },
    ]);
    expect(await admin.topicConfig('t', ['min.insync.replicas'])).toEqual({
      'min.insync.replicas': '2',
    });
  });
});

describe('the in-memory admin’s ACLs', () => {
  it('keeps one of each binding however often it is created, by principal (never enforced)', async () => {
    const { cluster } = setup();
    const admin = cluster.client('a').admin();
    const read = {
      principal: 'User:w',
      resourceType: 'TOPIC',
      resourceName: 'ns.jobs',
      pattern: 'LITERAL',
      operation: 'READ',
    } as const;
    const write = { ...read, operation: 'WRITE' } as const;
    await admin.createAcls([read, write]);
    await admin.createAcls([read]);
    await admin.createAcls([{ ...read, principal: 'User:other' }]);
    expect(await admin.describeAcls('User:w')).toEqual([read, write]);
  });
});
