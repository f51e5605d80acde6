/** One table entry's latest version, as a task's copy applies it. */
export interface TableUpdate {
  key: string;
  /** Undefined for a deleted key (a tombstone). */
  value: unknown;
  /** Set when the record's value cannot be read in the table's format: why. */
  unreadable?: string;
  topic: string;
  partition: number;
  offset: bigint;
}

/**
 * A table's versions as a feed reads them: each key's latest, and per partition the order in
 * which versions arrived, so a copy standing at some offsets takes only the versions after
 * them (`since`), not the whole table. Pure: the feed (join-table-feed.ts) fills it from Kafka.
 */
export class TableIndex {
  private readonly latest = new Map<string, TableUpdate>();
  /** Per partition, (offset, key) in offset order; stale ones (key since updated) are skipped. */
  private readonly order = new Map<number, { offset: bigint; key: string }[]>();
  private stale = 0;

  /** Takes a version; offsets of one partition arrive in increasing order. */
  add(u: TableUpdate): void {
    if (this.latest.has(u.key)) this.stale++;
    this.latest.set(u.key, u);
    let list = this.order.get(u.partition);
    if (!list) this.order.set(u.partition, (list = []));
    list.push({ offset: u.offset, key: u.key });
    if (this.stale > 10_000 && this.stale > this.latest.size) this.compact();
  }

  /**
   * The latest version of every key updated at or after `from` (per partition; a partition
   * not named: from its beginning). Applied in any order to a copy that holds the table as of
   * `from`, they give the table as of everything added so far: only each key's last version
   * counts, and no stream record runs between them.
   */
  since(from: ReadonlyMap<number, bigint>): TableUpdate[] {
    const updates: TableUpdate[] = [];
    for (const [p, list] of this.order) {
      for (let i = firstAtOrAfter(list, from.get(p) ?? 0n); i < list.length; i++) {
        const { offset, key } = list[i] as { offset: bigint; key: string };
        const u = this.latest.get(key);
        if (u && u.offset === offset && u.partition === p) updates.push(u);
      }
    }
    return updates;
  }

  /** Drops the order entries of keys updated since: memory stays near the table's size. */
  private compact(): void {
    for (const [p, list] of this.order)
      this.order.set(
        p,
        list.filter(({ offset, key }) => {
          const u = this.latest.get(key);
          return u?.offset === offset && u.partition === p;
        }),
      );
    this.stale = 0;
  }
}

/** The index of the first entry at or after `offset` (binary search: offsets only grow). */
function firstAtOrAfter(list: readonly { offset: bigint }[], offset: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as { offset: bigint }).offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
