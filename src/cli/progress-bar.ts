import type { OutputOptions } from './output.js';

/** Where a bar is drawn: stderr in the CLI, a fake in tests. */
export interface BarStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * True when progress bars may be drawn: only for a person at a terminal. A bar is redrawn with
 * carriage returns, which would litter a log file or a pipe, and `--json` means a program reads.
 */
export function showProgress(opts: OutputOptions, stream: BarStream = process.stderr): boolean {
  return !opts.json && stream.isTTY === true;
}

/** One line: `label [#########···········]  45%  450/1000 unit`. */
export function renderBar(
  label: string,
  done: number,
  total: number,
  unit = '',
  width = 24,
): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  // Rounded down like the percent, so the bar is full only when the work is.
  const filled = Math.floor(ratio * width);
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  const count = `${Math.min(done, total)}/${total}${unit ? ` ${unit}` : ''}`;
  return `${label} [${'#'.repeat(filled)}${'·'.repeat(width - filled)}] ${pct}  ${count}`;
}

/** A bar being drawn; every call is a no-op when bars are off. */
export interface ProgressBar {
  /** Redraws with the new counts (and label); drawn at most every `intervalMs`, and always at the end. */
  update(done: number, total: number, label?: string): void;
  /** Ends the bar's line, so what follows starts on a fresh one. */
  finish(): void;
}

/** Options of {@link progressBar}. */
export interface ProgressBarOptions {
  enabled: boolean;
  label: string;
  unit?: string;
  stream?: BarStream;
  intervalMs?: number;
  now?: () => number;
}

/** A bar on one terminal line, redrawn in place. */
export function progressBar(o: ProgressBarOptions): ProgressBar {
  const stream = o.stream ?? process.stderr;
  const now = o.now ?? Date.now;
  const interval = o.intervalMs ?? 100;
  let label = o.label;
  let drawn = false;
  let last = -Infinity;
  return {
    update(done, total, newLabel) {
      if (!o.enabled) return;
      if (newLabel !== undefined) label = newLabel;
      const t = now();
      if (done < total && t - last < interval) return;
      last = t;
      // \r back to the line's start, \x1b[K clears what a longer previous line left.
      stream.write(`\r${renderBar(label, done, total, o.unit)}\x1b[K`);
      drawn = true;
    },
    finish() {
      if (!o.enabled || !drawn) return;
      stream.write('\n');
      drawn = false;
      last = -Infinity;
    },
  };
}
