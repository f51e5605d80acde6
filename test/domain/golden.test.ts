import { NO_ERROR_POLICY } from '../../src/domain/error-policy.js';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/apply.js';
import { emptyCluster, fold, type Cluster } from '../../src/domain/cluster.js';
import type { Command } from '../../src/domain/commands.js';
import { decide } from '../../src/domain/decide.js';
import { EVENT_TYPES, isAudit, type EventDraft, type JobEvent } from '../../src/domain/events.js';
import { JOB_STATUSES, type JobStatus } from '../../src/domain/status.js';

/**
 * Golden histories: job logs as the coordinator wrote them, with the state a reader must rebuild
 * from each. A change to `apply` that reads an old log differently fails here.
 */
interface History {
  description: string;
  events: JobEvent[];
  expected: { status: JobStatus } & Record<string, unknown>;
}

const DIR = new URL('../fixtures/histories/', import.meta.url);
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function load(file: string): History {
  return JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as History;
}

const KNOWN: readonly string[] = EVENT_TYPES;

function foldAll(events: readonly JobEvent[]): Cluster {
  const cluster = emptyCluster();
  for (const e of events) fold(cluster, e);
  return cluster;
}

/** The event without the fields the log stamps on it: what `decide` drafts. */
function draftOf(event: JobEvent): EventDraft {
  const draft: Record<string, unknown> = { ...event };
  for (const key of ['seq', 'eventId', 'commandId', 'issuedBy', 'at']) delete draft[key];
  return draft as EventDraft;
}

/**
 * The command behind an event that states all its command's arguments, or null. A resume names
 * its action and topic; a config change its delta.
 */
function commandOf(event: JobEvent): Command | null {
  const envelope = {
    commandId: event.commandId,
    jobId: event.jobId,
    issuedBy: event.issuedBy,
    at: event.at,
  };
  if (event.type === 'JobResumed') {
    // Left out of histories recorded before they existed, where they read as false.
    const { failingRecord, deadLetterTopic, acceptDataLoss, force } = event;
    return {
      ...envelope,
      type: 'ResumeJob',
      failingRecord,
      deadLetterTopic,
      acceptDataLoss,
      force,
    };
  }
  if (event.type === 'ConfigUpdated')
    return { ...envelope, type: 'UpdateConfig', delta: event.delta };
  return null;
}

