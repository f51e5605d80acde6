import { SluiceError } from '../domain/errors.js';
import { checkedName, retryable } from './checks.js';
import type { KafkaSourceDef } from './sources.js';
import type { MaybePromise, Retryable, StageKey } from './stages.js';

// Stream–stream joins: the builder's half. The runtime's half is runtime/join-stream.ts; what
// a record that arrives before its partner gets is documented in docs/pipelines.md#joinstream-leftjoinstream-and-outerjoinstream.

/** Options of `joinStream`: the other stream, its key, the window, and the output. */
export interface StreamJoinOptions<T, R, U> {
  /** Names the stage, its repartition topic and its state topic (both sides' buffers). */
  name: string;
  /** The other stream: a Kafka source, read by a hop of its own. Not bounded. */
  other: KafkaSourceDef;
  /** The other stream's join key, compared (as text) with this stream's grouping key. */
  otherKey: (value: R) => string | number;
  /**
   * A value's time, in epoch milliseconds, on each side: by default the event time of the
   * record it came from (its Kafka timestamp, carried across repartitions), as for windows.
   */
  timestamp?: (value: T) => number;
  otherTimestamp?: (value: R) => number;
  /** Records whose times differ by at most this many milliseconds are joined. */
  windowMs: number;
  /**
   * How long past the window a record waits for a partner that is late (out of order), in
   * the stage's stream time: default 0. A record is dropped from the buffer once the stream
   * time passes its time + windowMs + graceMs.
   */
  graceMs?: number;
  /** The output for one pair: called once per pair, when the later of the two arrives. */
  join: (value: T, other: R, key: string) => MaybePromise<U>;
  /**
   * A topic for records that arrive too late (their time behind the stream time by more than
   * windowMs + graceMs, so partners may have left the buffer): each is written there as it was
   * read, in the same transaction as the outputs. Without it they are dropped; counted either
   * way (`sluice_job_records_late_total`).
   */
  lateTopic?: string;
  retryable?: Retryable;
}

/** Options of `leftJoinStream`: a record of this stream that meets no partner is joined with null. */
export interface LeftStreamJoinOptions<T, R, U> extends Omit<StreamJoinOptions<T, R, U>, 'join'> {
  join: (value: T, other: R | null, key: string) => MaybePromise<U>;
}

/** Options of `outerJoinStream`: a record of either side that meets no partner is joined with null. */
export interface OuterStreamJoinOptions<T, R, U> extends Omit<StreamJoinOptions<T, R, U>, 'join'> {
  join: (value: T | null, other: R | null, key: string) => MaybePromise<U>;
}

/**
 * Which records that meet no partner give an output, joined with null, when they leave the
 * buffer: none (`inner`), this stream's (`left`), either side's (`outer`).
 */
export type StreamJoinType = 'inner' | 'left' | 'outer';

/** A stream–stream join as the runtime sees it (one of the pipeline's `StageDef`s). */
export interface StreamJoinStage {
  kind: 'joinStream';
  name: string;
  key: StageKey;
  /** Always false: a stream join reads its own repartition topic, which both sides feed. */
  byRecordKey: false;
  other: KafkaSourceDef;
  otherKey: (value: unknown) => string | number;
  /** Each side's time from its value; undefined: the record's event time. */
  timestamp: ((value: unknown) => number) | undefined;
  otherTimestamp: ((value: unknown) => number) | undefined;
  windowMs: number;
  graceMs: number;
  join: (value: unknown, other: unknown, key: string) => MaybePromise<unknown>;
  /** Which records that met no partner are joined with null, once, as they leave the buffer. */
  type: StreamJoinType;
  /** Where records too late to join go; undefined: dropped, counted. */
  lateTopic: string | undefined;
  retryable?: Retryable;
}

/** The stage for `joinStream`, its options checked (user code may be untyped). */
export function streamJoinStage(
  key: StageKey,
  opts: {
    name: string;
    other: KafkaSourceDef;
    otherKey: unknown;
    timestamp?: unknown;
    otherTimestamp?: unknown;
    windowMs: number;
    graceMs?: number;
    join: unknown;
    lateTopic?: unknown;
    retryable?: Retryable;
  },
  source: KafkaSourceDef,
  type: StreamJoinType = 'inner',
): StreamJoinStage {
  const name = checkedName(opts.name);
  const bad = (what: string): SluiceError =>
    new SluiceError('SLUICE_CONFIG_INVALID', `joinStream "${name}": ${what}`);
  if (typeof opts.other !== 'object' || opts.other === null || opts.other.kind !== 'kafka')
    throw bad('`other` must be a source, Sources.kafka({ topic }).');
  if (opts.other.bounded || source.bounded)
    throw bad(
      'bounded sources are not supported yet: a bounded job completes at its own source end, which a stream join would have to wait for on both sides. Read both unbounded.',
    );
  for (const fn of ['otherKey', 'join'] as const)
    if (typeof opts[fn] !== 'function') throw bad(`\`${fn}\` must be a function.`);
  for (const fn of ['timestamp', 'otherTimestamp'] as const)
    if (opts[fn] !== undefined && typeof opts[fn] !== 'function')
      throw bad(`\`${fn}\` must be a function (value) => epoch milliseconds.`);
  const late = opts.lateTopic;
  if (late !== undefined && (typeof late !== 'string' || late.length === 0))
    throw bad('`lateTopic` must be a topic name.');
  const graceMs = opts.graceMs ?? 0;
  for (const [field, ms] of [
    ['windowMs', opts.windowMs],
    ['graceMs', graceMs],
  ] as const)
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0)
      throw bad(`\`${field}\` must be a whole number of milliseconds, 0 or more.`);
  return {
    kind: 'joinStream',
    name,
    key,
    byRecordKey: false,
    other: opts.other,
    otherKey: opts.otherKey as (value: unknown) => string | number,
    timestamp: opts.timestamp as ((value: unknown) => number) | undefined,
    otherTimestamp: opts.otherTimestamp as ((value: unknown) => number) | undefined,
    windowMs: opts.windowMs,
    graceMs,
    join: opts.join as (value: unknown, other: unknown, key: string) => MaybePromise<unknown>,
    type,
    lateTopic: late,
    ...retryable(opts),
  };
}
