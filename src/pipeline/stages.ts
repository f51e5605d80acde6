import type { WindowSpec } from '../domain/windows.js';
import type { TableJoinStage } from './join.js';
import type { StreamJoinStage } from './join-stream.js';

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
  | WindowStage
  | TableJoinStage
  | StreamJoinStage
  | {
      kind: 'branch';
      name: string;
      /** Tried in order: an item goes to the first route whose predicate holds. */
      routes: Route[];
    }
) & { retryable?: Retryable };

/**
 * One named branch of a `branch` stage: its own stateless stages, then its own sink. A branch
 * ends its pipeline, so a `branch` stage is always the last of the stages it sits in.
 */
export interface Route {
  name: string;
  /** Undefined for the default branch, which takes the items no predicate matched. */
  predicate: ((value: unknown) => MaybePromise<boolean>) | undefined;
  stages: StageDef[];
  /** The index of the branch's sink in the pipeline's `sinks`. */
  sink: number;
}

/** Where an item that no branch took goes: nowhere, counted (see chunk.ts). */
export const UNROUTED = -1;

/** The topic a stage sends values too late for it to (a window's, a stream join's), if any. */
export function lateTopicOf(s: StageDef): string | undefined {
  return s.kind === 'window' || s.kind === 'joinStream' ? s.lateTopic : undefined;
}

/** Every stage, those inside branches included, in the order they run. */
export function allStages(stages: readonly StageDef[]): StageDef[] {
  return stages.flatMap((s) =>
    s.kind === 'branch' ? [s, ...s.routes.flatMap((r) => allStages(r.stages))] : [s],
  );
}

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

/**
 * An aggregate per key and event-time window (see pipeline/windowed.ts, runtime/window-step.ts).
 * Its state is each key's open windows, in the changelog like any keyed state.
 */
export interface WindowStage {
  kind: 'window';
  name: string;
  key: StageKey;
  byRecordKey: boolean;
  window: WindowSpec;
  /** A value's event time; undefined: the timestamp of the record it came from. */
  timestamp: ((value: unknown) => number) | undefined;
  /** How far behind the largest event time seen the watermark trails. */
  outOfOrderMs: number;
  /** Where records too late for every window of theirs go; undefined: dropped, counted. */
  lateTopic: string | undefined;
  init: () => unknown;
  add: (state: unknown, value: unknown) => MaybePromise<unknown>;
  /** Folds two sessions' aggregates into one when a record joins them (session windows). */
  merge: ((a: unknown, b: unknown) => MaybePromise<unknown>) | undefined;
  emit: WindowEmit;
}

/** When a window emits: once, when it closes; or on every update (its latest value each time). */
export type WindowEmit = 'close' | 'update';
export const WINDOW_EMITS: readonly WindowEmit[] = ['close', 'update'];

/** The stateful stages, whose state lives in a changelog topic named after them. */
export type StatefulStage = Extract<
  StageDef,
  { kind: 'aggregate' | 'mapWithState' | 'window' | 'joinStream' }
>;

/** True for stages that keep keyed state. */
export function isStateful(stage: StageDef): stage is StatefulStage {
  return (
    stage.kind === 'aggregate' ||
    stage.kind === 'mapWithState' ||
    stage.kind === 'window' ||
    stage.kind === 'joinStream'
  );
}

/**
 * Stages whose state lives in a changelog topic named after them: the keyed ones, and a table
 * join's copy of its table (which stays in the hop it is in: it needs no repartition).
 */
export function hasChangelog(stage: StageDef): boolean {
  return isStateful(stage) || stage.kind === 'joinTable';
}

/** What `aggregate` emits on every update. */
export interface Keyed<V> {
  key: string;
  value: V;
}
