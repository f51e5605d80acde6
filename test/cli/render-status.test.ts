import { describe, expect, it } from 'vitest';
import { hostViews, statusView } from '../../src/cli/render-status.js';
import { reach, running, Sim, T0 } from '../domain/harness.js';

const NOW = T0 + 600_000;

describe('statusView', () => {
  it('lays out a job an error suspended: where it stands, why, the failing record, the stack last', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1', {
      error: {
        name: 'RangeError',
        message: 'amount NaN',
        stack: 'RangeError: amount NaN\n    at parse (pipeline.js:12:7)',
      },
    });
    const text = statusView(sim.job('j1'), NOW);
    const sections = text.split('\n\n');
    expect(sections).toHaveLength(5);
    const [summary, why, record, resume, stack] = sections;

    const lines = summary?.split('\n') ?? [];
    expect(lines[0]).toBe('job        orders (j1)');
    expect(lines[1]).toBe('status     SUSPENDED_DUE_TO_ERROR');
    // The sentence on what to do next sits right under the status, in the value column.
    expect(lines[2]).toMatch(/^ {11}Suspended due to an error: Stage "parse" threw on a record\. /);
    expect(summary).toContain('guarantee  none; on failure: suspend');
    expect(summary).toContain('submitted  2023-11-14 22:13:21.000Z by alice (9m59s ago)');
    expect(summary).toContain(
      'snapshots  every 10000 ms; last: snap-1 at 2023-11-14 22:13:23.000Z',
    );

    expect(why).toBe(
      [
        'Suspended due to an error at 2023-11-14 22:13:24.000Z, on worker worker-1, in stage "parse", in code 5be1c0de0a17:',
        '  Stage "parse" threw on a record.',
        '  RangeError: amount NaN',
      ].join('\n'),
    );
    expect(record).toBe(
      [
        'Failing record:',
        '  topic      orders',
        '  partition  3',
        '  offset     9007199254740993',
        '  key        order-17',
        '  value      {"amount":"NaN"}',
      ].join('\n'),
    );
    expect(resume).toBe('A resume starts from snapshot snap-1.');
    expect(stack).toBe('Stack trace:\n  RangeError: amount NaN\n      at parse (pipeline.js:12:7)');
  });

  it('shows a user suspension without a record section', () => {
    const text = statusView(reach(new Sim(), 'SUSPENDED'), NOW);
    expect(text).toContain('Suspended on request at ');
    expect(text).toContain('  Suspended by alice.');
    expect(text).not.toContain('Failing record');
    expect(text).toContain('A resume starts from snapshot snap-1.');
  });

  it('says what a failed job failed on, without offering a resume', () => {
    const text = statusView(reach(new Sim(), 'FAILED'), NOW);
    expect(text).toContain('Failed due to an error at ');
    expect(text).toContain('Failing record:');
    expect(text).not.toContain('A resume starts');
  });

  it('says, from the state, that the current run began with a resume accepting data loss', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.suspend('j1');
    sim.resume('j1', 'RETRY', null, true);
    sim.started('j1');
    const text = statusView(sim.job('j1'), NOW);
    expect(text).toContain(
      'data loss  accepted by alice at 2023-11-14 22:13:25.000Z (run 2): records deleted while the job was stopped were skipped',
    );
    // Not once a later resume started a run of its own.
    sim.suspend('j1');
    sim.resume('j1');
    expect(statusView(sim.job('j1'), NOW)).not.toContain('data loss');
  });

  it('says a NOT_RUNNING job waits for a worker hosting its pipeline', () => {
    const text = statusView(reach(new Sim(), 'NOT_RUNNING'), NOW);
    expect(text).toContain('status     NOT_RUNNING');
    expect(text).toContain('Waiting for a worker that hosts pipeline "word-count"');
    expect(text).toContain('snapshots  every 10000 ms; last: -');
    expect(text.split('\n\n')).toHaveLength(1);
  });
});

describe('the live hosts of the pipeline in `sluice status`', () => {
  const FAILED = '5be1c0de0a17'; // the harness's failure reports carry this fingerprint
  const host = (workerId: string, fingerprint: string, seenAt = NOW - 4_000) => ({
    workerId,
    fingerprint,
    seenAt,
  });

  it('says of each host of a job an error suspended whether it runs the code that failed, before the stack trace', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1', { error: { name: 'E', message: 'm', stack: 'E: m\n    at f' } });
    const job = sim.job('j1');
    const hosts = hostViews(job, [
      host('new-1', 'f1f2f3f4f5f6'),
      host('old-1', FAILED, NOW - 12_000),
    ]);
    expect(hosts.map((h) => h.runsFailingCode)).toEqual([false, true]);
    const sections = statusView(job, NOW, hosts).split('\n\n');
    expect(sections.at(-2)).toBe(
      [
        `Live workers hosting pipeline "${job.pipeline}":`,
        '  new-1  code f1f2f3f4f5f6  other code            seen 4s ago',
        `  old-1  code ${FAILED}  the code that failed  seen 12s ago`,
      ].join('\n'),
    );
    expect(sections.at(-1)).toMatch(/^Stack trace:/);
  });

  it('says when every live host runs the code that failed that a resume is refused until the fix runs', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1');
    const job = sim.job('j1');
    const text = statusView(job, NOW, hostViews(job, [host('old-1', FAILED)]));
    expect(text).toContain(
      'Every one runs the code that failed: `sluice resume orders` is refused (exit code 5) until a worker with the fix runs and these stop, unless it moves past the record or --force.',
    );
  });

  it('lists hosts without comparing them when the job did not fail in known code, and says when none is live', () => {
    const running_ = reach(new Sim(), 'RUNNING');
    const hosts = hostViews(running_, [host('w1', FAILED)]);
    expect(hosts).toEqual([
      { workerId: 'w1', fingerprint: FAILED, seenAt: NOW - 4_000, runsFailingCode: null },
    ]);
    const text = statusView(running_, NOW, hosts);
    expect(text.split('\n\n').at(-1)).toBe(
      `Live workers hosting pipeline "${running_.pipeline}":\n  w1  code ${FAILED}  seen 4s ago`,
    );
    expect(text).not.toContain('refused');
    expect(statusView(running_, NOW, [])).toContain(
      `No live worker hosts pipeline "${running_.pipeline}"; a job resumed or started now waits for one.`,
    );
    // Not asked (no hosts given): no section.
    expect(statusView(running_, NOW)).not.toContain('Live workers');
  });
});
