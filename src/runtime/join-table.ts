import { SluiceError } from '../domain/errors.js';
import type { TableJoinStage } from '../pipeline/join.js';
import { isThenable } from '../pipeline/stages.js';
import type { Output } from './execute.js';
import type { StateStore } from './state-store.js';
import type { TableUpdate } from './join-table-index.js';

// A table join's state, in the task's StateStore under the stage's name, so it is committed,
// snapshotted and restored with everything else the task holds: the task's copy of the table
// (`t:<key>`) and, per table partition, the next table offset the copy has not applied
// (`o:<partition>`). Both change only in the chunk's transaction, so a restored task holds the
// table exactly as of the table offsets it restored, whatever the table's topic holds now
// (compaction may have dropped those versions there).

const ENTRY = 't:';
const OFFSET = 'o:';

/** The state key of a table entry. */
export function entryKey(key: string): string {
  return ENTRY + key;
}

/**
 * One value through a table join: its partner is the task's copy's entry of `key(value)`.
 * Synchronous unless the join function returns a promise.
 */
export function joinTableStep(
  stage: TableJoinStage,
  item: Output,
  state: StateStore,
  out: Output[],
): Promise<void> | undefined {
  const key = String(stage.key(item.value));
  const partner = state.get(stage.name, entryKey(key));
  // A deleted entry is held as undefined until the task commits: no partner either way.
  if (partner === undefined && stage.inner) return undefined;
  const joined = stage.join(item.value, partner ?? null);
  if (isThenable(joined))
    return Promise.resolve(joined).then((value) => {
      out.push({ key: item.key, value });
    });
  out.push({ key: item.key, value: joined });
  return undefined;
}

/** The table offsets (next to apply, per partition) the task's copy has reached. */
export function appliedOffsets(
  state: StateStore,
  stage: string,
  partitions: number[],
): Map<number, bigint> {
  const at = new Map<number, bigint>();
  for (const p of partitions) {
    const v = state.get(stage, OFFSET + String(p));
    if (typeof v === 'string') at.set(p, BigInt(v));
  }
  return at;
}

/**
 * Applies a table's updates to the task's copy, pending in its state (they commit with the
 * chunk that follows, or roll back with it), and moves its offsets to `to`. An entry the table
 * holds but cannot read fails here, naming the stage and the table record; a later good record
 * of the same key replaces it.
 */
export function applyTableUpdates(
  state: StateStore,
  stage: string,
  from: ReadonlyMap<number, bigint>,
  updates: Iterable<TableUpdate>,
  to: ReadonlyMap<number, bigint>,
): number {
  let applied = 0;
  for (const u of updates) {
    if (u.unreadable !== undefined)
      throw new SluiceError(
        'SLUICE_DECODE_FAILED',
        `Table join "${stage}": the table record ${u.topic}-${u.partition}@${u.offset} (key ${JSON.stringify(u.key)}) cannot be read: ${u.unreadable}. Write a readable value (or a tombstone) for that key to the table's topic, then resume the job.`,
        { details: { stage, topic: u.topic, partition: u.partition, offset: String(u.offset) } },
      );
    state.put(stage, entryKey(u.key), u.value);
    applied++;
  }
  for (const [p, next] of to)
    if (from.get(p) !== next) state.put(stage, OFFSET + String(p), String(next));
  return applied;
}
