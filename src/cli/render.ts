import type { Job } from '../client/job.js';
import { describeEvent } from '../client/status-events.js';
import { apply } from '../domain/apply.js';
import type { JobEvent } from '../domain/events.js';
import type { JobState } from '../domain/state.js';
import type { ProcessingGuarantee } from '../domain/status.js';
import { table } from './output.js';

/** One line per job, for `sluice jobs`: name, id, status, guarantee, age and pipeline. */
export function jobsTable(jobs: JobState[], now: number): string {
  if (jobs.length === 0) return 'No jobs.';
  const rows = jobs.map((s) => [
    s.name,
    s.jobId,
    s.status,
    guaranteeFlag(s.config.processingGuarantee),
    age(now - s.submittedAt),
    s.pipeline,
  ]);
  return table([['NAME', 'ID', 'STATUS', 'GUARANTEE', 'AGE', 'PIPELINE'], ...rows]);
}

/** The summary `--json` prints for a job after a command. */
export function jobSummary(j: Job): { jobId: string; name: string; status: string } {
  return { jobId: j.id, name: j.name, status: j.status() };
}

/** `sluice history`: one row per event, with the status it led to where it changed one. */
export function timeline(events: JobEvent[]): string {
  if (events.length === 0) return 'No events.';
  return table([TIMELINE_HEADER, ...timelineRows(events)]);
}

/** The timeline's column titles. */
export const TIMELINE_HEADER = ['TIME', 'EVENT', 'STATUS', 'WHO', 'DETAIL'];

/** Timeline rows, folding the events so each row can say which status it led to. */
export function timelineRows(events: JobEvent[]): string[][] {
  let state: JobState | undefined;
  return events.map((e) => {
    const before = state;
    state = apply(state, e);
    return timelineRow(e, before, state);
  });
}

/** One timeline row; STATUS is empty when the event left the status as it was. */
export function timelineRow(
  e: JobEvent,
  before: JobState | undefined,
  after: JobState | undefined,
): string[] {
  const changed = after !== undefined && after.status !== before?.status;
  return [
    time(e.at),
    e.type === 'Unknown' ? `Unknown(${e.originalType})` : e.type,
    changed ? `→ ${after.status}` : '',
    e.issuedBy,
    describeEvent(e),
  ];
}

/**
 * Widths for rows printed one at a time by `history --follow`, where no table can measure the
 * rows to come: wide enough for every event type and status, so columns line up.
 */
const FOLLOW_WIDTHS = [24, 22, 30, 16];

/** A timeline row as one line with fixed-width columns (a longer cell pushes the rest right). */
export function timelineLine(row: string[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(FOLLOW_WIDTHS[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

/** A guarantee as the `--guarantee` flag spells it: EXACTLY_ONCE → exactly-once. */
export function guaranteeFlag(g: ProcessingGuarantee): string {
  return g.toLowerCase().replace(/_/g, '-');
}

/**
 * A duration the way `kubectl get` shows ages: two units while the first is small (3m20s,
 * 2h5m, 4d3h), then one. Negative durations (clocks apart) read as 0s.
 */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [m, h, d] = [Math.floor(s / 60), Math.floor(s / 3600), Math.floor(s / 86_400)];
  if (s < 60) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (h < 1) return `${m}m`;
  if (h < 10) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (d < 1) return `${h}h`;
  if (d < 10) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  return `${d}d`;
}

/** UTC time to the millisecond: "2024-05-01 12:00:00.123Z". */
export function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ');
}
