import { describe, expect, it } from 'vitest';
import { NO_PLAN, resumePlan } from '../../src/domain/resume-plan.js';
import { hasSettledState, JOB_STATUSES, runsTasks } from '../../src/domain/status.js';
import { endsJob } from '../../src/domain/events.js';
import { recordRef, running, Sim } from './harness.js';

describe('resumePlan: what the current run does with the record the last suspension failed on', () => {
  it('is no plan for a job never resumed', () => {
    const sim = new Sim();
    running(sim);
    expect(resumePlan(sim.log)).toEqual(NO_PLAN);
  });

  it('skips or dead-letters the failing record of the latest suspension, with its cause', () => {
    const sim = new Sim();
    running(sim);
    sim.fail('j1', { record: recordRef({ offset: '7' }) });
    sim.resume('j1', 'DEAD_LETTER', 'dlq');
    const plan = resumePlan(sim.log);
    expect(plan.action).toBe('DEAD_LETTER');
    expect(plan.deadLetterTopic).toBe('dlq');
    expect(plan.record?.offset).toBe('7');
    expect(plan.cause?.record?.offset).toBe('7');
  });

  it('is no plan again once the job restarted after the resume', () => {
    const sim = new Sim();
    running(sim);
    sim.fail('j1');
    sim.resume('j1', 'SKIP');
    expect(resumePlan(sim.log).action).toBe('SKIP');
    sim.restart('j1');
    expect(resumePlan(sim.log)).toEqual(NO_PLAN);
  });

  it('accepts data loss for the run of a resume that accepted it, not for later runs', () => {
    const sim = new Sim();
    running(sim);
    sim.suspend('j1');
    sim.resume('j1', 'RETRY', null, true);
    expect(resumePlan(sim.log).acceptDataLoss).toBe(true);
    sim.started('j1');
    sim.suspend('j1');
    sim.resume('j1');
    expect(resumePlan(sim.log).acceptDataLoss).toBe(false);
    sim.started('j1');
    sim.suspend('j1');
    sim.resume('j1', 'RETRY', null, true);
    sim.started('j1');
    sim.restart('j1');
    expect(resumePlan(sim.log).acceptDataLoss).toBe(false);
  });

  it('takes the latest resume and the suspension just before it', () => {
    const sim = new Sim();
    running(sim);
    sim.fail('j1', { record: recordRef({ offset: '7' }) });
    sim.resume('j1', 'SKIP');
    sim.fail('j1', { record: recordRef({ offset: '9' }) });
    sim.resume('j1', 'DEAD_LETTER', 'dlq');
    const plan = resumePlan(sim.log);
    expect([plan.action, plan.record?.offset, plan.cause?.record?.offset]).toEqual([
      'DEAD_LETTER',
      '9',
      '9',
    ]);
  });
});

describe('statuses and events the runtime acts on', () => {
  it('runs tasks from submission until the job completes or stops', () => {
    expect(JOB_STATUSES.filter(runsTasks)).toEqual([
      'NOT_RUNNING',
      'STARTING',
      'RUNNING',
      'COMPLETING',
    ]);
  });

  it('treats state as settled only when suspended, cancelled or completed', () => {
    expect(JOB_STATUSES.filter(hasSettledState)).toEqual([
      'SUSPENDED',
      'SUSPENDED_DUE_TO_ERROR',
      'COMPLETED',
      'CANCELLED',
    ]);
  });

  it('ends a job on cancel, completion and failure only', () => {
    const sim = new Sim();
    running(sim);
    sim.cancel('j1');
    expect(sim.log.filter(endsJob).map((e) => e.type)).toEqual(['JobCancelled']);
  });
});
