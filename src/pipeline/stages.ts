/** A user function may return its result or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** True for a promise, or anything `await` would wait for. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Says whether an error a stage's code threw is worth retrying (a timeout of a service it
 * calls, say): the code's half of an error policy, whose rules name errors by name only.
 */
export type Retryable = (err: unknown) => boolean;

/** A stage of a pipeline, as the runtime sees it. Every stage has a stable name. */
export type StageDef = (
  | { kind: 'map'; name: string; fn: (value: unknown) => MaybePromise<unknown> }
  | { kind: 'filter'; name: string; fn: (value: unknown) => MaybePromise<boolean> }
  | { kind: 'flatMap'; name: string; fn: (value: unknown) => MaybePromise<Iterable<unknown>> }
  | {
      kind: 'aggregate';
      name: string;
      key: StageKey;
      /** Groups by the source record's Kafka key (`groupByKey`): no repartition is needed. */
      byRecordKey: boolean;
      init: () => unknown;
      add: (state: unknown, value: unknown) => MaybePromise<unknown>;
      emit: Emit;
    }
  | {
      kind: 'mapWithState';
      name: string;
      key: StageKey;
      byRecordKey: boolean;
      init: () => unknown;
      /** Returns the new state and the output (undefined: no output). */
      fn: (state: unknown, value: unknown, key: string) => MaybePromise<[unknown, unknown]>;
    }
) & { retryable?: Retryable };

/**
 * A stateful stage's key for a value: from the value (`groupingKey`), or the Kafka key of the
 * source record it came from (`groupByKey`, null when that record had none).
 */
export type StageKey = (value: unknown, recordKey: string | null) => string;

/**
 * When an aggregate emits: `update`, once per input record (every intermediate value); `commit`,
 * each updated key's latest value once per commit, as Kafka Streams does with its record cache.
 */
export type Emit = 'update' | 'commit';
export const EMITS: readonly Emit[] = ['update', 'commit'];

/** The stateful stages, whose state lives in a changelog topic named after them. */
export type StatefulStage = Extract<StageDef, { kind: 'aggregate' | 'mapWithState' }>;

/** True for stages that keep keyed state. */
export function isStateful(stage: StageDef): stage is StatefulStage {
  return stage.kind === 'aggregate' || stage.kind === 'mapWithState';
}

/** What `aggregate` emits on every update. */
export interface Keyed<V> {
  key: string;
  value: V;
}
