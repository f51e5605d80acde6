import { SluiceError } from '../domain/errors.js';
import { checkedName, retryable } from './checks.js';
import {
  streamJoinStage,
  type LeftStreamJoinOptions,
  type OuterStreamJoinOptions,
  type StreamJoinOptions,
  type StreamJoinType,
} from './join-stream.js';
import type { Stream } from './pipeline.js';
import { WindowedStream, type EventTimeOptions, type WindowDef } from './windowed.js';
import type { WindowKind } from '../domain/windows.js';
import type { KafkaSourceDef } from './sources.js';
import {
  EMITS,
  type Emit,
  type Keyed,
  type MaybePromise,
  type Retryable,
  type StageDef,
  type StageKey,
} from './stages.js';

/** The key `groupByKey` groups by: the source record's, which must have one. */
export const recordKeyOf: StageKey = (_value, recordKey) => {
  if (recordKey === null)
    throw new Error(
      'groupByKey(): the source record has no key. Key the records when producing them, or group with groupingKey(...).',
    );
  return recordKey;
};

/** A keyed stream: the next stage keeps state per key. */
export class KeyedStream<T> {
  constructor(
    private readonly key: StageKey,
    private readonly byRecordKey: boolean,
    private readonly push: (stage: StageDef) => Stream<unknown>,
    /** The pipeline's source, for the checks of a stream join. */
    private readonly source?: KafkaSourceDef,
  ) {}

  /**
   * Joins this stream with another, by key, within a time window: each pair of records, one
   * from each side, with equal keys and times (their event times, or `timestamp`s) at most
   * `windowMs` apart gives one output, when the later of the two arrives. Both sides are buffered in the
   * stage's state until the window (and `graceMs`) has passed for them; an inner join: a
   * record that never meets a partner gives nothing (docs/pipelines.md#joinstream-leftjoinstream-and-outerjoinstream).
   */
  joinStream<R, U>(opts: StreamJoinOptions<T, R, U>): Stream<U> {
    return this.streamJoin(opts, 'inner');
  }

  /**
   * As {@link joinStream}, and a record of this stream that met no partner by the time it
   * leaves the buffer (its window and grace passed) is joined with null, once.
   */
  leftJoinStream<R, U>(opts: LeftStreamJoinOptions<T, R, U>): Stream<U> {
    return this.streamJoin(opts, 'left');
  }

  /**
   * As {@link joinStream}, and a record of either side that met no partner by the time it
   * leaves the buffer is joined with null on the other side, once: `join(value, null, key)`
   * or `join(null, other, key)`.
   */
  outerJoinStream<R, U>(opts: OuterStreamJoinOptions<T, R, U>): Stream<U> {
    return this.streamJoin(opts, 'outer');
  }

  private streamJoin<U>(
    opts: Parameters<typeof streamJoinStage>[1],
    type: StreamJoinType,
  ): Stream<U> {
    if (this.byRecordKey || !this.source)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `joinStream "${String(opts.name)}": key the stream with groupingKey(...), not groupByKey(): both sides are repartitioned by the join key into the stage's own topic.`,
      );
    return this.push(streamJoinStage(this.key, opts, this.source, type)) as Stream<U>;
  }

  /**
   * Folds each key's values into a state and emits `{ key, value }`. `emit: 'update'` (the
   * default) emits on every update; `emit: 'commit'` emits each updated key's latest value once
   * per commit, which is what a reader of a compacted output or a table needs, for far fewer
   * writes (Kafka Streams' record cache does the same). Under EXACTLY_ONCE a reader sees the
   * same committed values either way, only fewer of the intermediate ones.
   */
  aggregate<S>(opts: {
    name: string;
    init: () => S;
    add: (state: S, value: T) => MaybePromise<S>;
    emit?: Emit;
    retryable?: Retryable;
  }): Stream<Keyed<S>> {
    const emit = opts.emit ?? 'update';
    if (!EMITS.includes(emit))
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `aggregate "${String(opts.name)}": emit must be one of ${EMITS.map((e) => `'${e}'`).join(', ')}, not ${JSON.stringify(emit)}.`,
      );
    return this.push({
      kind: 'aggregate',
      name: checkedName(opts.name),
      key: this.key,
      byRecordKey: this.byRecordKey,
      init: opts.init,
      add: opts.add as (s: unknown, v: unknown) => MaybePromise<unknown>,
      emit,
      ...retryable(opts),
    }) as Stream<Keyed<S>>;
  }

  /**
   * Cuts each key's values into event-time windows (`Windows.tumbling`, `hopping`, `session`),
   * for an `aggregate` or `count` per key and window. See docs/pipelines.md#windows.
   */
  window<K extends WindowKind>(
    def: WindowDef<K>,
    time: EventTimeOptions<T> = {},
  ): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.key, this.byRecordKey, def, time, this.push);
  }

  /** Maps each value with its key's state; `fn` returns the new state and the output (undefined for none). */
  mapWithState<S, U>(opts: {
    name: string;
    init: () => S;
    fn: (state: S, value: T, key: string) => MaybePromise<[S, U | undefined]>;
    retryable?: Retryable;
  }): Stream<U> {
    return this.push({
      kind: 'mapWithState',
      name: checkedName(opts.name),
      key: this.key,
      byRecordKey: this.byRecordKey,
      init: opts.init,
      fn: opts.fn as (s: unknown, v: unknown, k: string) => MaybePromise<[unknown, unknown]>,
      ...retryable(opts),
    }) as Stream<U>;
  }
}
