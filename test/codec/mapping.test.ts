import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  commandFromAvro,
  commandToAvro,
  eventFromAvro,
  eventToAvro,
} from '../../src/codec/mapping.js';
import { loadSchema } from '../../src/codec/schemas.js';
import { history } from '../support/archive-schemas.js';
import type { SuspensionCause } from '../../src/domain/cause.js';
import type { Command } from '../../src/domain/commands.js';
import { COMMAND_TYPES } from '../../src/domain/commands.js';
import { compileJobConfig } from '../../src/domain/config.js';
import type { JobEvent, KnownEvent } from '../../src/domain/events.js';
import { EVENT_TYPES } from '../../src/domain/events.js';

const eventType = avsc.Type.forSchema(loadSchema('events/JobEvent') as avsc.Schema, {
  wrapUnions: 'auto',
});
const commandType = avsc.Type.forSchema(loadSchema('commands/Command') as avsc.Schema, {
  wrapUnions: 'auto',
});

/** avsc returns class instances; compare plain data. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const config = compileJobConfig({ name: 'orders', suspendOnFailure: true, args: { input: 'in' } });
const cause: SuspensionCause = {
  requestedByUser: false,
  dueToError: true,
  description: 'user code threw',
  error: { name: 'TypeError', message: 'x is undefined', stack: 'at f' },
  stage: 'totals',
  worker: 'w1',
  record: {
    topic: 'in',
    partition: 2,
    offset: '9007199254740993',
    key: 'k',
    valuePreview: '{"a":1}',
  },
  snapshotId: 's1',
  at: 1_700_000_000_000,
  fingerprint: '3f9a0c2b7d1e',
};
const offsets = [{ topic: 'in', partition: 0, offset: '42' }];
const env = {
  eventId: 'j/0',
  jobId: 'j',
  seq: 0,
  commandId: 'c',
  issuedBy: 'alice',
  at: 1_700_000_000_123,
};

const samples: KnownEvent[] = [
  { ...env, type: 'JobSubmitted', pipeline: 'p', config },
  { ...env, type: 'JobStarted', worker: 'w1' },
  {
    ...env,
    type: 'SnapshotCommitted',
    snapshotId: 's1',
    worker: 'w1',
    sourceOffsets: offsets,
    stateOffsets: [],
    errorCounts: [{ stage: 'parse', skipped: 2, deadLettered: 3 }],
  },
  {
    ...env,
    type: 'JobSuspended',
    cause: {
      ...cause,
      requestedByUser: true,
      dueToError: false,
      error: null,
      record: null,
      fingerprint: null,
    },
  },
  { ...env, type: 'JobSuspendedDueToError', cause },
  {
    ...env,
    type: 'JobResumed',
    failingRecord: 'DEAD_LETTER',
    deadLetterTopic: 'dlq',
    record: cause.record,
    acceptDataLoss: true,
    force: true,
  },
  { ...env, type: 'JobRestarted' },
  { ...env, type: 'JobCancelled' },
  { ...env, type: 'JobCompleting', worker: 'w1' },
  { ...env, type: 'JobCompleted' },
  { ...env, type: 'JobFailed', cause },
  { ...env, type: 'SnapshotExportStarted', name: 'n', snapshotId: 's1' },
  { ...env, type: 'SnapshotExported', name: 'n', snapshotId: 's1', copy: null },
  {
    ...env,
    type: 'SnapshotExported',
    name: 'n2',
    snapshotId: 's1',
    copy: {
      run: 2,
      snapshotId: 's1',
      sourceOffsets: [{ topic: 'in', partition: 1, offset: '7' }],
      stages: [
        {
          stage: 'sum',
          topic: 'ns.snapshot.n2.sum',
          records: [3, 0],
          stateOffsets: [{ topic: 'ns.state.j.sum', partition: 0, offset: '9' }],
          inputTopic: 'ns.snapshot-input.n2.sum',
          inputRecords: [1, 2],
        },
      ],
    },
  },
  { ...env, type: 'SnapshotDeleted', name: 'n2' },
  { ...env, type: 'JobPurged', name: 'orders', status: 'CANCELLED' },
  {
    ...env,
    type: 'ConfigUpdated',
    delta: { snapshotIntervalMs: 500 },
    config: { ...config, snapshotIntervalMs: 500 },
  },
  { ...env, type: 'DryRunRequested', requestId: 'dry-1', record: cause.record! },
  {
    ...env,
    type: 'DryRunCompleted',
    requestId: 'dry-1',
    worker: 'w1',
    fingerprint: '3f9a0c2b7d1e',
    outputs: [{ key: 'k', valuePreview: '{"n":1}' }],
    outputCount: 1,
    error: null,
    stage: null,
  },
  {
    ...env,
    type: 'DryRunCompleted',
    requestId: 'dry-1',
    worker: 'w2',
    fingerprint: null,
    outputs: [],
    outputCount: 0,
    error: { name: 'RangeError', message: 'm', stack: null },
    stage: 'price',
  },
  {
    ...env,
    type: 'CommandRejected',
    commandType: 'ResumeJob',
    code: 'ILLEGAL_TRANSITION',
    reason: 'no',
    source: { partition: 0, offset: '7' },
    rawPreview: null,
  },
];

describe('event mapping', () => {
  it('covers every event type', () => {
    expect(new Set(samples.map((s) => s.type))).toEqual(new Set(EVENT_TYPES));
  });

  it.each(samples.map((s) => [s.type, s] as const))(
    'round-trips %s through Avro bytes unchanged',
    (_, event) => {
      const bytes = eventType.toBuffer(eventToAvro(event));
      expect(
        plain(eventFromAvro(plain(eventType.fromBuffer(bytes) as Record<string, unknown>))),
      ).toEqual(event);
    },
  );

  it('reads a JobResumed written before acceptDataLoss (schema v1) as one that accepted no loss', () => {
    const v1 = history('events/JobEvent').find((v) => v.version === 1);
    const writer = avsc.Type.forSchema(v1!.schema as avsc.Schema, { wrapUnions: 'auto' });
    const resumed = {
      ...env,
      type: 'JobResumed',
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      record: null,
    } as const;
    const bytes = writer.toBuffer(eventToAvro(resumed as unknown as JobEvent));
    const read: unknown = eventType.fromBuffer(bytes, eventType.createResolver(writer));
    expect(plain(eventFromAvro(plain(read as Record<string, unknown>)))).toEqual({
      ...resumed,
      acceptDataLoss: false,
      force: false,
    });
  });

  it('reads a cause and a JobResumed written before fingerprints and force (schema v2) as having no fingerprint, not forced', () => {
    const v2 = history('events/JobEvent').find((v) => v.version === 2);
    const writer = avsc.Type.forSchema(v2!.schema as avsc.Schema, { wrapUnions: 'auto' });
    const read = (e: object): unknown => {
      const bytes = writer.toBuffer(eventToAvro(e as JobEvent));
      const r: unknown = eventType.fromBuffer(bytes, eventType.createResolver(writer));
      return plain(eventFromAvro(plain(r as Record<string, unknown>)));
    };
    const oldCause: Partial<SuspensionCause> = { ...cause };
    delete oldCause.fingerprint;
    const suspended = { ...env, type: 'JobSuspendedDueToError', cause: oldCause };
    expect(read(suspended)).toEqual({ ...suspended, cause: { ...oldCause, fingerprint: null } });
    const resumed = {
      ...env,
      type: 'JobResumed',
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      record: null,
      acceptDataLoss: false,
    };
    expect(read(resumed)).toEqual({ ...resumed, force: false });
  });

  it('keeps an event of a type this reader does not know as Unknown, with its payload', () => {
    const record = { ...env, payload: { 'dev.sluice.events.JobThrottled': { rate: 5 } } };
    const e = eventFromAvro(record) as Extract<JobEvent, { type: 'Unknown' }>;
    expect(e).toMatchObject({
      type: 'Unknown',
      originalType: 'dev.sluice.events.JobThrottled',
      payload: { rate: 5 },
      seq: 0,
      jobId: 'j',
    });
  });
});

describe('command mapping', () => {
  const cenv = { commandId: 'c', jobId: 'j', issuedBy: 'bob', at: 1 };
  const commands: Command[] = [
    { ...cenv, type: 'SubmitJob', pipeline: 'p', config },
    { ...cenv, type: 'SuspendJob' },
    {
      ...cenv,
      type: 'ResumeJob',
      failingRecord: 'SKIP',
      deadLetterTopic: null,
      acceptDataLoss: true,
      force: false,
    },
    { ...cenv, type: 'CancelJob' },
    { ...cenv, type: 'RestartJob' },
    { ...cenv, type: 'ExportSnapshot', name: 'n', copy: null },
    {
      ...cenv,
      type: 'ExportSnapshot',
      name: 'n',
      copy: {
        run: 1,
        snapshotId: 's',
        sourceOffsets: offsets,
        stages: [
          {
            stage: 'sum',
            topic: 't',
            records: [1],
            stateOffsets: offsets,
            inputTopic: null,
            inputRecords: [],
          },
        ],
      },
    },
    { ...cenv, type: 'DeleteSnapshot', name: 'n' },
    { ...cenv, type: 'PurgeJob' },
    { ...cenv, type: 'UpdateConfig', delta: { suspendOnFailure: false, args: { a: 'b' } } },
    { ...cenv, type: 'ReportStarted', worker: 'w', run: 3 },
    {
      ...cenv,
      type: 'ReportSnapshot',
      worker: 'w',
      snapshotId: 's',
      sourceOffsets: offsets,
      stateOffsets: offsets,
      run: 1,
      errorCounts: [{ stage: 'source', skipped: 0, deadLettered: 1 }],
    },
    {
      ...cenv,
      type: 'ReportFailure',
      failure: {
        description: 'd',
        error: { name: 'E', message: 'm', stack: null },
        stage: null,
        worker: 'w',
        record: null,
        fingerprint: '3f9a0c2b7d1e',
        action: 'FAIL',
      },
      run: 2,
    },
    // Without a run, as from a writer older than runs.
    { ...cenv, type: 'ReportCompleting', worker: 'w' },
    { ...cenv, type: 'ReportCompleted', worker: 'w', run: 2_147_483_647 },
    { ...cenv, type: 'RequestDryRun', requestId: 'dry-1' },
    {
      ...cenv,
      type: 'ReportDryRun',
      requestId: 'dry-1',
      worker: 'w',
      fingerprint: '3f9a0c2b7d1e',
      outputs: [
        { key: 'k', valuePreview: '{"n":1}' },
        { key: null, valuePreview: null },
      ],
      outputCount: 2,
      error: null,
      stage: null,
    },
    {
      ...cenv,
      type: 'ReportDryRun',
      requestId: 'dry-1',
      worker: 'w2',
      fingerprint: null,
      outputs: [],
      outputCount: 0,
      error: { name: 'RangeError', message: 'm', stack: 'at x' },
      stage: 'price',
    },
  ];

  it('covers every command type', () => {
    expect(new Set(commands.map((c) => c.type))).toEqual(new Set(COMMAND_TYPES));
  });

  it.each(commands.map((c) => [c.type, c] as const))(
    'round-trips %s through Avro bytes unchanged',
    (_, command) => {
      const bytes = commandType.toBuffer(commandToAvro(command));
      expect(
        plain(commandFromAvro(plain(commandType.fromBuffer(bytes) as Record<string, unknown>))),
      ).toEqual(command);
    },
  );

  it('reads a report written before runs (schema v1) as a report without a run', () => {
    const v1 = history('commands/Command').find((v) => v.version === 1);
    const writer = avsc.Type.forSchema(v1!.schema as avsc.Schema, { wrapUnions: 'auto' });
    const failure = {
      description: 'd',
      error: { name: 'E', message: 'm', stack: null },
      stage: null,
      worker: 'w',
      record: null,
    };
    const old = { ...cenv, type: 'ReportFailure', failure } as const;
    const bytes = writer.toBuffer(commandToAvro(old as unknown as Command));
    const read: unknown = commandType.fromBuffer(bytes, commandType.createResolver(writer));
    const command = plain(commandFromAvro(plain(read as Record<string, unknown>)));
    // Nor a fingerprint: v1 predates fingerprints too.
    expect(command).toEqual({ ...old, failure: { ...failure, fingerprint: null, action: null } });
    expect(command).not.toHaveProperty('run');
  });

  it('reads a ResumeJob written before acceptDataLoss (schema v2) as one that accepts no loss', () => {
    const v2 = history('commands/Command').find((v) => v.version === 2);
    const writer = avsc.Type.forSchema(v2!.schema as avsc.Schema, { wrapUnions: 'auto' });
    const old = { ...cenv, type: 'ResumeJob', failingRecord: 'RETRY', deadLetterTopic: null };
    const bytes = writer.toBuffer(commandToAvro(old as unknown as Command));
    const read: unknown = commandType.fromBuffer(bytes, commandType.createResolver(writer));
    expect(plain(commandFromAvro(plain(read as Record<string, unknown>)))).toEqual({
      ...old,
      acceptDataLoss: false,
      force: false,
    });
  });

  it('reads a ResumeJob and a ReportFailure written before force and fingerprints (schema v3) as not forced, with no fingerprint', () => {
    const v3 = history('commands/Command').find((v) => v.version === 3);
    const writer = avsc.Type.forSchema(v3!.schema as avsc.Schema, { wrapUnions: 'auto' });
    const read = (c: object): unknown => {
      const bytes = writer.toBuffer(commandToAvro(c as Command));
      const r: unknown = commandType.fromBuffer(bytes, commandType.createResolver(writer));
      return plain(commandFromAvro(plain(r as Record<string, unknown>)));
    };
    const resume = {
      ...cenv,
      type: 'ResumeJob',
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      acceptDataLoss: true,
    };
    expect(read(resume)).toEqual({ ...resume, force: false });
    const failure = {
      description: 'd',
      error: { name: 'E', message: 'm', stack: null },
      stage: 's',
      worker: 'w',
      record: null,
    };
    expect(read({ ...cenv, type: 'ReportFailure', failure, run: 2 })).toEqual({
      ...cenv,
      type: 'ReportFailure',
      failure: { ...failure, fingerprint: null, action: null },
      run: 2,
    });
  });

  it('reads a ReportSnapshot written before error counts (schema v5) as one that counted nothing', () => {
    const v5 = history('commands/Command').find((v) => v.version === 5);
    const writer = avsc.Type.forSchema(v5!.schema as avsc.Schema, { wrapUnions: 'auto' });
    const old = {
      ...cenv,
      type: 'ReportSnapshot',
      worker: 'w',
      snapshotId: 's',
      sourceOffsets: offsets,
      stateOffsets: [],
      run: 1,
    };
    const bytes = writer.toBuffer(commandToAvro(old as unknown as Command));
    const read: unknown = commandType.fromBuffer(bytes, commandType.createResolver(writer));
    expect(plain(commandFromAvro(plain(read as Record<string, unknown>)))).toEqual({
      ...old,
      errorCounts: [],
    });
  });

  it('names an unknown command type instead of guessing', () => {
    expect(commandFromAvro({ ...cenv, payload: { 'dev.sluice.commands.Explode': {} } })).toBe(
      'unknown command type "dev.sluice.commands.Explode"',
    );
  });
});
