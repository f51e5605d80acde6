import { SluiceError } from '../domain/errors.js';
import {
  advance,
  closesAt,
  isClosed,
  mergeSession,
  NO_PROGRESS,
  watermarkOf,
  windowsOf,
  type OpenWindow,
  type Progress,
  type Span,
} from '../domain/windows.js';
import { isThenable, type MaybePromise, type WindowStage } from '../pipeline/stages.js';
import type { Output } from './execute.js';
import type { StateStore } from './state-store.js';
import { closeIndex, closeWindows, emitted, META, stateKey } from './window-close.js';

// One value through a window stage, against the task's state: the key's open windows (state
// key `k<key>`, a list sorted by start) and the task's event-time progress (`m`). Both are
// keyed state like any other, so they are in the changelog, committed with the outputs and the
// offsets, restored with the task, and reverted with a failing record.

/** What the value does to its key's windows: the windows it updates, or nothing (late). */
interface Plan {
  /** The key's open windows that stay as they are. */
  kept: OpenWindow[];
  /** The windows the value goes into, each with the aggregate it starts from. */
  targets: { span: Span; from: () => MaybePromise<unknown> }[];
}

/**
 * Runs one value through a window stage: into its open windows (a late value into none: it is
 * noted in `state.time.late`), then closes every window of the task the watermark has passed,
 * emitting their results (or, with `emit: 'update'`, emits each updated window at once).
 */
export function windowStep(
  stage: WindowStage,
  item: Output,
  state: StateStore,
  out: Output[],
  recordKey: string | null,
): Promise<void> | undefined {
  const key = stage.key(item.value, recordKey);
  const ts = stage.timestamp ? stage.timestamp(item.value) : state.time.record;
  if (typeof ts !== 'number' || !Number.isFinite(ts))
    throw new SluiceError(
      'SLUICE_EVENT_TIME_INVALID',
      `window "${stage.name}": the event time of a value of key "${key}" is ${String(ts)}, not epoch milliseconds. Fix the window's timestamp function (or the records' timestamps), then resume, or resume skipping the record.`,
      { details: { stage: stage.name, key } },
    );
  const before = (state.get(stage.name, META) as Progress | undefined) ?? NO_PROGRESS;
  const progress = advance(before, ts);
  const watermark = watermarkOf(progress, stage.outOfOrderMs);
  const open = (state.get(stage.name, stateKey(key)) as OpenWindow[] | undefined) ?? [];
  const plan = planFor(stage, open, ts, watermark);
  if (plan.targets.length === 0) {
    state.time.late.push({ stage: stage.name, topic: stage.lateTopic, key, value: item.value, ts });
    return undefined;
  }
  const updated = sequence(
    plan.targets.map((t) => () => after(t.from(), (acc) => stage.add(acc, item.value))),
  );
  return done(updated, (values) => {
    const windows = plan.targets.map((t, i) => ({ ...t.span, value: values[i] }));
    // Taken before the put: built from the state as it was, the new windows are pushed below.
    const index = closeIndex(stage, state);
    state.put(
      stage.name,
      stateKey(key),
      [...plan.kept, ...windows].sort((a, b) => a.start - b.start),
    );
    for (const w of windows) index.push(closesAt(stage.window, w), stateKey(key));
    if (stage.emit === 'update') for (const w of windows) out.push(emitted(key, w));
    if (progress.maxTs !== before.maxTs) {
      state.put(stage.name, META, progress);
      closeWindows(stage, state, watermark, out);
    }
  });
}

/** Which of the key's windows the value at `ts` goes into, given the watermark. */
function planFor(stage: WindowStage, open: OpenWindow[], ts: number, watermark: number): Plan {
  const spec = stage.window;
  if (spec.kind === 'session') {
    const { span, merged } = mergeSession(spec, open, ts);
    // Flink's rule: late only if the merged session is closed, i.e. it touches no open one.
    if (isClosed(spec, span, watermark)) return { kept: open, targets: [] };
    const parts = merged.map((i) => (open[i] as OpenWindow).value);
    const merge = stage.merge ?? ((a: unknown) => a);
    return {
      kept: open.filter((_, i) => !merged.includes(i)),
      targets: [
        {
          span,
          from: () =>
            parts.length === 0
              ? stage.init()
              : parts
                  .slice(1)
                  .reduce<MaybePromise<unknown>>(
                    (acc, part) => after(acc, (a) => merge(a, part)),
                    parts[0],
                  ),
        },
      ],
    };
  }
  const spans = windowsOf(spec, ts).filter((s) => !isClosed(spec, s, watermark));
  const at = (s: Span): number => open.findIndex((w) => w.start === s.start && w.end === s.end);
  return {
    kept: open.filter((w) => !spans.some((s) => s.start === w.start && s.end === w.end)),
    targets: spans.map((span) => {
      const i = at(span);
      return { span, from: () => (i === -1 ? stage.init() : (open[i] as OpenWindow).value) };
    }),
  };
}

/** `fn` of a value now, or once it resolves. */
function after<A, B>(value: MaybePromise<A>, fn: (a: A) => MaybePromise<B>): MaybePromise<B> {
  return isThenable(value) ? Promise.resolve(value).then(fn) : fn(value);
}

/** Runs the steps in order, synchronously until one returns a promise. */
function sequence(steps: (() => MaybePromise<unknown>)[]): MaybePromise<unknown[]> {
  const results: unknown[] = [];
  for (let i = 0; i < steps.length; i++) {
    const r = (steps[i] as () => MaybePromise<unknown>)();
    if (isThenable(r))
      return Promise.resolve(r).then(async (first) => {
        results.push(first);
        for (let j = i + 1; j < steps.length; j++)
          results.push(await (steps[j] as () => MaybePromise<unknown>)());
        return results;
      });
    results.push(r);
  }
  return results;
}

/** Calls `fn` with the results now, or once they resolve; the promise to wait for, if any. */
function done(
  values: MaybePromise<unknown[]>,
  fn: (values: unknown[]) => void,
): Promise<void> | undefined {
  if (isThenable(values)) return Promise.resolve(values).then(fn);
  fn(values);
  return undefined;
}
