import { KafkaProtocolError } from '../errors.js';
import type { RecordHeaders } from '../port.js';

/** Where a transaction stands; records of one are visible to read_committed once committed. */
export type TxnStatus = 'open' | 'committed' | 'aborted';

/** A transaction as the partitions it wrote see it. */
export interface TxnRef {
  readonly producerId: number;
  state: TxnStatus;
}

/** A control record: the marker that ends a transaction on a partition. */
export type ControlType = 'commit' | 'abort';

/** A record as a partition stores it. Never handed out: consumers get copies of its fields. */
export interface StoredRecord {
  offset: number;
  /** The offset as the port spells it, computed once. */
  offsetText: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
  timestamp: number;
  timestampText: string;
  /** The producer that wrote it (-1 for none: never, every producer has an id). */
  producerId: number;
  /** The transaction it belongs to; null for a plain producer's record. */
  txn: TxnRef | null;
  /** Set on transaction markers, which take an offset but are never handed to consumers. */
  control: ControlType | null;
}

/** A record to append, its key, value and headers already in stored form. */
export interface NewRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

/** What one read_committed fetch of a partition covered. */
export interface LogRead {
  /** The records to hand over: committed or non-transactional data, in offset order. */
  records: StoredRecord[];
  /** The first offset covered that holds an entry (record, marker); null if none did. */
  first: number | null;
  /** The last offset covered that holds an entry; -1 if none did. */
  last: number;
  /** The offset after the covered range: where the next fetch starts. */
  next: number;
}

/**
 * One partition: an append-only array indexed by offset, its last stable offset kept as
 * transactions open and end. Compaction leaves holes (`undefined`) and never moves an offset;
 * deleting records from the head (retention, `deleteRecords`) moves the log start, below which
 * every entry is a hole.
 */
export class PartitionLog {
  private readonly entries: (StoredRecord | undefined)[] = [];
  /** Transactions open on this partition, with the first offset each wrote here. */
  private readonly open = new Map<TxnRef, number>();
  private lso = 0;
  private start = 0;

  /** `stable` is told whenever the last stable offset moves (new data for readers). */
  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly stable: () => void,
  ) {}

  /** The log start offset: 0 until records are deleted from the head (see {@link deleteBefore}). */
  get low(): number {
    return this.start;
  }

  /** One past the last offset, markers included. */
  get high(): number {
    return this.entries.length;
  }

  /** The last stable offset: the first offset of the earliest open transaction, or `high`. */
  get lastStable(): number {
    return this.lso;
  }

  /** The entry at an offset (undefined past the end, or where compaction removed one). */
  at(offset: number): StoredRecord | undefined {
    return this.entries[offset];
  }

  /** Appends records of a producer (in a transaction when `txn` is given); the first offset. */
  append(records: NewRecord[], producerId: number, txn: TxnRef | null, now: number): number {
    const base = this.entries.length;
    const timestampText = String(now);
    for (const r of records) {
      const offset = this.entries.length;
      this.entries.push({
        offset,
        offsetText: String(offset),
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: now,
        timestampText,
        producerId,
        txn,
        control: null,
      });
    }
    if (txn !== null && !this.open.has(txn)) this.open.set(txn, base);
    this.restabilise();
    return base;
  }

  /** Writes a transaction's marker here, ending it on this partition. */
  endTxn(txn: TxnRef, control: ControlType, now: number): void {
    const offset = this.entries.length;
    this.entries.push({
      offset,
      offsetText: String(offset),
      key: null,
      value: null,
      headers: {},
      timestamp: now,
      timestampText: String(now),
      producerId: txn.producerId,
      txn,
      control,
    });
    this.open.delete(txn);
    this.restabilise();
  }

  /**
   * A read_committed fetch from `from`: entries below the last stable offset, at most `max` of
   * them (records, markers and aborted records alike count, as bytes do in a real fetch).
   * Markers and aborted records are covered but not handed over; holes are skipped.
   */
  read(from: number, max: number): LogRead {
    const end = this.lso;
    const records: StoredRecord[] = [];
    let first: number | null = null;
    let last = -1;
    let covered = 0;
    let i = from;
    for (; i < end && covered < max; i++) {
      const e = this.entries[i];
      if (e === undefined) continue;
      covered++;
      first ??= i;
      last = i;
      if (e.control === null && (e.txn === null || e.txn.state === 'committed')) records.push(e);
    }
    return { records, first, last, next: i };
  }

  /** Every entry, holes left out, in offset order. */
  *all(): IterableIterator<StoredRecord> {
    for (const e of this.entries) if (e !== undefined) yield e;
  }

  /**
   * Log compaction of everything below the last stable offset, as Kafka's cleaner does: a
   * record whose key has a later committed record goes, and so do aborted records; markers
   * stay (Kafka drops them only once their transaction is fully cleaned, much later), and
   * tombstones that are the latest of their key go only if `removeTombstones` (Kafka keeps
   * them for `delete.retention.ms`). How many records went.
   */
  compact(removeTombstones: boolean): number {
    const end = this.lso;
    const latest = new Map<string, number>();
    for (let i = 0; i < end; i++) {
      const e = this.entries[i];
      if (e?.key && e.control === null && e.txn?.state !== 'aborted')
        latest.set(e.key.toString('latin1'), i);
    }
    let removed = 0;
    for (let i = 0; i < end; i++) {
      const e = this.entries[i];
      if (e === undefined || e.control !== null) continue;
      const drop =
        e.txn?.state === 'aborted' ||
        (e.key !== null &&
          (latest.get(e.key.toString('latin1')) !== i || (removeTombstones && e.value === null)));
      if (drop) {
        this.entries[i] = undefined;
        removed++;
      }
    }
    return removed;
  }

  /**
   * Deletes every entry below `offset`, as Kafka's DeleteRecords does (and time or size
   * retention, segment by segment): the log start moves there, offsets never change. An offset
   * past the high watermark fails as Kafka's does (OFFSET_OUT_OF_RANGE); one at or below the
   * log start changes nothing. How many entries went.
   */
  deleteBefore(offset: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.high)
      throw new KafkaProtocolError(
        'OFFSET_OUT_OF_RANGE',
        `Cannot delete records of ${this.topic}-${this.partition} below ${offset}: its high watermark is ${this.high}`,
        false,
      );
    let removed = 0;
    for (let i = this.start; i < offset; i++) {
      if (this.entries[i] !== undefined) removed++;
      this.entries[i] = undefined;
    }
    if (offset > this.start) this.start = offset;
    this.restabilise();
    return removed;
  }

  private restabilise(): void {
    let lso = this.entries.length;
    for (const first of this.open.values()) if (first < lso) lso = first;
    // As Kafka's: a transaction whose first records were deleted holds nothing back below the
    // log start.
    if (lso < this.start) lso = this.start;
    if (lso !== this.lso) {
      this.lso = lso;
      this.stable();
    }
  }
}
