import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  dropAborted,
  type AbortedTransaction,
  type FetchedRecord,
} from '../../src/kafka/kafkajs/aborted.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A data record, or a control record with `marker`, of one producer. */
function rec(
  offset: number,
  producerId: string,
  marker?: Buffer,
  inTransaction = true,
): FetchedRecord {
  return {
    offset: String(offset),
    key: marker ?? Buffer.from(`k${offset}`),
    isControlRecord: marker !== undefined,
    batchContext: { producerId, inTransaction },
  };
}

const offsets = (records: FetchedRecord[]): number[] =>
  records.filter((r) => !r.isControlRecord).map((r) => Number(r.offset));

// What the broker sent in a real fetch (seen with test/kafka/read-committed.int.test.ts's
// producers): A (pid 8) wrote 0 and 2, B (pid 9) wrote 1; B was aborted first, then A; C (pid 11)
// committed 5. The aborted list comes in abort order, B before A.
const interleaved = {
  messages: [
    rec(0, '8'),
    rec(1, '9'),
    rec(2, '8'),
    rec(3, '9', ABORT),
    rec(4, '8', ABORT),
    rec(5, '11'),
    rec(6, '11', COMMIT),
  ],
  abortedTransactions: [
    { producerId: '9', firstOffset: '1' },
    { producerId: '8', firstOffset: '0' },
  ] satisfies AbortedTransaction[],
};

describe('dropping the records of aborted transactions (read_committed)', () => {
  it('drops two interleaved aborted transactions listed in abort order, keeping the committed one', () => {
    expect(offsets(dropAborted(interleaved))).toEqual([5]);
  });

  it('is needed: kafkajs 2.2.4 lets the first record of the earlier-begun transaction through', () => {
    const require = createRequire(import.meta.url);
    const original =
      require('../../node_modules/kafkajs/src/consumer/filterAbortedMessages.js') as (
        batch: typeof interleaved,
      ) => FetchedRecord[];
    // If this starts failing, kafkajs fixed its filter and src/kafka/kafkajs.ts can go.
    expect(offsets(original(interleaved))).toEqual([0, 5]);
  });

  it('drops only the aborted one of a producer’s consecutive transactions', () => {
    const messages = [
      rec(0, '1'),
      rec(1, '1', COMMIT),
      rec(2, '1'),
      rec(3, '1'),
      rec(4, '1', ABORT),
      rec(5, '1'),
      rec(6, '1', COMMIT),
    ];
    const kept = dropAborted({
      messages,
      abortedTransactions: [{ producerId: '1', firstOffset: '2' }],
    });
    expect(offsets(kept)).toEqual([0, 5]);
  });

  it('drops two aborted transactions of one producer in one fetch', () => {
    const messages = [
      rec(0, '1'),
      rec(1, '1', ABORT),
      rec(2, '2'),
      rec(3, '1'),
      rec(4, '1', ABORT),
    ];
    const kept = dropAborted({
      messages,
      abortedTransactions: [
        { producerId: '1', firstOffset: '3' },
        { producerId: '1', firstOffset: '0' },
      ],
    });
    expect(offsets(kept)).toEqual([2]);
  });

  it('drops an aborted transaction that began before the fetched range', () => {
    const messages = [
      rec(10, '4'),
      rec(11, '5', undefined, false),
      rec(12, '4', ABORT),
      rec(13, '4'),
    ];
    const kept = dropAborted({
      messages,
      abortedTransactions: [{ producerId: '4', firstOffset: '7' }],
    });
    expect(offsets(kept)).toEqual([11, 13]);
  });

  it('keeps non-transactional records of a producer id that has an aborted transaction', () => {
    const messages = [rec(0, '3'), rec(1, '3', undefined, false), rec(2, '3', ABORT)];
    const kept = dropAborted({
      messages,
      abortedTransactions: [{ producerId: '3', firstOffset: '0' }],
    });
    expect(offsets(kept)).toEqual([1]);
  });

  it('returns the records as they are when nothing was aborted', () => {
    const messages = [rec(0, '1'), rec(1, '1', COMMIT)];
    expect(dropAborted({ messages, abortedTransactions: [] })).toBe(messages);
    expect(dropAborted({ messages })).toBe(messages);
  });
});
