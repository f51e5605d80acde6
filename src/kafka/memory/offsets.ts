import type { PartitionOffset } from '../port.js';
import type { CommittedOffset } from './group.js';

/** An offset as the port spells it (a decimal string), as a number; anything else is a bug. */
export function parseOffset(offset: string): number {
  const n = Number(offset);
  if (offset.trim() === '' || !Number.isSafeInteger(n) || n < 0)
    throw new Error(`Not an offset: ${JSON.stringify(offset)}`);
  return n;
}

/** Committed offsets as the port gives them, by topic then partition. */
export function toPartitionOffsets(offsets: Iterable<CommittedOffset>): PartitionOffset[] {
  return [...offsets]
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
    .map(({ topic, partition, offset, metadata }) => ({
      topic,
      partition,
      offset: String(offset),
      ...(metadata ? { metadata } : {}),
    }));
}
