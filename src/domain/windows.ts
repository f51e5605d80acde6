// Event-time windows, as pure arithmetic: which windows a timestamp falls in, how sessions
// merge, when a window closes, how a watermark moves. The runtime (runtime/window-step.ts)
// keeps the state; everything it decides about time is decided here, and unit-tested alone.

/** The window kinds Sluice offers. */
export const WINDOW_KINDS = ['tumbling', 'hopping', 'session'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

/**
 * A window definition. Times are milliseconds; windows are aligned to the epoch, as in Kafka
 * Streams and Flink (a one-minute window starts on the minute). `graceMs` is how long after its
 * end a window still takes late records, measured in event time (the watermark), never the clock.
 */
export type WindowSpec =
  | { kind: 'tumbling'; sizeMs: number; graceMs: number }
  | { kind: 'hopping'; sizeMs: number; advanceMs: number; graceMs: number }
  | { kind: 'session'; gapMs: number; graceMs: number };

/** A window's span: `start` included, `end` excluded. */
export interface Span {
  start: number;
  end: number;
}

/** One open window of a key: its span and its aggregate so far. */
export interface OpenWindow extends Span {
  value: unknown;
}

/**
 * The time windows `ts` falls in, oldest first: one for a tumbling window, `size / advance`
 * (rounded up) for a hopping one. A session's is the proto-session `[ts, ts + gap)`, which
 * {@link mergeSession} merges with the key's open sessions.
 */
export function windowsOf(spec: WindowSpec, ts: number): Span[] {
  switch (spec.kind) {
    case 'tumbling': {
      const start = floorTo(ts, spec.sizeMs);
      return [{ start, end: start + spec.sizeMs }];
    }
    case 'hopping': {
      const out: Span[] = [];
      for (
        let start = floorTo(ts, spec.advanceMs);
        start > ts - spec.sizeMs;
        start -= spec.advanceMs
      )
        out.push({ start, end: start + spec.sizeMs });
      return out.reverse();
    }
    case 'session':
      return [{ start: ts, end: ts + spec.gapMs }];
  }
}

/** The largest multiple of `step` not above `ts` (negative times included). */
function floorTo(ts: number, step: number): number {
  return Math.floor(ts / step) * step;
}

/**
 * The event time at which a window closes: once the watermark reaches it, the window's result
 * is final and records for it are late.
 */
export function closesAt(spec: WindowSpec, span: Span): number {
  return span.end + spec.graceMs;
}

/** True once the watermark has passed the window's end plus grace. */
export function isClosed(spec: WindowSpec, span: Span, watermark: number): boolean {
  return watermark >= closesAt(spec, span);
}

/**
 * A new record at `ts` against a key's open sessions (sorted by start): the session it makes,
 * merged with every open session it touches (Flink's rule: spans that overlap or meet merge, so
 * records at most `gap` apart share a session), and the indexes of those sessions.
 */
export function mergeSession(
  spec: Extract<WindowSpec, { kind: 'session' }>,
  open: readonly Span[],
  ts: number,
): { span: Span; merged: number[] } {
  let span: Span = { start: ts, end: ts + spec.gapMs };
  const merged: number[] = [];
  // Merging can widen the span into a session it did not touch before: go until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    open.forEach((s, i) => {
      if (merged.includes(i) || s.start > span.end || s.end < span.start) return;
      merged.push(i);
      span = { start: Math.min(span.start, s.start), end: Math.max(span.end, s.end) };
      changed = true;
    });
  }
  return { span, merged: merged.sort((a, b) => a - b) };
}

/**
 * Event-time progress of one task of a windowed stage: the largest event time seen. Kept in the
 * stage's state, so a restore resumes the watermark exactly.
 */
export interface Progress {
  maxTs: number;
}

export const NO_PROGRESS: Progress = { maxTs: Number.NEGATIVE_INFINITY };

/**
 * The watermark: the largest event time seen minus the allowed out-of-orderness. A record older
 * than the watermark is out of order; it still counts while its window is open (grace).
 */
export function watermarkOf(progress: Progress, outOfOrderMs: number): number {
  return progress.maxTs - outOfOrderMs;
}

/** Progress after a record at `ts`. */
export function advance(progress: Progress, ts: number): Progress {
  return { maxTs: Math.max(progress.maxTs, ts) };
}

/** Checks a window definition: positive whole sizes, a hop that fits its window, no negative grace. */
export function windowProblems(spec: WindowSpec): string[] {
  const problems: string[] = [];
  const whole = (name: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min)
      problems.push(`${name} must be a whole number of milliseconds ≥ ${min}, not ${String(v)}`);
  };
  switch (spec.kind) {
    case 'tumbling':
      whole('sizeMs', spec.sizeMs, 1);
      break;
    case 'hopping':
      whole('sizeMs', spec.sizeMs, 1);
      whole('advanceMs', spec.advanceMs, 1);
      if (spec.advanceMs > spec.sizeMs)
        problems.push(
          `advanceMs (${spec.advanceMs}) must not exceed sizeMs (${spec.sizeMs}), or some records fall in no window`,
        );
      break;
    case 'session':
      whole('gapMs', spec.gapMs, 1);
      break;
  }
  whole('graceMs', spec.graceMs, 0);
  return problems;
}
