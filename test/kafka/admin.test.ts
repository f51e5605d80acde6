import type { Admin as KafkaJSAdmin, ITopicConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { errorType } from '../../src/kafka/errors.js';
import { KafkajsAdmin, topicError } from '../../src/kafka/kafkajs/admin.js';
import kafkajs from '../../src/kafka/kafkajs/loader.js';

// The kafkajs adapter's topic creation (src/kafka/kafkajs/admin.ts): what it sends, and how it
// reports the topics' errors. Built from kafkajs's own error classes, so a kafkajs that
// reported CreateTopics errors otherwise would fail here.

/** kafkajs's error for one topic of a CreateTopics answer, as its response parser makes it. */
function topicFailure(type: string, code: number, topic: string): Error {
  const { KafkaJSCreateTopicError } = kafkajs as unknown as {
    KafkaJSCreateTopicError: new (e: object, topic: string) => Error;
  };
  return new KafkaJSCreateTopicError({ type, code, retriable: false, message: type }, topic);
}

function aggregate(errors: Error[]): Error {
  const { KafkaJSAggregateError } = kafkajs as unknown as {
    KafkaJSAggregateError: new (message: string, errors: Error[]) => Error;
  };
  return new KafkaJSAggregateError('Topic creation errors', errors);
}

/** Metadata with one partition led by `leader` (-1: none yet). */
function led(topic: string, leader: number) {
  return { topics: [{ name: topic, partitions: [{ partitionId: 0, leader }] }] };
}

/**
 * A kafkajs admin whose createTopics records its request and answers `answer`, and whose
 * metadata requests answer from `metadata` in turn (the last one for ever).
 */
function fakeAdmin(
  answer: () => Promise<boolean>,
  metadata?: (() => Promise<unknown>)[],
): { admin: KafkajsAdmin; sent: ITopicConfig[][]; metadataCalls: () => number } {
  const sent: ITopicConfig[][] = [];
  let calls = 0;
  const inner = {
    createTopics: ({ topics }: { topics: ITopicConfig[] }) => {
      sent.push(topics);
      return answer();
    },
    fetchTopicMetadata: ({ topics }: { topics: string[] }) => {
      calls++;
      // By default: every requested topic, led, one entry per topic.
      if (!metadata)
        return Promise.resolve({
          topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
        });
      const next = metadata[Math.min(calls - 1, metadata.length - 1)];
      return next ? next() : Promise.resolve({ topics: [] });
    },
  } as unknown as KafkaJSAdmin;
  return { admin: new KafkajsAdmin(inner), sent, metadataCalls: () => calls };
}

/** kafkajs's error for a topic a broker does not know (yet). */
function unknownTopic(): Error {
  const { KafkaJSProtocolError } = kafkajs as unknown as {
    KafkaJSProtocolError: new (e: object) => Error;
  };
  return new KafkaJSProtocolError({
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
    code: 3,
    retriable: true,
    message: 'This server does not host this topic-partition',
  });
}

describe('the kafkajs admin’s createTopics', () => {
  it('sends a replication factor only when one is given (kafkajs then sends -1, the broker’s default)', async () => {
    const { admin, sent } = fakeAdmin(() => Promise.resolve(true));
    await admin.createTopics([
      { topic: 'a', partitions: 1 },
      { topic: 'b', partitions: 2, replicationFactor: 3, config: { 'min.insync.replicas': '2' } },
    ]);
    expect(sent[0]).toEqual([
      { topic: 'a', numPartitions: 1, configEntries: [] },
      {
        topic: 'b',
        numPartitions: 2,
        replicationFactor: 3,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ]);
    expect('replicationFactor' in (sent[0]?.[0] ?? {})).toBe(false);
  });

  it('reports the topics’ aggregate error as the first telling one, with its type and topic', async () => {
    const failure = aggregate([
      topicFailure('TOPIC_ALREADY_EXISTS', 36, 'a'),
      topicFailure('INVALID_REPLICATION_FACTOR', 38, 'b'),
    ]);
    const { admin } = fakeAdmin(() => Promise.reject(failure));
    const err = await admin.createTopics([{ topic: 'a', partitions: 1 }]).catch((e: unknown) => e);
    expect(errorType(err)).toBe('INVALID_REPLICATION_FACTOR');
    expect((err as { topic?: string }).topic).toBe('b');
  });

  it('leaves every other error as it is', () => {
    const plain = new Error('connection refused');
    expect(topicError(plain)).toBe(plain);
    const exists = aggregate([topicFailure('TOPIC_ALREADY_EXISTS', 36, 'a')]);
    expect(errorType(topicError(exists))).toBe('TOPIC_ALREADY_EXISTS');
  });
});

describe('the kafkajs admin’s wait for leaders after createTopics', () => {
  it('waits through a broker that has not heard of the new topic yet, then through no leader', async () => {
    const { admin, metadataCalls } = fakeAdmin(
      () => Promise.resolve(true),
      [
        () => Promise.reject(unknownTopic()),
        () => Promise.resolve(led('t', -1)),
        () => Promise.resolve(led('t', 2)),
      ],
    );
    await admin.createTopics([{ topic: 't', partitions: 1 }]);
    expect(metadataCalls()).toBe(3);
  });

  it('passes on any other error of the metadata request', async () => {
    const refused = new Error('connection refused');
    const { admin } = fakeAdmin(() => Promise.resolve(true), [() => Promise.reject(refused)]);
    await expect(admin.createTopics([{ topic: 't', partitions: 1 }])).rejects.toBe(refused);
  });
});
