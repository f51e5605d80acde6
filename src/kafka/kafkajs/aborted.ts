/** The parts of a fetched record that read_committed filtering looks at (kafkajs's shape). */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

/** An aborted transaction as a fetch response lists it. */
export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** A control record's key: version 0, then type 0 (abort) or 1 (commit). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/** Tells which filter is Sluice's, whichever copy of this module made it. */
export const FILTER_MARK = Symbol.for('sluice.readCommittedFilter');

/**
 * Drops the records of aborted transactions from one fetched partition, as the Java consumer
 * does: aborted transactions are taken in the order of their first offset, every one that has
 * begun by a record's offset is taken, and a producer's abort marker ends its aborted run.
 *
 * The broker lists aborted transactions in the order they were aborted, which is not the order
 * they began when several producers write one partition (a repartition topic, a sink).
 */
export function dropAborted<T extends FetchedRecord>({
  messages,
  abortedTransactions,
}: {
  messages: T[];
  abortedTransactions?: AbortedTransaction[] | null;
}): T[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = abortedTransactions
    .map((t) => ({ producerId: String(t.producerId), firstOffset: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborting = new Set<string>();
  let next = 0;
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (next < pending.length && (pending[next]?.firstOffset ?? offset + 1n) <= offset)
      aborting.add(pending[next++]?.producerId ?? '');
    const producerId = String(message.batchContext.producerId);
    if (message.isControlRecord) {
      if (message.key && ABORT_MARKER_KEY.equals(message.key)) aborting.delete(producerId);
      return true; // control records are dropped by kafkajs after this filter
    }
    return !(message.batchContext.inTransaction && aborting.has(producerId));
  });
}
Object.defineProperty(dropAborted, FILTER_MARK, { value: true });
