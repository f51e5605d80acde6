import { closesAt, isClosed, type OpenWindow } from '../domain/windows.js';
import type { WindowStage } from '../pipeline/stages.js';
import type { Windowed } from '../pipeline/windowed.js';
import type { Output } from './execute.js';
import type { StateStore } from './state-store.js';
import { CloseIndex } from './window-index.js';

/** The state key of a task's event-time progress; a key's windows are under `k<key>`, never `m`. */
export const META = 'm';

/** The state key of a grouping key's open windows. */
export function stateKey(key: string): string {
  return `k${key}`;
}

/** A window's result as the stage emits it, keyed by its grouping key. */
export function emitted(key: string, w: OpenWindow): Output {
  const value: Windowed<unknown> = { key, start: w.start, end: w.end, value: w.value };
  return { key, value };
}

/**
 * The stage's close index on this task (see CloseIndex), built from every open window in the
 * state the first time it is asked for, and again after the store dropped it.
 */
export function closeIndex(stage: WindowStage, state: StateStore): CloseIndex {
  let index = state.caches.get(stage.name) as CloseIndex | undefined;
  if (index) return index;
  index = new CloseIndex();
  for (const [k, value] of state.entries(stage.name))
    if (k !== META) for (const w of value as OpenWindow[]) index.push(closesAt(stage.window, w), k);
  state.caches.set(stage.name, index);
  return index;
}

/**
 * Closes every window of the task that the watermark has passed: removes it from its key's
 * state (a key left with none is deleted, a tombstone in the changelog) and, unless the stage
 * emits on every update, emits its result. Results come out in order of window end, then start,
 * then key, so a replay emits them in the same order.
 */
export function closeWindows(
  stage: WindowStage,
  state: StateStore,
  watermark: number,
  out: Output[],
): void {
  const spec = stage.window;
  const closed: { key: string; w: OpenWindow }[] = [];
  for (const k of closeIndex(stage, state).due(watermark)) {
    const windows = state.get(stage.name, k) as OpenWindow[] | undefined;
    if (windows === undefined) continue;
    const keep = windows.filter((w) => !isClosed(spec, w, watermark));
    if (keep.length === windows.length) continue;
    const key = k.slice(1);
    for (const w of windows) if (isClosed(spec, w, watermark)) closed.push({ key, w });
    state.put(stage.name, k, keep.length > 0 ? keep : undefined);
  }
  if (stage.emit !== 'close') return;
  closed.sort(
    (a, b) =>
      a.w.end - b.w.end || a.w.start - b.w.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  for (const c of closed) out.push(emitted(c.key, c.w));
}