describe('golden histories', () => {
  it('exist', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(FILES)('%s', (file) => {
    const history = load(file);

    it('is a well-formed log of one job', () => {
      expect(history.description).toEqual(expect.any(String));
      expect(history.description.length).toBeGreaterThan(10);
      expect(JOB_STATUSES).toContain(history.expected.status);
      const { events } = history;
      expect(events.length).toBeGreaterThan(0);
      const jobId = events[0]!.jobId;
      events.forEach((e, i) => {
        expect(e.jobId).toBe(jobId);
        expect(e.seq).toBe(i);
        expect(e.eventId).toBe(`${jobId}/${i}`);
        if (e.type === 'Unknown') expect(e.originalType).toEqual(expect.any(String));
        else expect(KNOWN).toContain(e.type);
      });
    });

    it('replays to the expected state', () => {
      const state = replay(history.events);
      expect(state).toMatchObject(history.expected);
      // version counts every event of the job, rejections and unknown types included.
      expect(state!.version).toBe(history.events.length);
    });

    it('folds into a cluster the same way, with an outcome for every command', () => {
      const cluster = emptyCluster();
      for (const e of history.events) fold(cluster, e);
      const jobId = history.events[0]!.jobId;
      expect(cluster.jobs.get(jobId)).toEqual(replay(history.events));
      expect(cluster.nextSeq.get(jobId)).toBe(history.events.length);
      for (const e of history.events) {
        expect(cluster.outcomes.get(e.commandId)?.eventIds).toContain(e.eventId);
        const rejected = e.type === 'CommandRejected';
        expect(cluster.outcomes.get(e.commandId)?.accepted).toBe(!rejected);
      }
    });

    it('folds the same when each event is delivered twice (a reader restarted mid-batch)', () => {
      const cluster = emptyCluster();
      for (const e of history.events) {
        fold(cluster, e);
        fold(cluster, e);
      }
      const restarted = foldAll(history.events);
      for (const e of history.events) fold(restarted, e);
      expect(cluster).toEqual(foldAll(history.events));
      expect(restarted).toEqual(foldAll(history.events));
    });

    it('holds each JobResumed and ConfigUpdated as the coordinator decides it now', () => {
      history.events.forEach((event, i) => {
        const cmd = commandOf(event);
        if (!cmd) return;
        const decision = decide(foldAll(history.events.slice(0, i)), cmd);
        // A config recorded before error policies is read as one without a policy.
        const now =
          event.type === 'ConfigUpdated'
            ? {
                ...event,
                config: {
                  ...event.config,
                  errorPolicy:
                    (event.config as { errorPolicy?: typeof NO_ERROR_POLICY }).errorPolicy ??
                    NO_ERROR_POLICY,
                },
              }
            : event;
        expect(decision).toEqual({ kind: 'accepted', events: [draftOf(now)] });
        // The state takes the config the event states.
        if (now.type === 'ConfigUpdated') {
          expect(replay(history.events.slice(0, i + 1))!.config).toEqual(now.config);
        }
      });
    });

    it('holds each resume refused for the status as refused now, whatever its arguments', () => {
      history.events.forEach((event, i) => {
        if (event.type !== 'CommandRejected' || event.commandType !== 'ResumeJob') return;
        if (event.code !== 'ILLEGAL_TRANSITION') return;
        const cluster = foldAll(history.events.slice(0, i));
        const envelope = {
          commandId: event.commandId,
          jobId: event.jobId,
          issuedBy: event.issuedBy,
          at: event.at,
        };
        for (const [failingRecord, deadLetterTopic] of [
          ['RETRY', null],
          ['SKIP', 'dlq'],
          ['DEAD_LETTER', null],
        ] as const) {
          const cmd: Command = {
            ...envelope,
            type: 'ResumeJob',
            failingRecord,
            deadLetterTopic,
            acceptDataLoss: false,
            force: false,
          };
          expect(decide(cluster, cmd)).toEqual({
            kind: 'rejected',
            code: 'ILLEGAL_TRANSITION',
            reason: event.reason,
          });
        }
      });
    });

    it('is not changed by its unknown, rejected or dry-run events, which only count', () => {
      const ignored = (e: JobEvent): boolean => e.type === 'Unknown' || isAudit(e);
      const all = replay(history.events)!;
      const without = replay(
        history.events.filter((e) => !ignored(e)).map((e, seq) => ({ ...e, seq })),
      )!;
      const skipped = history.events.filter(ignored).length;
      expect(all).toEqual({ ...without, version: without.version + skipped });
    });
  });

  it('include a job suspended due to an error on a record, updated, resumed and completed', () => {
    const { events, expected } = load('suspend-on-error-update-resume-complete.json');
    expect(events.map((e) => e.type)).toEqual([
      'JobSubmitted',
      'JobStarted',
      'SnapshotCommitted',
      'JobSuspendedDueToError',
      'ConfigUpdated',
      'JobResumed',
      'JobStarted',
      'SnapshotCommitted',
      'JobCompleting',
      'JobCompleted',
    ]);
    const suspended = events[3]!;
    expect(suspended.type === 'JobSuspendedDueToError' && suspended.cause).toMatchObject({
      dueToError: true,
      record: { topic: 'orders', partition: 2, offset: '4711' },
      snapshotId: 'snap-1',
    });
    // The resume names the record it skips: the one the job was suspended on.
    const resumed = events[5]!;
    expect(resumed).toMatchObject({ failingRecord: 'SKIP', deadLetterTopic: null });
    expect(resumed.type === 'JobResumed' && resumed.record).toEqual(
      suspended.type === 'JobSuspendedDueToError' && suspended.cause.record,
    );
    expect(expected.status).toBe('COMPLETED');
    // The state just after the suspension carries the cause.
    expect(replay(events.slice(0, 4))).toMatchObject({
      status: 'SUSPENDED_DUE_TO_ERROR',
      suspensionCause: { record: { offset: '4711' } },
    });
    expect(replay(events.slice(0, 5))).toMatchObject({
      status: 'SUSPENDED_DUE_TO_ERROR',
      config: { snapshotIntervalMs: 5000 },
    });
  });

  it('include a job resumed with RETRY and then with DEAD_LETTER, each naming the record', () => {
    const { events, expected } = load('suspend-on-error-retry-then-dead-letter.json');
    expect(events.map((e) => e.type)).toEqual([
      'JobSubmitted',
      'JobStarted',
      'SnapshotCommitted',
      'JobSuspendedDueToError',
      'JobResumed',
      'JobStarted',
      'JobSuspendedDueToError',
      'CommandRejected',
      'JobResumed',
      'JobStarted',
    ]);
    const record = { topic: 'invoices', partition: 1, offset: '88', key: 'inv-88' };
    expect(events[4]).toMatchObject({ failingRecord: 'RETRY', deadLetterTopic: null, record });
    // A dead-letter topic with RETRY is refused, and the refusal is on the log.
    const refused = events[7]!;
    expect(refused).toMatchObject({ commandType: 'ResumeJob', code: 'INVALID_ARGUMENT' });
    expect(refused.type === 'CommandRejected' && refused.reason).toBe(
      'A dead-letter topic goes only with DEAD_LETTER, not RETRY.',
    );
    expect(replay(events.slice(0, 8))).toMatchObject({ status: 'SUSPENDED_DUE_TO_ERROR' });
    expect(events[8]).toMatchObject({
      failingRecord: 'DEAD_LETTER',
      deadLetterTopic: 'invoices.dlq',
      record,
    });
    expect(expected.status).toBe('RUNNING');
  });

  it("include a forced resume on the failing code, and each cause's fingerprint", () => {
    const { events } = load('resume-forced-on-the-same-code.json');
    const fingerprints = events.flatMap((e) =>
      e.type === 'JobSuspendedDueToError' ? [e.cause.fingerprint] : [],
    );
    expect(fingerprints).toEqual(['a1b2c3d4e5f6', 'a1b2c3d4e5f6']);
    const resumes = events.flatMap((e) => (e.type === 'JobResumed' ? [[e.force, e.issuedBy]] : []));
    expect(resumes).toEqual([
      [true, 'bob'],
      [false, 'alice'],
    ]);
    expect(replay(events.slice(0, 7))).toMatchObject({
      status: 'SUSPENDED_DUE_TO_ERROR',
      run: 2,
      suspensionCause: { fingerprint: 'a1b2c3d4e5f6', worker: 'old-1' },
    });
  });

  it('include two dry runs, answered with the error and then the output, that leave the job as it was', () => {
    const { events } = load('dry-run-before-resume.json');
    const answers = events.flatMap((e) =>
      e.type === 'DryRunCompleted'
        ? [[e.requestId, e.worker, e.error?.name ?? null, e.outputCount]]
        : [],
    );
    expect(answers).toEqual([
      ['dry-1', 'old-1', 'RangeError', 0],
      ['dry-2', 'new-1', null, 1],
    ]);
    const suspended = replay(events.slice(0, 4))!;
    expect(replay(events.slice(0, 9))).toEqual({ ...suspended, version: 9 });
    expect(events[8]).toMatchObject({ type: 'CommandRejected', commandType: 'ReportDryRun' });
    expect(events[9]).toMatchObject({ type: 'JobResumed', record: { offset: '39' } });
  });

  it('include a resume of a job a user suspended, naming no record', () => {
    const { events } = load('user-suspend-resume-cancel.json');
    const resumed = events.find((e) => e.type === 'JobResumed');
    expect(resumed).toMatchObject({ failingRecord: 'RETRY', deadLetterTopic: null, record: null });
  });

  it('include an export that passes through SUSPENDED_EXPORTING_SNAPSHOT', () => {
    const { events } = load('export-from-suspended-due-to-error.json');
    const middle = replay(events.slice(0, -1));
    expect(middle).toMatchObject({
      status: 'SUSPENDED_EXPORTING_SNAPSHOT',
      returnTo: 'SUSPENDED_DUE_TO_ERROR',
      exportingAs: 'fraud-before-fix',
    });
    // Both halves answer one command.
    expect(events.at(-1)!.commandId).toBe(events.at(-2)!.commandId);
  });

  it('include an event type this reader does not know, kept through a round trip', () => {
    const { events } = load('unknown-event-type.json');
    const unknown = events.filter((e) => e.type === 'Unknown');
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatchObject({
      originalType: 'JobThrottled',
      payload: { maxRecordsPerSecond: 500 },
    });
    const cluster = emptyCluster();
    for (const e of events) fold(cluster, e);
    // Recorded against its command like any event, so a repeat of that command is a duplicate.
    expect(cluster.outcomes.get(unknown[0]!.commandId)).toEqual({
      commandId: unknown[0]!.commandId,
      jobId: unknown[0]!.jobId,
      accepted: true,
      eventIds: [unknown[0]!.eventId],
      rejection: null,
    });
    const before = replay(events.slice(0, unknown[0]!.seq));
    const after = replay(events.slice(0, unknown[0]!.seq + 1));
    expect(after).toEqual({ ...before, version: before!.version + 1 });
  });
});
