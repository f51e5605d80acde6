import { describe, expect, it } from 'vitest';
import '../../src/kafka/kafkajs/loader.js';
import { GROUPING_MARK, groupPerPartition } from '../../src/kafka/kafkajs/grouping.js';
import { kafkajsModule, marked } from '../support/kafkajs-modules.js';

type Grouping = typeof groupPerPartition;
const grouping = kafkajsModule<Grouping>('producer/groupMessagesPerPartition.js');

interface Msg {
  key: string;
  n: number;
}
const partitionMetadata = [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }];
const byKey = ({ message }: { message: Msg }): number => message.key.charCodeAt(1) % 3;

describe('groupPerPartition', () => {
  it('groups as kafkajs does: the same partitions, each list in send order', () => {
    const original = grouping.original;
    expect(marked(original, GROUPING_MARK)).toBe(false); // really kafkajs's
    const messages = Array.from({ length: 500 }, (_, n) => ({ key: `k${(n * 7) % 11}`, n }));
    const input = { topic: 't', partitionMetadata, messages, partitioner: byKey };
    const ours = groupPerPartition(input);
    expect(ours).toEqual(original(input));
    expect(Object.keys(ours)).toEqual(['0', '1', '2']);
    expect(Object.values(ours).flat()).toHaveLength(500);
    expect(ours[1]?.map((m) => m.n)).toEqual(
      messages.filter((m) => byKey({ message: m }) === 1).map((m) => m.n),
    );
  });

  it('returns nothing without partition metadata, as kafkajs does', () => {
    const input = {
      topic: 't',
      partitionMetadata: [],
      messages: [{ key: 'k1', n: 1 }],
      partitioner: byKey,
    };
    expect(groupPerPartition(input)).toEqual({});
    expect(grouping.original(input)).toEqual({});
  });

  it('is the grouping kafkajs producers use once Sluice loaded kafkajs', () => {
    expect(marked(grouping.loaded, GROUPING_MARK)).toBe(true);
  });
});
