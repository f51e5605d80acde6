import { describe, expect, it } from 'vitest';
import type { Kafka as KafkaJSClient } from 'kafkajs';
import { KafkajsConsumer } from '../../src/kafka/kafkajs/consumer.js';

// A hop frozen during a broker outage pauses its consumer. kafkajs throws on a pause between a
// crash and its restart, and that throw ended the worker process in the long-outage fault
// scenario. This fakes kafkajs's consumer (the boundary) to hold the adapter to what it must do:
// not throw, and pause again once the restarted consumer has joined.

interface FakeConsumer {
  events: { GROUP_JOIN: string; END_BATCH_PROCESS: string; CRASH: string };
  handlers: Map<string, (e: { payload: Record<string, unknown> }) => void>;
  pauses: string[][];
  running: boolean;
}

function fakeClient(): { client: KafkaJSClient; consumer: FakeConsumer } {
  const consumer: FakeConsumer = {
    events: { GROUP_JOIN: 'join', END_BATCH_PROCESS: 'end', CRASH: 'crash' },
    handlers: new Map(),
    pauses: [],
    running: false,
  };
  const api = {
    events: consumer.events,
    on: (event: string, handler: (e: { payload: Record<string, unknown> }) => void) =>
      consumer.handlers.set(event, handler),
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run: () => {
      consumer.running = true;
      return Promise.resolve();
    },
    pause: (topics: { topic: string }[]) => {
      // kafkajs's own words, from consumer/index.js, when its consumer group is gone.
      if (!consumer.running)
        throw new Error('Consumer group was not initialized, consumer#run must be called first');
      consumer.pauses.push(topics.map((t) => t.topic));
    },
  };
  return { client: { consumer: () => api } as unknown as KafkaJSClient, consumer };
}

describe('KafkajsConsumer.pause', () => {
  it('does not throw between a crash and its restart, and pauses again on the next join', async () => {
    const { client, consumer } = fakeClient();
    const c = new KafkajsConsumer(client, { groupId: 'g' });
    await c.start({ topics: ['in'], autoCommit: false, eachBatch: () => Promise.resolve() });
    consumer.running = false; // crashed: kafkajs discarded its consumer group and its pauses
    expect(() => c.pause(['in'])).not.toThrow();
    expect(consumer.pauses).toEqual([]);
    consumer.running = true; // restarted, and joined again
    consumer.handlers.get('join')?.({
      payload: { groupId: 'g', memberId: 'm', memberAssignment: { in: [0] } },
    });
    expect(consumer.pauses).toEqual([['in']]);
  });

  it('pauses at once while running, and again after each join', async () => {
    const { client, consumer } = fakeClient();
    const c = new KafkajsConsumer(client, { groupId: 'g' });
    await c.start({ topics: ['a', 'b'], autoCommit: false, eachBatch: () => Promise.resolve() });
    c.pause(['a']);
    expect(consumer.pauses).toEqual([['a']]);
    consumer.handlers.get('join')?.({
      payload: { groupId: 'g', memberId: 'm', memberAssignment: { a: [0], b: [0] } },
    });
    expect(consumer.pauses).toEqual([['a'], ['a']]);
  });
});
