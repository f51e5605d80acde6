import { earliestClose, isClosed, type OpenWindow } from '../domain/windows.js';
import type { WindowStage } from '../pipeline/stages.js';
import type { Windowed } from '../pipeline/windowed.js';
import type { Output } from './execute.js';
import type { StateStore } from './state-store.js';

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
 * Closes every window of the task that the watermark has passed: removes it from its key's
 * state (a key left with none is deleted, a tombstone in the changelog) and, unless the stage
 * emits on every update, emits its result. Results come out in order of window end, then start,
 * then key, so a replay emits them in the same order. Returns when the next open window closes.
 */
export function closeWindows(
  stage: WindowStage,
  state: StateStore,
  watermark: number,
  out: Output[],
): number | null {
  const spec = stage.window;
  const closed: { key: string; w: OpenWindow }[] = [];
  const open: OpenWindow[] = [];
  for (const [k, value] of state.entries(stage.name)) {
    if (k === META) continue;
    const windows = value as OpenWindow[];
    const keep = windows.filter((w) => !isClosed(spec, w, watermark));
    if (keep.length === windows.length) {
      open.push(...windows);
      continue;
    }
    const key = k.slice(1);
    for (const w of windows) if (isClosed(spec, w, watermark)) closed.push({ key, w });
    state.put(stage.name, k, keep.length > 0 ? keep : undefined);
    open.push(...keep);
  }
  if (stage.emit === 'close') {
    closed.sort(
      (a, b) =>
        a.w.end - b.w.end || a.w.start - b.w.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    );
    for (const c of closed) out.push(emitted(c.key, c.w));
  }
  return earliestClose(spec, open);
}
