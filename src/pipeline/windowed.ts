import { SluiceError } from '../domain/errors.js';
import { windowProblems, type WindowKind, type WindowSpec } from '../domain/windows.js';
import { checkedName, retryable } from './checks.js';
import type { Stream } from './pipeline.js';
import {
  WINDOW_EMITS,
  type MaybePromise,
  type Retryable,
  type StageDef,
  type StageKey,
  type WindowEmit,
} from './stages.js';

/** A window definition, typed by its kind: a session window's aggregate must say how to merge. */
export interface WindowDef<K extends WindowKind = WindowKind> {
  readonly spec: SpecOf[K];
}

/** Each kind's definition, by kind (an indexed type, so `WindowDef<'tumbling'>` is a `WindowDef`). */
type SpecOf = { [K in WindowKind]: Extract<WindowSpec, { kind: K }> };

/** Factories for window definitions. Sizes are milliseconds of event time; `graceMs` defaults to 0. */
export const Windows = {
  /** Fixed windows of `sizeMs`, one after the other: each record falls in exactly one. */
  tumbling(o: { sizeMs: number; graceMs?: number }): WindowDef<'tumbling'> {
    return defOf({ kind: 'tumbling', sizeMs: o.sizeMs, graceMs: o.graceMs ?? 0 });
  },
  /**
   * Windows of `sizeMs` starting every `advanceMs` (Flink's sliding, Kafka Streams' hopping): a
   * record falls in `sizeMs / advanceMs` of them.
   */
  hopping(o: { sizeMs: number; advanceMs: number; graceMs?: number }): WindowDef<'hopping'> {
    return defOf({
      kind: 'hopping',
      sizeMs: o.sizeMs,
      advanceMs: o.advanceMs,
      graceMs: o.graceMs ?? 0,
    });
  },
  /**
   * Per key, records at most `gapMs` apart share a session; a session ends `gapMs` after its
   * last record. A record between two sessions merges them.
   */
  session(o: { gapMs: number; graceMs?: number }): WindowDef<'session'> {
    return defOf({ kind: 'session', gapMs: o.gapMs, graceMs: o.graceMs ?? 0 });
  },
};

function defOf<K extends WindowKind>(spec: SpecOf[K]): WindowDef<K> {
  const problems = windowProblems(spec);
  if (problems.length > 0)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `Windows.${spec.kind}: ${problems.join('; ')}.`,
      { details: { problems } },
    );
  return { spec };
}

/** Event time, for {@link KeyedStream.window}. */
export interface EventTimeOptions<T> {
  /** A value's event time, in milliseconds; by default the Kafka timestamp of its source record. */
  timestamp?: (value: T) => number;
  /**
   * How far the watermark trails the largest event time seen (default 0): records up to this
   * much out of order never count as late, whatever the grace.
   */
  outOfOrderMs?: number;
  /** A topic for records too late for all their windows; without it they are dropped, counted. */
  lateTopic?: string;
}

/** What a window emits: the key, the window's span and its aggregate. */
export interface Windowed<S> {
  key: string;
  /** The window's start, included (epoch milliseconds). */
  start: number;
  /** The window's end, excluded. */
  end: number;
  value: S;
}

/** Options of {@link WindowedStream.aggregate}. */
export type WindowAggregateOptions<T, S, K extends WindowKind> = {
  name: string;
  init: () => S;
  add: (state: S, value: T) => MaybePromise<S>;
  /** `close` (the default): once per window, when it closes; `update`: on every change. */
  emit?: WindowEmit;
  retryable?: Retryable;
} & (K extends 'session'
  ? { merge: (a: S, b: S) => MaybePromise<S> }
  : { merge?: (a: S, b: S) => MaybePromise<S> });

/** A keyed stream cut into event-time windows: `aggregate` (or `count`) in each window. */
export class WindowedStream<T, K extends WindowKind> {
  constructor(
    private readonly key: StageKey,
    private readonly byRecordKey: boolean,
    private readonly def: WindowDef<K>,
    private readonly time: EventTimeOptions<T>,
    private readonly push: (stage: StageDef) => Stream<unknown>,
  ) {}

  /** Folds each key's values in each window; emits `{ key, start, end, value }`. */
  aggregate<S>(opts: WindowAggregateOptions<T, S, K>): Stream<Windowed<S>> {
    const name = checkedName(opts.name);
    const emit = opts.emit ?? 'close';
    const problems: string[] = [];
    if (!WINDOW_EMITS.includes(emit))
      problems.push(`emit must be 'close' or 'update', not ${JSON.stringify(emit)}`);
    if (this.def.spec.kind === 'session' && typeof opts.merge !== 'function')
      problems.push('a session window needs merge: (a, b) => merged, to join two sessions');
    const lag = this.time.outOfOrderMs ?? 0;
    if (!Number.isSafeInteger(lag) || lag < 0)
      problems.push(`outOfOrderMs must be a whole number ≥ 0, not ${String(lag)}`);
    if (this.time.timestamp !== undefined && typeof this.time.timestamp !== 'function')
      problems.push('timestamp must be a function (value) => epoch milliseconds');
    const late = this.time.lateTopic;
    if (late !== undefined && (typeof late !== 'string' || late.length === 0))
      problems.push('lateTopic must be a topic name');
    if (problems.length > 0)
      throw new SluiceError('SLUICE_CONFIG_INVALID', `window "${name}": ${problems.join('; ')}.`, {
        details: { problems },
      });
    return this.push({
      kind: 'window',
      name,
      key: this.key,
      byRecordKey: this.byRecordKey,
      window: this.def.spec,
      timestamp: this.time.timestamp as ((v: unknown) => number) | undefined,
      outOfOrderMs: lag,
      lateTopic: late,
      init: opts.init,
      add: opts.add as (s: unknown, v: unknown) => MaybePromise<unknown>,
      merge: opts.merge as ((a: unknown, b: unknown) => MaybePromise<unknown>) | undefined,
      emit,
      ...retryable(opts),
    }) as Stream<Windowed<S>>;
  }

  /** Counts each key's values in each window. */
  count(opts: { name: string; emit?: WindowEmit }): Stream<Windowed<number>> {
    const counting = {
      ...opts,
      init: () => 0,
      add: (n: number) => n + 1,
      merge: (a: number, b: number) => a + b,
    };
    return this.aggregate<number>(counting);
  }
}
