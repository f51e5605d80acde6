import { countsSummary, policySummary } from './render-policy.js';
import type { SuspensionCause } from '../domain/cause.js';
import type { PipelineHost } from '../domain/presence.js';
import { failedCode } from '../domain/same-code.js';
import type { JobState } from '../domain/state.js';
import { table } from './output.js';
import { age, guaranteeFlag, time } from './render.js';
import { describeStatus } from './status-description.js';

/** A live worker hosting a job's pipeline, as `sluice status` shows it (and `--json` lists it). */
export interface HostView {
  workerId: string;
  /** The fingerprint of the code it runs for the pipeline. */
  fingerprint: string;
  /** When it last refreshed its presence record: epoch ms, by its clock. */
  seenAt: number;
  /**
   * Whether it runs the code the job failed in; null unless the job is suspended due to an
   * error with a fingerprint on its cause.
   */
  runsFailingCode: boolean | null;
}

/** The live hosts of the job's pipeline, each compared with the code the job failed in. */
export function hostViews(s: JobState, hosts: readonly PipelineHost[]): HostView[] {
  const failed = failedCode(s);
  return hosts.map((h) => ({
    ...h,
    runsFailingCode: failed === null ? null : h.fingerprint === failed,
  }));
}

/**
 * `sluice status`, laid out for reading top-down: where the job stands and what to do next,
 * then its settings, then — when suspended or failed — why, on which record, and the stack
 * trace last, since it is the longest and the least often needed. It says when the current run
 * began with a resume that accepted data loss, and who sent it (from the state's plan, so no
 * history is needed); with the live hosts of its pipeline, which code each runs, before the
 * stack trace.
 */
export function statusView(s: JobState, now: number, hosts?: readonly HostView[]): string {
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
    ['policy', policySummary(c.errorPolicy)],
    ['let past', `${countsSummary(s.errorCounts)}, as of the last snapshot`],
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
  const { plan } = s;
  if (plan.acceptDataLoss)
    rows.push([
      'data loss',
      `accepted by ${plan.resumedBy ?? '?'} at ${time(plan.resumedAt ?? 0)} (run ${s.run}): records deleted while the job was stopped were skipped`,
    ]);
  const sections = [table(rows)];
  if ('suspensionCause' in s) sections.push(...causeSections('Suspended', s.suspensionCause));
  if ('failureCause' in s) sections.push(...causeSections('Failed', s.failureCause));
  if (hosts) {
    // Before the stack trace, which stays last.
    const stack = sections.at(-1)?.startsWith('Stack trace:') ? sections.pop() : undefined;
    sections.push(hostsSection(s, hosts, now));
    if (stack !== undefined) sections.push(stack);
  }
  return sections.join('\n\n');
}

/** Which live workers host the pipeline, the code each runs and, after a failure, whether it is the code that failed. */
function hostsSection(s: JobState, hosts: readonly HostView[], now: number): string {
  if (hosts.length === 0)
    return `No live worker hosts pipeline "${s.pipeline}"; a job resumed or started now waits for one.`;
  const rows = hosts.map((h) => [
    h.workerId,
    `code ${h.fingerprint}`,
    // Compared only with the code of a failure; otherwise there is nothing to compare with.
    ...(h.runsFailingCode === null
      ? []
      : [h.runsFailingCode ? 'the code that failed' : 'other code']),
    `seen ${age(now - h.seenAt)} ago`,
  ]);
  const lines = [`Live workers hosting pipeline "${s.pipeline}":`, indent(table(rows))];
  if (hosts.every((h) => h.runsFailingCode === true))
    lines.push(
      `Every one runs the code that failed: \`sluice resume ${s.name}\` is refused (exit code 5) until a worker with the fix runs and these stop, unless it moves past the record or --force.`,
    );
  return lines.join('\n');
}

/** The cause as sections: why and where, the failing record, what a resume starts from, the stack. */
export function causeSections(what: 'Suspended' | 'Failed', c: SuspensionCause): string[] {
  const by = c.requestedByUser ? 'on request' : c.dueToError ? 'due to an error' : 'by the system';
  // `?? null`: a cause folded from a JSON history older than fingerprints has none.
  const code = c.fingerprint ?? null;
  const where = [
    c.worker && `on worker ${c.worker}`,
    c.stage && `in stage "${c.stage}"`,
    code && `in code ${code}`,
  ]
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
