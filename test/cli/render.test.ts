import { describe, expect, it } from 'vitest';
import {
  age,
  jobsTable,
  timeline,
  TIMELINE_HEADER,
  timelineLine,
  timelineRows,
} from '../../src/cli/render.js';
import { reach, running, Sim, T0 } from '../domain/harness.js';

describe('age', () => {
  it('reads like kubectl: two units while the first is small, then one', () => {
    expect(
      [0, 42_000, 60_000, 200_000, 720_000, 3_600_000, 7_500_000, 43_200_000, 97_200_000].map(age),
    ).toEqual(['0s', '42s', '1m', '3m20s', '12m', '1h', '2h5m', '12h', '1d3h']);
    expect(age(15 * 86_400_000 + 5_000)).toBe('15d');
    expect(age(-5_000)).toBe('0s');
  });
});

describe('jobsTable', () => {
  it('shows name, id, status, guarantee and age, then the pipeline', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR', 'j1', 'orders');
    sim.submit('j2', 'payments', { processingGuarantee: 'EXACTLY_ONCE' });
    const now = T0 + 200_000;
    expect(jobsTable([sim.job('j2'), sim.job('j1')], now)).toBe(
      [
        'NAME      ID  STATUS                  GUARANTEE     AGE    PIPELINE',
        'payments  j2  NOT_RUNNING             exactly-once  3m15s  word-count',
        'orders    j1  SUSPENDED_DUE_TO_ERROR  none          3m19s  word-count',
      ].join('\n'),
    );
  });

  it('says so when there are no jobs', () => {
    expect(jobsTable([], T0)).toBe('No jobs.');
  });
});

describe('timeline', () => {
  it('lists events in order, marking where the status changed, with who and what', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.suspend('j1');
    sim.resume('j1');
    sim.resume('j1'); // refused: the job is STARTING now
    const rows = timelineRows(sim.log);
    expect(rows.map((r) => r.slice(1, 4))).toEqual([
      ['JobSubmitted', '→ NOT_RUNNING', 'alice'],
      ['JobStarted', '→ RUNNING', 'worker-1'],
      ['SnapshotCommitted', '', 'worker-1'],
      ['JobSuspended', '→ SUSPENDED', 'alice'],
      ['JobResumed', '→ STARTING', 'alice'],
      ['CommandRejected', '', 'alice'],
    ]);
    expect(rows[0]?.[0]).toBe('2023-11-14 22:13:21.000Z');
    expect(rows[5]?.[4]).toMatch(/^ResumeJob rejected \(ILLEGAL_TRANSITION\): /);
    const text = timeline(sim.log).split('\n');
    expect(text[0]).toMatch(/^TIME +EVENT +STATUS +WHO +DETAIL$/);
    expect(text).toHaveLength(7);
  });

  it('says on a resume that accepted data loss that deleted records are skipped, and who accepted', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.suspend('j1');
    sim.resume('j1', 'RETRY', null, true);
    const row = timelineRows(sim.log).at(-1);
    expect(row?.slice(1)).toEqual([
      'JobResumed',
      '→ STARTING',
      'alice',
      'resumed from the last snapshot; accepting data loss: records deleted while it was stopped are skipped',
    ]);
  });

  it('says on a forced resume that it went on whatever code the live workers run, and who forced it', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1');
    sim.resume('j1', 'RETRY', null, false, true);
    expect(timelineRows(sim.log).at(-1)?.slice(1)).toEqual([
      'JobResumed',
      '→ STARTING',
      'alice',
      'resumed from the last snapshot; forced: even if the live workers run the code it failed in',
    ]);
    sim.started('j1');
    sim.fail('j1');
    sim.resume('j1', 'SKIP', null, true, true);
    expect(timelineRows(sim.log).at(-1)?.[4]).toBe(
      'resumed; failing record: SKIP; accepting data loss: records deleted while it was stopped are skipped; forced: even if the live workers run the code it failed in',
    );
  });

  it('aligns streamed lines on fixed columns under the header, as `history --follow` prints them', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1');
    const lines = timelineRows(sim.log).map(timelineLine);
    const header = timelineLine(TIMELINE_HEADER);
    for (const column of ['EVENT', 'STATUS', 'WHO', 'DETAIL']) {
      const at = header.indexOf(column);
      // Each line has a cell starting right there (a non-space after a space), or an empty one.
      for (const line of lines)
        expect(line.slice(at - 1, at + 1), `${column}: ${line}`).toMatch(/^ (\S| )$/);
    }
    expect(lines[3]).toContain('JobSuspendedDueToError  → SUSPENDED_DUE_TO_ERROR');
    expect(lines.map((l) => l.indexOf('worker-1')).slice(1)).toEqual([
      header.indexOf('WHO'),
      header.indexOf('WHO'),
      header.indexOf('WHO'),
    ]);
  });

  it('says so when there are no events', () => {
    expect(timeline([])).toBe('No events.');
  });
});
