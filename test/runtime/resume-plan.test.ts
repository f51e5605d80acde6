import { describe, expect, it } from 'vitest';
import type { RecordRef, SuspensionCause } from '../../src/domain/cause.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { NO_PLAN, plannedAction, type ResumePlan } from '../../src/domain/resume-plan.js';
import { deadLetterMessage } from '../../src/runtime/dead-letter.js';

const record: RecordRef = {
  topic: 'orders',
  partition: 3,
  offset: '9007199254740993',
  key: 'k',
  valuePreview: '{"a":1}',
};

// Built from NO_PLAN so the helper follows whatever else a plan carries.
function plan(action: ResumePlan['action'], r: RecordRef | null = record): ResumePlan {
  return {
    ...NO_PLAN,
    action,
    record: r,
    deadLetterTopic: action === 'DEAD_LETTER' ? 'dlq' : null,
  };
}

function message(key: Buffer | null, value: Buffer | null, offset = record.offset): ConsumedRecord {
  return { key, value, offset, timestamp: '0', headers: {} };
}

describe('plannedAction', () => {
  it('returns undefined for a fresh start, which processes every record', () => {
    expect(NO_PLAN.action).toBe('RETRY');
    expect(NO_PLAN.record).toBeNull();
    expect(NO_PLAN.deadLetterTopic).toBeNull();
    expect(plannedAction(NO_PLAN, 'orders', 3, record.offset)).toBeUndefined();
    expect(plannedAction(NO_PLAN, 'orders', 0, '0')).toBeUndefined();
  });

  it.each(['SKIP', 'DEAD_LETTER'] as const)('returns %s for exactly the named record', (action) => {
    expect(plannedAction(plan(action), 'orders', 3, '9007199254740993')).toBe(action);
  });

  it.each(['SKIP', 'DEAD_LETTER'] as const)(
    'returns undefined for any other record (%s)',
    (action) => {
      const p = plan(action);
      expect(plannedAction(p, 'payments', 3, record.offset)).toBeUndefined();
      expect(plannedAction(p, 'orders', 4, record.offset)).toBeUndefined();
      // Offsets past 2^53 differ only in the last digit: compared as strings, not numbers.
      expect(plannedAction(p, 'orders', 3, '9007199254740992')).toBeUndefined();
      expect(plannedAction(p, 'orders', 3, '9007199254740994')).toBeUndefined();
    },
  );

  it('returns undefined for a RETRY plan even on the named record', () => {
    expect(plannedAction(plan('RETRY'), 'orders', 3, record.offset)).toBeUndefined();
  });

  it('returns undefined when the plan names no record', () => {
    expect(plannedAction(plan('SKIP', null), 'orders', 3, record.offset)).toBeUndefined();
    expect(plannedAction(plan('DEAD_LETTER', null), 'orders', 3, record.offset)).toBeUndefined();
  });
});

describe('deadLetterMessage', () => {
  const cause: SuspensionCause = {
    requestedByUser: false,
    dueToError: true,
    description: 'User code threw in stage "price"',
    error: { name: 'TypeError', message: 'no amount', stack: null },
    stage: 'price',
    worker: 'w1',
    record,
    snapshotId: null,
    at: 1_700_000_000_000,
    fingerprint: null,
  };

  it('keeps the original key and value bytes and puts the cause and origin in headers', () => {
    const key = Buffer.from('k');
    const value = Buffer.from([0, 1, 2, 255]);
    const m = deadLetterMessage('job-1', message(key, value), record, cause);
    expect(m.key).toBe(key);
    expect(m.value).toBe(value);
    expect(m.headers).toEqual({
      // KIP-1034's names, so a reader of Kafka Streams' dead-letter queues reads these too.
      '__streams.errors.exception': 'TypeError',
      '__streams.errors.message': 'no amount',
      '__streams.errors.stacktrace': '',
      '__streams.errors.topic': 'orders',
      '__streams.errors.partition': '3',
      '__streams.errors.offset': '9007199254740993',
      'sluice-job-id': 'job-1',
      'sluice-stage': 'price',
      'sluice-source': 'orders/3@9007199254740993',
      'sluice-cause': JSON.stringify(cause),
    });
    expect(JSON.parse(m.headers?.['sluice-cause'] as string)).toEqual(cause);
    expect(m.partition).toBeUndefined();
  });

  it('keeps a null key and a null value, and writes a null cause as "null"', () => {
    const m = deadLetterMessage('job-1', message(null, null), record, null);
    expect(m.key).toBeNull();
    expect(m.value).toBeNull();
    expect(m.headers?.['sluice-cause']).toBe('null');
  });
});
