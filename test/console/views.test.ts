import { describe, expect, it } from 'vitest';
import { actionsFor, detailOf, rowOf, sortRows, timelineOf } from '../../src/console/views.js';
import type { JobDetail } from '../../src/console/api-types.js';
import { apply } from '../../src/domain/apply.js';
import { reach, running, Sim } from '../domain/harness.js';

describe('the console views', () => {
  it('show a suspension with its cause, the failing record and the buttons it allows', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1', { error: { name: 'RangeError', message: 'amount NaN', stack: null } });
    const d = detailOf(sim.job('j1'), timelineOf(sim.log, apply), [], []);
    expect(d.row).toMatchObject({
      status: 'SUSPENDED_DUE_TO_ERROR',
      suspended: true,
      ended: false,
    });
    expect(d.causeKind).toBe('suspension');
    expect(d.cause).toMatchObject({
      error: { name: 'RangeError', message: 'amount NaN' },
      record: { topic: 'orders', partition: 3, offset: '9007199254740993', key: 'order-17' },
    });
    expect(d.actions).toEqual([
      'resume',
      'skip',
      'dead-letter',
      'export-snapshot',
      'update-config',
      'cancel',
    ]);
    expect(d.nextStep).toMatch(/Skip record or Dead-letter/);
    expect(d.timeline.map((e) => [e.type, e.status])).toEqual([
      ['JobSubmitted', 'NOT_RUNNING'],
      ['JobStarted', 'RUNNING'],
      ['SnapshotCommitted', null],
      ['JobSuspendedDueToError', 'SUSPENDED_DUE_TO_ERROR'],
    ]);
  });

  it('offer only what the status allows', () => {
    expect(actionsFor(reach(new Sim(), 'RUNNING'))).toEqual(['suspend', 'restart', 'cancel']);
    // A user's suspension has no failing record to move past.
    expect(actionsFor(reach(new Sim(), 'SUSPENDED'))).toEqual([
      'resume',
      'export-snapshot',
      'update-config',
      'cancel',
    ]);
    expect(actionsFor(reach(new Sim(), 'CANCELLED'))).toEqual([]);
  });

  it('list suspended jobs first, then the newest', () => {
    const rows = [
      { ...rowOf(reach(new Sim(), 'RUNNING', 'a')), submittedAt: 3 },
      { ...rowOf(reach(new Sim(), 'SUSPENDED', 'b')), submittedAt: 1 },
      { ...rowOf(reach(new Sim(), 'COMPLETED', 'c')), submittedAt: 2 },
    ];
    expect(sortRows(rows).map((r) => r.jobId)).toEqual(['b', 'a', 'c']);
  });

  it('never show a secret, wherever it hides', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1', {
      error: { name: 'Error', message: 'POST https://u:hunter2@api.example/x failed', stack: null },
      record: {
        topic: 'orders',
        partition: 0,
        offset: '1',
        key: null,
        // Cut short, as previews are: it no longer parses.
        valuePreview:
          '{"user":"u","password":"hunter2","url":"https://u:hunter2@h","client_secret":"hun',
      },
    });
    const shown = JSON.stringify(detailOf(sim.job('j1'), timelineOf(sim.log, apply), [], []));
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('[redacted]');
    expect((JSON.parse(shown) as JobDetail).cause?.record?.valuePreview).toBe(
      '{"user":"u","password":"[redacted]","url":"https://u:[redacted]@h","client_secret":"[redacted]"',
    );
  });
});
