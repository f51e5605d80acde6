import { describe, expect, it } from 'vitest';
import { describeStatus } from '../../src/cli/status-description.js';
import { JOB_STATUSES } from '../../src/domain/status.js';
import { reach, running, Sim } from '../domain/harness.js';

describe('describeStatus', () => {
  it('says a NOT_RUNNING job waits for a worker hosting its pipeline, and how to start one', () => {
    const text = describeStatus(reach(new Sim(), 'NOT_RUNNING', 'j1', 'orders'));
    expect(text).toMatch(/^Waiting for a worker that hosts pipeline "word-count": /);
    expect(text).toContain('no worker has started it yet');
    expect(text).toContain('`sluice worker <module>`');
    // The client cannot know which pipelines workers host, so it never claims none does.
    expect(text).not.toMatch(/no worker hosts/i);
  });

  it('says a STARTING job may be waiting for such a worker too', () => {
    const text = describeStatus(reach(new Sim(), 'STARTING'));
    expect(text).toContain('pipeline "word-count"');
    expect(text).toContain('`sluice worker <module>`');
  });

  it('names the workers of a running job', () => {
    expect(describeStatus(reach(new Sim(), 'RUNNING'))).toBe('Running on 1 worker: worker-1.');
  });

  it('gives the cause and the resume command of a job an error suspended', () => {
    const text = describeStatus(reach(new Sim(), 'SUSPENDED_DUE_TO_ERROR', 'j1', 'orders'));
    expect(text).toBe(
      'Suspended due to an error: Stage "parse" threw on a record. Fix the cause, then `sluice resume orders` to retry the failing record, or add --skip-failing-record or --dead-letter <topic> to move past it.',
    );
  });

  it('offers restoring the records or --accept-data-loss when deleted records suspended the job', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders');
    sim.fail('j1', {
      description: 'Worker w1 could not start the job',
      error: { name: 'SLUICE_SOURCE_DATA_LOST', message: 'Records of in-0 ...', stack: null },
      record: null,
    });
    expect(describeStatus(sim.job('j1'))).toBe(
      'Suspended due to an error: records it had not read were deleted (see the error). Restore them and `sluice resume orders`, or `sluice resume orders --accept-data-loss` to go on without them.',
    );
  });

  it('ends the sentence of a cause that lacks a full stop, and only then', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    sim.fail('j1', { description: 'User code threw in stage "check"' });
    expect(describeStatus(sim.job('j1'))).toContain('stage "check". Fix');
    expect(describeStatus(reach(new Sim(), 'SUSPENDED'))).toMatch(
      /^Suspended by alice\. Resume it with/,
    );
  });

  it('has a sentence for every status', () => {
    for (const status of JOB_STATUSES) {
      const text = describeStatus(reach(new Sim(), status));
      expect(text, status).toMatch(/^[A-Z].*[.]$/s);
    }
  });
});
