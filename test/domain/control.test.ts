import { describe, expect, it } from 'vitest';
import { emptyCluster, fold, MAX_REASON_CHARS } from '../../src/domain/cluster.js';
import {
  AUDIT_JOB_ID,
  decideRecord,
  envelopeProblem,
  recordCommandId,
} from '../../src/domain/control.js';
import { command, config, T0 } from './harness.js';

const record = { partition: 0, offset: '41', timestamp: 1_700, preview: 'AAEC' };
const submit = (jobId: string, commandId = 'c1') =>
  command(
    'SubmitJob',
    { commandId, jobId, issuedBy: 'alice', at: T0 },
    { pipeline: 'p', config: config('orders') },
  );

describe('decideRecord: what the coordinator makes of one control record', () => {
  it('decides a readable command and stamps its events with the command id and the time given', () => {
    const { decision, events } = decideRecord(emptyCluster(), submit('j1'), record, T0 + 5);
    expect(decision?.kind).toBe('accepted');
    expect(events.map((e) => [e.type, e.jobId, e.seq, e.commandId, e.at])).toEqual([
      ['JobSubmitted', 'j1', 0, 'c1', T0 + 5],
    ]);
  });

  it('writes nothing for a command already applied', () => {
    const cluster = emptyCluster();
    for (const e of decideRecord(cluster, submit('j1'), record, T0).events) fold(cluster, e);
    const again = decideRecord(cluster, submit('j1'), { ...record, offset: '42' }, T0);
    expect(again.decision?.kind).toBe('duplicate');
    expect(again.events).toEqual([]);
  });

  it('cuts a rejection reason of megabytes (100,000 unknown fields, say) to a bounded text', () => {
    const reason = `unknown fields: ${Array.from({ length: 100_000 }, (_, i) => `f${i}`).join(', ')}`;
    const malformed = {
      malformed: true,
      reason,
      jobId: null,
      commandType: 'x'.repeat(5_000),
    } as const;
    const [event] = decideRecord(emptyCluster(), malformed, record, T0).events;
    if (event?.type !== 'CommandRejected') throw new Error('expected a rejection');
    expect(event.reason.length).toBeLessThan(MAX_REASON_CHARS + 50);
    expect(event.reason).toMatch(/^unknown fields: f0, f1,.*… \(\d+ more characters\)$/);
    expect(event.commandType).toHaveLength(200);
  });

  it('rejects an unreadable record under the job it names, with the record as its id and source', () => {
    const malformed = {
      malformed: true,
      reason: 'not JSON',
      jobId: 'j9',
      commandType: null,
    } as const;
    const { decision, events } = decideRecord(emptyCluster(), malformed, record, T0);
    expect(decision).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'CommandRejected',
      jobId: 'j9',
      commandType: '(unreadable)',
      code: 'MALFORMED',
      reason: 'not JSON',
      commandId: 'ctl-0-41-1700',
      issuedBy: 'unknown',
      source: { partition: 0, offset: '41' },
      rawPreview: 'AAEC',
    });
  });

  it('audits a record naming no usable job under the reserved job id', () => {
    const long = 'x'.repeat(201);
    const malformed = {
      malformed: true,
      reason: 'bad',
      jobId: long,
      commandType: 'CancelJob',
    } as const;
    const [event] = decideRecord(emptyCluster(), malformed, record, T0).events;
    expect(event).toMatchObject({ jobId: AUDIT_JOB_ID, commandType: 'CancelJob' });
  });

  it('rejects a command whose envelope is bad under the reserved job id, never deciding it', () => {
    const { decision, events } = decideRecord(emptyCluster(), submit(AUDIT_JOB_ID), record, T0);
    expect(decision).toBeUndefined();
    expect(events[0]).toMatchObject({
      type: 'CommandRejected',
      jobId: AUDIT_JOB_ID,
      code: 'MALFORMED',
      reason: `jobId "${AUDIT_JOB_ID}" is reserved`,
      commandId: 'ctl-0-41-1700',
    });
  });
});

describe('recordCommandId', () => {
  // The hostile-control fault scenario recreates the control topic: its first record sits
  // where the first record of the old one sat.
  it('tells apart two records at one position of a control topic recreated in between', () => {
    const before = { partition: 0, offset: '0', timestamp: 1_000 };
    expect(recordCommandId(before)).toBe('ctl-0-0-1000');
    expect(recordCommandId({ ...before, timestamp: 2_000 })).not.toBe(recordCommandId(before));
  });

  it('answers a malformed record at a reused position, not taking it for the old one', () => {
    const cluster = emptyCluster();
    const bad = { malformed: true, reason: 'not JSON', jobId: 'j9', commandType: null } as const;
    for (const e of decideRecord(cluster, bad, record, T0).events) fold(cluster, e);
    const again = decideRecord(cluster, bad, { ...record, timestamp: 9_999 }, T0);
    expect(again.events.map((e) => [e.type, e.commandId])).toEqual([
      ['CommandRejected', 'ctl-0-41-9999'],
    ]);
  });
});

describe('envelopeProblem', () => {
  it('names the field that is out of bounds', () => {
    expect(envelopeProblem(submit('j1'))).toBeUndefined();
    expect(envelopeProblem(submit('j1', ''))).toBe('commandId must be 1-200 characters');
    expect(envelopeProblem(submit('j'.repeat(201)))).toBe('jobId must be 1-200 characters');
  });
});
