import { assertNever } from '../domain/assert.js';
import {
  isThenable,
  UNROUTED,
  type MaybePromise,
  type Route,
  type StageDef,
} from '../pipeline/stages.js';
import { joinStreamStep } from './join-stream.js';
import { joinTableStep } from './join-table.js';
import type { StateStore } from './state-store.js';
import { windowStep } from './window-step.js';

/** One value leaving the last stage, with the key the sink writes it under. */
export interface Output {
  key: string | null;
  value: unknown;
  /**
   * After a `branch` stage: the index of the branch's sink, or UNROUTED for an item no branch
   * took. Absent without a branch (the one sink): the common path builds no wider objects.
   */
  sink?: number;
}

/** User code threw (or returned something unusable) in a stage. */
export class StageFailure extends Error {
  constructor(
    readonly stage: string,
    override readonly cause: unknown,
  ) {
    super(`stage "${stage}" failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StageFailure';
  }
}

/**
 * Runs one input value through the stages. State reads and writes go through `state` (pending
 * until the task commits). Fails with {@link StageFailure} naming the stage when user code throws.
 *
 * Synchronous while the user functions are: a promise per record and stage cost more than the
 * stages themselves (`npm run bench:chunk`, one `map`: 4.3–5.7 µs a record awaiting every step,
 * 1.5–2.1 µs now, beside 0.9–2.1 µs for a plain parse-map-write loop, on a busy machine). From
 * the first function that returns a promise, the rest of this value's run is awaited, in order.
 */
export function execute(
  stages: readonly StageDef[],
  input: unknown,
  state: StateStore,
  recordKey: string | null = null,
): MaybePromise<Output[]> {
  return runFrom(stages, 0, [{ key: null, value: input }], state, recordKey);
}

/**
 * Runs `items` through the stages from `first` on, synchronously until a step must wait. An
 * aggregate that emits per commit passes nothing on: its keys' latest values are run from the
 * stage after it once the chunk is done (see chunk.ts).
 */
export function runFrom(
  stages: readonly StageDef[],
  first: number,
  items: Output[],
  state: StateStore,
  recordKey: string | null = null,
): MaybePromise<Output[]> {
  for (let s = first; s < stages.length && items.length > 0; s++) {
    const stage = stages[s] as StageDef;
    const next: Output[] = [];
    for (let i = 0; i < items.length; i++) {
      const waiting = guarded(stage, items[i] as Output, state, next, recordKey);
      if (waiting) return awaitRest(stages, s, items, i, waiting, next, state, recordKey);
    }
    items = next;
  }
  return items;
}

/** Waits for item `i` of stage `s`, runs that stage's other items awaited, then the next stages. */
async function awaitRest(
  stages: readonly StageDef[],
  s: number,
  items: Output[],
  i: number,
  waiting: Promise<void>,
  next: Output[],
  state: StateStore,
  recordKey: string | null,
): Promise<Output[]> {
  await waiting;
  const stage = stages[s] as StageDef;
  for (let j = i + 1; j < items.length; j++)
    await guarded(stage, items[j] as Output, state, next, recordKey);
  return runFrom(stages, s + 1, next, state, recordKey);
}

/** One step, its failure (thrown or rejected) wrapped in StageFailure naming the stage. */
function guarded(
  stage: StageDef,
  item: Output,
  state: StateStore,
  out: Output[],
  recordKey: string | null,
): Promise<void> | undefined {
  try {
    return step(stage, item, state, out, recordKey)?.catch((err: unknown) => {
      throw failureIn(stage, err);
    });
  } catch (err) {
    throw failureIn(stage, err);
  }
}

/** A branch's own stages name themselves when they fail; the branch names only its predicates'. */
function failureIn(stage: StageDef, err: unknown): StageFailure {
  return stage.kind === 'branch' && err instanceof StageFailure
    ? err
    : new StageFailure(stage.name, err);
}

/**
 * Sends an item down the first branch from `r` on whose predicate holds (a default branch
 * takes whatever reaches it), or marks it UNROUTED. Synchronous while the predicates and the
 * branch's stages are.
 */
function route(
  routes: readonly Route[],
  r: number,
  item: Output,
  state: StateStore,
  out: Output[],
  recordKey: string | null,
): Promise<void> | undefined {
  for (; r < routes.length; r++) {
    const branch = routes[r] as Route;
    if (branch.predicate === undefined) return down(branch, item, state, out, recordKey);
    const matched = branch.predicate(item.value);
    if (isThenable(matched)) {
      const next = r + 1;
      return Promise.resolve(matched).then((m) =>
        m
          ? down(branch, item, state, out, recordKey)
          : route(routes, next, item, state, out, recordKey),
      );
    }
    if (matched) return down(branch, item, state, out, recordKey);
  }
  out.push({ key: item.key, value: item.value, sink: UNROUTED });
  return undefined;
}

/** Runs an item through one branch's stages; what comes out is tagged with the branch's sink. */
function down(
  branch: Route,
  item: Output,
  state: StateStore,
  out: Output[],
  recordKey: string | null,
): Promise<void> | undefined {
  return then(runFrom(branch.stages, 0, [item], state, recordKey), (outs) => {
    for (const o of outs) out.push({ key: o.key, value: o.value, sink: branch.sink });
  });
}

/** Applies one stage to one item, adding its outputs to `out`: at once, or once user code resolves. */
function step(
  stage: StageDef,
  item: Output,
  state: StateStore,
  out: Output[],
  recordKey: string | null,
): Promise<void> | undefined {
  switch (stage.kind) {
    case 'map':
      return then(stage.fn(item.value), (value) => {
        out.push({ key: item.key, value });
      });
    case 'filter':
      return then(stage.fn(item.value), (keep) => {
        if (keep) out.push(item);
      });
    case 'flatMap':
      return then(stage.fn(item.value), (values) => {
        for (const value of values) out.push({ key: item.key, value });
      });
    case 'aggregate': {
      const key = stage.key(item.value, recordKey);
      const current = state.get(stage.name, key);
      return then(stage.add(current === undefined ? stage.init() : current, item.value), (v) => {
        state.put(stage.name, key, v);
        if (stage.emit === 'update') out.push({ key, value: { key, value: v } });
      });
    }
    case 'mapWithState': {
      const key = stage.key(item.value, recordKey);
      const current = state.get(stage.name, key);
      const result = stage.fn(current === undefined ? stage.init() : current, item.value, key);
      return then(result, ([updated, output]) => {
        state.put(stage.name, key, updated);
        if (output !== undefined) out.push({ key, value: output });
      });
    }
    case 'window':
      return windowStep(stage, item, state, out, recordKey);
    case 'joinTable':
      return joinTableStep(stage, item, state, out);
    case 'joinStream':
      return joinStreamStep(stage, item, state, out);
    case 'branch':
      return route(stage.routes, 0, item, state, out, recordKey);
    default:
      return assertNever(stage);
  }
}

/** Calls `fn` with `value` now, or once it resolves; returns the promise to wait for, if any. */
function then<T>(value: MaybePromise<T>, fn: (v: T) => void): Promise<void> | undefined {
  if (isThenable(value)) return Promise.resolve(value).then(fn);
  fn(value);
  return undefined;
}
