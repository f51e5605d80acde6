import type { SuspensionCause } from '../domain/cause.js';
import type { JobEvent } from '../domain/events.js';
import type { JobState } from '../domain/state.js';
import { table } from './output.js';
import { age, guaranteeFlag, time } from './render.js';
import { describeStatus } from './status-description.js';

/**
 * `sluice status`, laid out for reading top-down: where the job stands and what to do next,
 * then its settings, then — when suspended or failed — why, on which record, and the stack
 * trace last, since it is the longest and the least often needed. With the job's history, it
 * also says when the current run began with a resume that accepted data loss, and who sent it.
 */
export function statusView(s: JobState, now: number, history: readonly JobEvent[] = []): string {
  const c = s.config;
  const rows: string[][] = [
    ['job', `${s.name} (${s.jobId})`],
    ['status', s.status],
    ['', describeStatus(s)],
    ['pipeline', s.pipeline],
    [
      'guarantee',
      `${guaranteeFlag(c.processingGuarantee)}; on failure: ${c.suspendOnFailure ? 'suspend' : 'fail'}`,
    ],
    [
      'args',
      Object.entries(c.args)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-',
    ],
    ['submitted', `${time(s.submittedAt)} by ${s.submittedBy} (${age(now - s.submittedAt)} ago)`],
    ['workers', s.workers.join(', ') || '-'],
    [
      'snapshots',
      `every ${c.snapshotIntervalMs} ms; last: ${s.lastSnapshot ? `${s.lastSnapshot.snapshotId} at ${time(s.lastSnapshot.at)}` : '-'}`,
    ],
    [
      'exported',
      Object.entries(s.exportedSnapshots)
        .map(([n, id]) => `${n}=${id}`)
        .join(' ') || '-',
    ],
  ];
  const resume = runStart(history);
  if (resume?.type === 'JobResumed' && resume.acceptDataLoss)
    rows.push([
      'data loss',
      `accepted by ${resume.issuedBy} at ${time(resume.at)} (run ${s.run}): records deleted while the job was stopped were skipped`,
    ]);
  const sections = [table(rows)];
  if ('suspensionCause' in s) sections.push(...causeSections('Suspended', s.suspensionCause));
  if ('failureCause' in s) sections.push(...causeSections('Failed', s.failureCause));
  return sections.join('\n\n');
}

/** The event that started the current run: the latest submit, resume or restart. */
function runStart(history: readonly JobEvent[]): JobEvent | undefined {
  return history.findLast(
    (e) => e.type === 'JobSubmitted' || e.type === 'JobResumed' || e.type === 'JobRestarted',
  );
}

/** The cause as sections: why and where, the failing record, what a resume starts from, the stack. */
export function causeSections(what: 'Suspended' | 'Failed', c: SuspensionCause): string[] {
  const by = c.requestedByUser ? 'on request' : c.dueToError ? 'due to an error' : 'by the system';
  const where = [c.worker && `on worker ${c.worker}`, c.stage && `in stage "${c.stage}"`]
    .filter(Boolean)
    .join(', ');
  const why = [
    `${what} ${by} at ${time(c.at)}${where ? `, ${where}` : ''}:`,
    indent(c.description),
  ];
  if (c.error) why.push(indent(`${c.error.name}: ${c.error.message}`));
  const sections = [why.join('\n')];
  if (c.record) {
    const r = c.record;
    const rows = [
      ['topic', r.topic],
      ['partition', String(r.partition)],
      ['offset', r.offset],
      ['key', r.key ?? '(null)'],
      ['value', r.valuePreview ?? '(null)'],
    ];
    sections.push(`Failing record:\n${indent(table(rows))}`);
  }
  if (what === 'Suspended')
    sections.push(
      c.snapshotId
        ? `A resume starts from snapshot ${c.snapshotId}.`
        : 'No snapshot was taken: a resume starts from the beginning of the sources.',
    );
  if (c.error?.stack) sections.push(`Stack trace:\n${indent(c.error.stack)}`);
  return sections;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
