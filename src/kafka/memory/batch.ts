import type { Batch, BatchControl, ConsumeOptions, ConsumedRecord } from '../port.js';
import type { StoredRecord } from './log.js';
import { parseOffset } from './offsets.js';
import type { Owned, Share } from './share.js';

/** What a batch needs of its consumer. */
export interface BatchHost {
  readonly options: ConsumeOptions;
  readonly maxBatchRecords: number;
  /** False once the consumer is stopping, or its process crashed. */
  running(): boolean;
  crashed(): boolean;
  /** A seek of the partition waits to be applied (kafkajs's own `isStale`). */
  seekPending(key: string): boolean;
  heartbeat(): Promise<void>;
}

/** How a fetch of one partition went. */
export interface FetchOutcome {
  /** The position moved. */
  progressed: boolean;
  /** Set when `eachBatch` (or `onBatchEnd`) threw: the consumer backs off or rejoins. */
  error?: { cause: unknown };
}

/**
 * One fetch of a partition and its batch, as kafkajs's runner does it with
 * `eachBatchAutoResolve: false`: records below the last stable offset from the position; a
 * fetch of only markers and aborted records is reported to `onBatchEnd` (size 0) and read past;
 * otherwise `eachBatch` gets the records and the position moves past what it resolved (its
 * last record resolves the markers after it too, as in kafkajs); `onBatchEnd` follows a batch
 * that did not throw.
 */
export async function fetchPartition(
  host: BatchHost,
  o: Owned,
  share: Share,
): Promise<FetchOutcome> {
  const before = o.position;
  const read = o.log.read(o.position, host.maxBatchRecords);
  if (read.first === null) {
    o.position = read.next; // only holes left by compaction: read past them
    return { progressed: o.position !== before };
  }
  const { first, last } = read;
  const { onBatchEnd, eachBatch } = host.options;
  const end = (size: number): void =>
    onBatchEnd?.({
      topic: o.topic,
      partition: o.partition,
      size,
      firstOffset: String(first),
      lastOffset: String(last),
    });
  if (read.records.length === 0) {
    o.position = last + 1;
    try {
      end(0);
    } catch (err) {
      return { progressed: true, error: { cause: err } };
    }
    return { progressed: true };
  }
  const records = read.records.map(consumed);
  const lastRecord = (read.records[read.records.length - 1] as StoredRecord).offset;
  let resolved = -1;
  const control: BatchControl = {
    resolveOffset: (offset) => {
      if (host.crashed()) return;
      const n = parseOffset(offset);
      const through = n === lastRecord ? last : n;
      if (through > resolved) resolved = through;
    },
    heartbeat: () => host.heartbeat(),
    isRunning: () => host.running(),
    isStale: () => share.stale || host.seekPending(o.key) || host.crashed(),
  };
  const batch: Batch = {
    topic: o.topic,
    partition: o.partition,
    records,
    lastOffset: String(last),
    lag: BigInt(Math.max(0, o.log.high - 1 - last)),
  };
  let error: { cause: unknown } | undefined;
  try {
    await eachBatch(batch, control);
  } catch (err) {
    error = { cause: err };
  }
  if (host.crashed()) return { progressed: false };
  if (resolved + 1 > o.position) o.position = resolved + 1;
  const progressed = o.position !== before;
  if (error !== undefined) return { progressed, error };
  try {
    end(records.length);
  } catch (err) {
    return { progressed, error: { cause: err } };
  }
  return { progressed };
}

/** A stored record as a consumer gets it: a fresh object over the same bytes. */
function consumed(r: StoredRecord): ConsumedRecord {
  return {
    offset: r.offsetText,
    key: r.key,
    value: r.value,
    headers: r.headers,
    timestamp: r.timestampText,
  };
}
