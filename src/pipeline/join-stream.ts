import { SluiceError } from '../domain/errors.js';
import { checkedName, retryable } from './checks.js';
import type { KafkaSourceDef } from './sources.js';
import type { MaybePromise, Retryable, StageKey } from './stages.js';

// Stream–stream joins: the builder's half. The runtime's half is runtime/join-stream.ts; what
// a record that arrives before its partner gets is documented in docs/pipelines.md#joinstream-and-leftjoinstream.

/** Options of `joinStream`: the other stream, its key, the window, and the output. */
export interface StreamJoinOptions<T, R, U> {
  /** Names the stage, its repartition topic and its state topic (both sides' buffers). */
  name: string;
  /** The other stream: a Kafka source, read by a hop of its own. Not bounded. */
  other: KafkaSourceDef;
  /** The other stream's join key, compared (as text) with this stream's grouping key. */
  otherKey: (value: R) => string | number;
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
  retryable?: Retryable;
}

/** Options of `leftJoinStream`: a record of this stream that meets no partner is joined with null. */
export interface LeftStreamJoinOptions<T, R, U> extends Omit<StreamJoinOptions<T, R, U>, 'join'> {
  join: (value: T, other: R | null, key: string) => MaybePromise<U>;
}

/** A stream–stream join as the runtime sees it (one of the pipeline's `StageDef`s). */
export interface StreamJoinStage {
  kind: 'joinStream';
  name: string;
  key: StageKey;
  /** Always false: a stream join reads its own repartition topic, which both sides feed. */
  byRecordKey: false;
  other: KafkaSourceDef;
  otherKey: (value: unknown) => string | number;
  windowMs: number;
  graceMs: number;
  join: (value: unknown, other: unknown, key: string) => MaybePromise<unknown>;
  /** A left join: a record of this stream that met no partner is joined with null, once. */
  left: boolean;
  retryable?: Retryable;
}

/** The stage for `joinStream`, its options checked (user code may be untyped). */
export function streamJoinStage(
  key: StageKey,
  opts: {
    name: string;
    other: KafkaSourceDef;
    otherKey: unknown;
    windowMs: number;
    graceMs?: number;
    join: unknown;
    retryable?: Retryable;
  },
  source: KafkaSourceDef,
  left = false,
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
    windowMs: opts.windowMs,
    graceMs,
    join: opts.join as (value: unknown, other: unknown, key: string) => MaybePromise<unknown>,
    left,
    ...retryable(opts),
  };
}
