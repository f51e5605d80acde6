import type { StreamJoinStage } from '../pipeline/join-stream.js';
import { isThenable, type MaybePromise } from '../pipeline/stages.js';
import type { Output } from './execute.js';
import type { StateStore } from './state-store.js';

// A stream–stream join's records and state. Both sides reach the stage through its own
// repartition topic, keyed by the join key, each value in an envelope that names its side and
// carries its time, taken where the record was read (recordTime). The stage's state, in the
// task's StateStore, holds per key the records of each side still inside their window
// (`k:<key>`), and the stage's stream time (`time`): the greatest record time it has seen.

/** A record on a stream join's repartition topic: its side, its time, its value. */
export interface SideRecord {
  s: 'l' | 'r';
  t: number;
  v: unknown;
}

/** One buffered record: its time and value. */
interface Buffered {
  t: number;
  v: unknown;
}

/** A key's buffers: the records of each side that may still meet a partner. */
interface Buffers {
  l: Buffered[];
  r: Buffered[];
}

/** The stage's stream time, and when it next sweeps expired records from every key. */
interface StreamClock {
  now: number;
  sweepAt: number;
}

const BUFFERS = 'k:';
const TIME = 'time';

/**
 * A record's time for a stream join, in epoch milliseconds: the Kafka timestamp of the record
 * the hop feeding the join read. One accessor, so that a general per-record timestamp
 * (event time from the value) can replace it.
 */
export function recordTime(kafkaTimestamp: string | undefined): number {
  const t = Number(kafkaTimestamp);
  return Number.isFinite(t) ? t : 0;
}

/** The envelope a side writes to the join's repartition topic. */
export function sideRecord(
  side: 'l' | 'r',
  kafkaTimestamp: string | undefined,
  v: unknown,
): Buffer {
  const record: SideRecord = { s: side, t: recordTime(kafkaTimestamp), v };
  return Buffer.from(JSON.stringify(record));
}

function isSideRecord(x: unknown): x is SideRecord {
  const r = x as Partial<SideRecord> | null;
  return (
    r !== null && typeof r === 'object' && (r.s === 'l' || r.s === 'r') && typeof r.t === 'number'
  );
}

/**
 * One record through the join: joined with every buffered record of the other side whose time
 * is within the window of its own, then buffered itself. Records whose time has fallen behind
 * the stream time by more than window + grace are dropped from the buffers; a record that
 * arrives that late is dropped (it could miss partners already dropped). Synchronous unless
 * the join function returns a promise.
 */
export function joinStreamStep(
  stage: StreamJoinStage,
  item: Output,
  state: StateStore,
  out: Output[],
): Promise<void> | undefined {
  const rec = item.value;
  if (!isSideRecord(rec))
    throw new Error(
      `joinStream "${stage.name}": a record on its repartition topic is not a side record ({ s, t, v }); was the topic written by something else?`,
    );
  const key = String(rec.s === 'l' ? stage.key(rec.v, null) : stage.otherKey(rec.v));
  const clock = (state.get(stage.name, TIME) as StreamClock | undefined) ?? {
    now: rec.t,
    sweepAt: rec.t,
  };
  const now = Math.max(clock.now, rec.t);
  const horizon = now - stage.windowMs - stage.graceMs;
  const buffers = pruned(state.get(stage.name, BUFFERS + key) as Buffers | undefined, horizon);
  const late = rec.t < horizon;
  const partners = late
    ? []
    : (rec.s === 'l' ? buffers.r : buffers.l).filter(
        (p) => Math.abs(p.t - rec.t) <= stage.windowMs,
      );
  if (!late) buffers[rec.s].push({ t: rec.t, v: rec.v });
  store(state, stage.name, key, buffers);
  const sweep = now >= clock.sweepAt;
  if (sweep) sweepAll(state, stage.name, horizon, key);
  const period = Math.max(stage.windowMs + stage.graceMs, 1_000);
  state.put(stage.name, TIME, { now, sweepAt: sweep ? now + period : clock.sweepAt });
  return joinAll(stage, key, rec, partners, item, out, 0);
}

/** Calls the join function for each partner in turn, awaiting it only when it returns a promise. */
function joinAll(
  stage: StreamJoinStage,
  key: string,
  rec: SideRecord,
  partners: readonly Buffered[],
  item: Output,
  out: Output[],
  from: number,
): Promise<void> | undefined {
  for (let i = from; i < partners.length; i++) {
    const p = partners[i] as Buffered;
    const value: MaybePromise<unknown> =
      rec.s === 'l' ? stage.join(rec.v, p.v, key) : stage.join(p.v, rec.v, key);
    if (isThenable(value))
      return Promise.resolve(value).then((v) => {
        out.push({ key, value: v });
        return joinAll(stage, key, rec, partners, item, out, i + 1);
      });
    out.push({ key, value });
  }
  return undefined;
}

function pruned(b: Buffers | undefined, horizon: number): Buffers {
  return {
    l: (b?.l ?? []).filter((e) => e.t >= horizon),
    r: (b?.r ?? []).filter((e) => e.t >= horizon),
  };
}

/** A key's buffers, or a deletion (a tombstone in the changelog) once both are empty. */
function store(state: StateStore, stage: string, key: string, b: Buffers): void {
  state.put(stage, BUFFERS + key, b.l.length + b.r.length > 0 ? b : undefined);
}

/**
 * Drops expired records from every key, so keys that see no more records (an order paid
 * once) do not stay in memory and in the changelog for ever. Once per window of stream time.
 */
function sweepAll(state: StateStore, stage: string, horizon: number, except: string): void {
  for (const k of state.keys(stage)) {
    if (!k.startsWith(BUFFERS) || k === BUFFERS + except) continue;
    const b = state.get(stage, k) as Buffers | undefined;
    if (b === undefined) continue;
    const kept = pruned(b, horizon);
    if (kept.l.length !== b.l.length || kept.r.length !== b.r.length)
      store(state, stage, k.slice(BUFFERS.length), kept);
  }
}
