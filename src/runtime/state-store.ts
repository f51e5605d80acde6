import { RecordTime } from './event-time.js';

/** One write to a stage's keyed state; also what goes to the changelog topic. */
export interface StateWrite {
  stage: string;
  key: string;
  value: unknown;
}

/**
 * Keyed state of one task, per stage, in memory. Writes go to a pending layer first and reach
 * the committed maps only when the task's output commits, so an aborted transaction leaves the
 * state exactly as the last committed snapshot had it.
 */
export class StateStore {
  private readonly committed = new Map<string, Map<string, unknown>>();
  private pending = new Map<string, Map<string, unknown>>();
  private writes: StateWrite[] = [];
  /**
   * The record being run, for the stages that read event time (windows). Here because the store
   * is what every stage is handed; cleared with the pending writes, as it belongs to them.
   */
  readonly time = new RecordTime();
  /**
   * What stages derive from their state to read it faster (a window stage's close index), by
   * stage. Dropped whenever pending writes are undone or state is restored: a derived entry may
   * then describe writes that no longer exist, so it is built again from the state on next use.
   */
  readonly caches = new Map<string, unknown>();

  /**
   * The current value (pending writes included), or undefined. A committed object is handed out
   * as a copy: user code may update its state in place (`acc.n += 1; return acc`), and a record
   * that then fails must not leave its change in the committed state.
   */
  get(stage: string, key: string): unknown {
    const p = this.pending.get(stage);
    if (p?.has(key)) return p.get(key);
    const value = this.committed.get(stage)?.get(key);
    return value !== null && typeof value === 'object' ? structuredClone(value) : value;
  }

  /** Records a write in the pending layer. */
  put(stage: string, key: string, value: unknown): void {
    let p = this.pending.get(stage);
    if (!p) this.pending.set(stage, (p = new Map<string, unknown>()));
    p.set(key, value);
    this.writes.push({ stage, key, value });
  }

  /** Pending writes, in order, each one: what a failing record's `revertTo` undoes. */
  pendingWrites(): readonly StateWrite[] {
    return this.writes;
  }

  /**
   * What the changelog must receive before the commit: the last pending value of each key.
   * The changelog is compacted and a commit's writes land together, so a key's earlier values
   * in the same commit would only be compacted away; a running count over 100 keys writes at
   * most 100 records per commit, not one per input record.
   */
  changelogWrites(): StateWrite[] {
    const out: StateWrite[] = [];
    for (const [stage, p] of this.pending)
      for (const [key, value] of p) out.push({ stage, key, value });
    return out;
  }

  /**
   * Every key of a stage with its current value (pending over committed; deleted keys left out),
   * committed objects copied as `get` does. A window stage scans them to close windows.
   */
  entries(stage: string): [string, unknown][] {
    const out: [string, unknown][] = [];
    const p = this.pending.get(stage);
    for (const key of this.committed.get(stage)?.keys() ?? [])
      if (!p?.has(key)) out.push([key, this.get(stage, key)]);
    for (const [key, value] of p ?? []) if (value !== undefined) out.push([key, value]);
    return out;
  }

  /** One stage's pending values, each key's latest, in the order the keys were first written. */
  pendingOf(stage: string): ReadonlyMap<string, unknown> {
    return this.pending.get(stage) ?? new Map<string, unknown>();
  }

  /** A savepoint: how many pending writes exist now. */
  mark(): number {
    return this.writes.length;
  }

  /** Drops the pending writes made after `mark` (a record that failed halfway through the stages). */
  revertTo(mark: number): void {
    this.time.late.length = 0;
    this.caches.clear();
    if (mark >= this.writes.length) return;
    const kept = this.writes.slice(0, mark);
    this.rollback();
    for (const w of kept) this.put(w.stage, w.key, w.value);
  }

  /** The output committed: pending writes become the state. */
  commit(): void {
    for (const [stage, p] of this.pending) {
      let c = this.committed.get(stage);
      if (!c) this.committed.set(stage, (c = new Map<string, unknown>()));
      // Undefined is a deletion (an expired window's key, a table join's entry gone): the
      // changelog gets a tombstone (see task.ts), and a restore from it has the key absent.
      for (const [k, v] of p)
        if (v === undefined) c.delete(k);
        else c.set(k, v);
    }
    this.pending = new Map();
    this.writes = [];
  }

  /** The output was aborted: forget pending writes. */
  rollback(): void {
    this.pending = new Map();
    this.writes = [];
    this.time.late.length = 0;
    this.caches.clear();
  }

  /** Loads a committed value while restoring from the changelog (undefined value: a tombstone). */
  restore(stage: string, key: string, value: unknown): void {
    this.caches.delete(stage);
    let c = this.committed.get(stage);
    if (!c) this.committed.set(stage, (c = new Map<string, unknown>()));
    if (value === undefined) c.delete(key);
    else c.set(key, value);
  }

  /** Every key a stage holds, committed or pending (a deleted one reads as undefined). */
  keys(stage: string): string[] {
    const pending = this.pending.get(stage);
    const committed = this.committed.get(stage);
    return [...new Set([...(committed?.keys() ?? []), ...(pending?.keys() ?? [])])];
  }

  /** How many keys a stage holds (committed). */
  size(stage: string): number {
    return this.committed.get(stage)?.size ?? 0;
  }
}
