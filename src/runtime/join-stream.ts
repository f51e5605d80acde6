import type { StreamJoinStage } from '../pipeline/join-stream.js';
import { isThenable, type MaybePromise } from '../pipeline/stages.js';
import { StageFailure, type Output } from './execute.js';
import type { StateStore } from './state-store.js';

// A stream–stream join's records and state. Both sides reach the stage through its own
// repartition topic, keyed by the join key, each value in an envelope that names its side and
// carries its time, taken where the record was read (sideRecord). The stage's state, in the
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
  /** Set on a record once it met a partner: a left or outer join emits it alone otherwise. */
  m?: 1;
}

/** One output to make: this side's value and the other's (null: a left join's lone record). */
interface Pair {
  key: string;
  l: unknown;
  r: unknown;
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
 * The envelope a side writes to the join's repartition topic. Its time is the side's
 * `timestamp` of the value when the stage has one, else the event time of the record the hop
 * read (its Kafka timestamp, or the time a repartition header carried: event-time.ts), as a
 * window's. A timestamp function that throws, or gives no finite number, fails the record in
 * the join's stage.
 */
export function sideRecord(
  stage: StreamJoinStage,
  side: 'l' | 'r',
  eventTime: number | undefined,
  v: unknown,
): Buffer {
  const of = side === 'l' ? stage.timestamp : stage.otherTimestamp;
  let t = eventTime ?? 0;
  if (of !== undefined) {
    try {
      t = of(v);
    } catch (err) {
      throw new StageFailure(stage.name, err);
    }
    if (typeof t !== 'number' || !Number.isFinite(t))
      throw new StageFailure(
        stage.name,
        new TypeError(
          `joinStream "${stage.name}": ${side === 'l' ? 'timestamp' : 'otherTimestamp'} gave ${String(t)}, not epoch milliseconds`,
        ),
      );
  }
  const record: SideRecord = { s: side, t, v };
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
 * arrives that late joins nothing (it could miss partners already dropped): it is noted as
 * late, to be counted and sent to the stage's late topic if it has one. Synchronous unless
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
  const pairs: Pair[] = [];
  const expire = lone(stage, pairs);
  const buffers = pruned(
    state.get(stage.name, BUFFERS + key) as Buffers | undefined,
    horizon,
    expire(key),
  );
  const late = rec.t < horizon;
  if (late)
    state.time.late.push({
      stage: stage.name,
      topic: stage.lateTopic,
      key,
      value: rec.v,
      ts: rec.t,
    });
  const partners = late
    ? []
    : (rec.s === 'l' ? buffers.r : buffers.l).filter(
        (p) => Math.abs(p.t - rec.t) <= stage.windowMs,
      );
  for (const p of partners) {
    pairs.push(rec.s === 'l' ? { key, l: rec.v, r: p.v } : { key, l: p.v, r: rec.v });
    p.m = 1;
  }
  if (!late) buffers[rec.s].push({ t: rec.t, v: rec.v, ...(partners.length > 0 ? { m: 1 } : {}) });
  store(state, stage.name, key, buffers);
  const sweep = now >= clock.sweepAt;
  if (sweep) sweepAll(state, stage.name, horizon, key, expire);
  const period = Math.max(stage.windowMs + stage.graceMs, 1_000);
  state.put(stage.name, TIME, { now, sweepAt: sweep ? now + period : clock.sweepAt });
  return joinAll(stage, pairs, out, 0);
}

/**
 * What happens to a record that leaves the buffer without having met a partner: joined with
 * null then, in a left join if it is of this stream, in an outer join whichever its side;
 * otherwise nothing.
 */
function lone(
  stage: StreamJoinStage,
  pairs: Pair[],
): (key: string) => (gone: Buffered, side: 'l' | 'r') => void {
  const emits = { l: stage.type !== 'inner', r: stage.type === 'outer' };
  return (key) => (gone, side) => {
    if (gone.m || !emits[side]) return;
    pairs.push(side === 'l' ? { key, l: gone.v, r: null } : { key, l: null, r: gone.v });
  };
}

/** Calls the join function for each pair in turn, awaiting it only when it returns a promise. */
function joinAll(
  stage: StreamJoinStage,
  pairs: readonly Pair[],
  out: Output[],
  from: number,
): Promise<void> | undefined {
  for (let i = from; i < pairs.length; i++) {
    const { key, l, r } = pairs[i] as Pair;
    const value: MaybePromise<unknown> = stage.join(l, r, key);
    if (isThenable(value))
      return Promise.resolve(value).then((v) => {
        out.push({ key, value: v });
        return joinAll(stage, pairs, out, i + 1);
      });
    out.push({ key, value });
  }
  return undefined;
}

/** The records still inside their window; `gone` hears of each one that is not. */
function pruned(
  b: Buffers | undefined,
  horizon: number,
  gone: (e: Buffered, side: 'l' | 'r') => void,
): Buffers {
  const keep = (side: 'l' | 'r') => (e: Buffered) => {
    if (e.t >= horizon) return true;
    gone(e, side);
    return false;
  };
  // Copies: a pending record's buffers are the state's own objects, and marking a partner (m)
  // for a record that then fails must not reach the writes a revert keeps.
  const copy = (e: Buffered): Buffered => ({ ...e });
  return {
    l: (b?.l ?? []).filter(keep('l')).map(copy),
    r: (b?.r ?? []).filter(keep('r')).map(copy),
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
function sweepAll(
  state: StateStore,
  stage: string,
  horizon: number,
  except: string,
  expire: (key: string) => (gone: Buffered, side: 'l' | 'r') => void,
): void {
  for (const k of state.keys(stage)) {
    if (!k.startsWith(BUFFERS) || k === BUFFERS + except) continue;
    const b = state.get(stage, k) as Buffers | undefined;
    if (b === undefined) continue;
    const kept = pruned(b, horizon, expire(k.slice(BUFFERS.length)));
    if (kept.l.length !== b.l.length || kept.r.length !== b.r.length)
      store(state, stage, k.slice(BUFFERS.length), kept);
  }
}
