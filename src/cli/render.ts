import type { Job } from '../client/job.js';
import { describeEvent } from '../client/status-events.js';
import type { SuspensionCause } from '../domain/cause.js';
import type { JobEvent } from '../domain/events.js';
import type { JobState } from '../domain/state.js';
import { table } from './output.js';

/** One line per job, for `sluice jobs`. */
export function jobsTable(jobs: Job[]): string {
  if (jobs.length === 0) return 'No jobs.';
  const rows = jobs.map((j) => {
    const s = j.snapshot();
    return [
      s.jobId,
      s.name,
      s.status,
      s.pipeline,
      s.config.processingGuarantee,
      time(s.submittedAt),
    ];
  });
  return table([['ID', 'NAME', 'STATUS', 'PIPELINE', 'GUARANTEE', 'SUBMITTED'], ...rows]);
}

/** The summary `--json` prints for a job after a command. */
export function jobSummary(j: Job): { jobId: string; name: string; status: string } {
  return { jobId: j.id, name: j.name, status: j.status() };
}

/** Everything about one job, for `sluice status`. */
export function statusView(s: JobState): string {
  const rows: string[][] = [
    ['job', `${s.name} (${s.jobId})`],
    ['status', s.status],
    ['pipeline', s.pipeline],
    ['guarantee', s.config.processingGuarantee],
    ['suspendOnFailure', String(s.config.suspendOnFailure)],
    ['snapshotInterval', `${s.config.snapshotIntervalMs} ms`],
    [
      'args',
      Object.entries(s.config.args)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-',
    ],
    ['submitted', `${time(s.submittedAt)} by ${s.submittedBy}`],
    ['workers', s.workers.join(', ') || '-'],
    [
      'lastSnapshot',
      s.lastSnapshot ? `${s.lastSnapshot.snapshotId} at ${time(s.lastSnapshot.at)}` : '-',
    ],
    [
      'exported',
      Object.entries(s.exportedSnapshots)
        .map(([n, id]) => `${n}=${id}`)
        .join(' ') || '-',
    ],
  ];
  const cause =
    'suspensionCause' in s ? s.suspensionCause : 'failureCause' in s ? s.failureCause : undefined;
  const out = table(rows);
  return cause
    ? `${out}\n\n${causeView(s.status === 'FAILED' ? 'Failure cause' : 'Suspension cause', cause)}`
    : out;
}

/** The whole cause: what broke, where, and on which record. */
export function causeView(title: string, c: SuspensionCause): string {
  const rows: string[][] = [
    ['description', c.description],
    ['requestedByUser', String(c.requestedByUser)],
    ['dueToError', String(c.dueToError)],
    ['at', time(c.at)],
  ];
  if (c.error) rows.push(['error', `${c.error.name}: ${c.error.message}`]);
  if (c.stage) rows.push(['stage', c.stage]);
  if (c.worker) rows.push(['worker', c.worker]);
  if (c.record) {
    rows.push([
      'record',
      `${c.record.topic} partition ${c.record.partition} offset ${c.record.offset}`,
    ]);
    rows.push(['key', c.record.key ?? '(null)']);
    if (c.record.valuePreview !== null) rows.push(['value', c.record.valuePreview]);
  }
  rows.push(['snapshot', c.snapshotId ?? '(none: resume starts from the beginning)']);
  const stack = c.error?.stack ? `\n${c.error.stack}` : '';
  return `${title}:\n${table(rows)}${stack}`;
}

/** `sluice history`: time, event, who, detail. */
export function timeline(events: JobEvent[]): string {
  if (events.length === 0) return 'No events.';
  return table([['TIME', 'EVENT', 'WHO', 'DETAIL'], ...events.map(timelineRow)]);
}

/** One timeline row (also printed line by line by `history --follow`). */
export function timelineRow(e: JobEvent): string[] {
  return [
    time(e.at),
    e.type === 'Unknown' ? `Unknown(${e.originalType})` : e.type,
    e.issuedBy,
    describeEvent(e),
  ];
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
