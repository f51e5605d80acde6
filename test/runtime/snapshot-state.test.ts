import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import type { JobEvent } from '../../src/domain/events.js';
import { stopWorkerParts } from '../../src/node/parts.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { checkStagesMatch } from '../../src/runtime/snapshot-state.js';
import {
  eventsOf,
  jobConfig,
  participant,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import { committedValues, drive, memoryWorld, produce } from '../support/memory-world.js';

function refusal(fn: () => void): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isSluiceError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('checkStagesMatch', () => {
  it('accepts a pipeline that has every saved stage, and new stages that start empty', () => {
    expect(() =>
      checkStagesMatch(new Map([['totals', 3]]), ['totals', 'counts'], 3, 'Job "j"'),
    ).not.toThrow();
    expect(() => checkStagesMatch(new Map(), [], 1, 'Job "j"')).not.toThrow();
  });

  it('refuses a pipeline that lost or renamed a stateful stage, naming both sides', () => {
    const r = refusal(() => checkStagesMatch(new Map([['totals', 3]]), ['sums'], 3, 'Job "j"'));
    expect(r.code).toBe('SLUICE_STATE_INCOMPATIBLE');
    expect(r.message).toContain('Job "j" holds state for stage "totals"');
    expect(r.message).toContain('its stateful stages: "sums"');
  });

  it('refuses a source partition count the saved state was not partitioned for', () => {
    const r = refusal(() => checkStagesMatch(new Map([['totals', 3]]), ['totals'], 6, 'Job "j"'));
    expect(r.code).toBe('SLUICE_STATE_INCOMPATIBLE');
    expect(r.message).toContain('in 3 partitions');
    expect(r.message).toContain('now have 6');
  });
});

describe('a restart on code that no longer matches the saved state', () => {
  it('is refused before anything runs: the job is suspended (whatever suspendOnFailure says) with SLUICE_STATE_INCOMPATIBLE', async () => {
    const NS = 'sl';
    const JOB = 'j1';
    const w = memoryWorld();
    w.cluster.createTopic('in', 2);
    w.cluster.createTopic('out', 2);
    await untilActive(w, startCoordinator(w, NS, 'coord'));
    const user = await participant(w, NS, 'alice');
    // The stateful stage's name, as the code deployed when a run starts has it.
    let stage = 'totals';
    const pipeline = () =>
      Pipeline.create()
        .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
        .groupByKey()
        .aggregate({ name: stage, init: () => 0, add: (t: number, r: { n: number }) => t + r.n })
        .writeTo(Sinks.kafka({ topic: 'out' }));
    const worker = await startWorker(w, NS, 'w1', pipeline);
    await submit(w, user, JOB, jobConfig('sums', { suspendOnFailure: false }));
    const status = () => user.log.state(JOB)?.status;
    expect(await w.clock.runUntil(() => status() === 'RUNNING', 30_000)).toBe(true);
    const records = Array.from({ length: 30 }, (_, n) => ({
      key: `k${n % 3}`,
      value: JSON.stringify({ n }),
    }));
    await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
    const outputs = () => committedValues(w.cluster, 'out').length;
    expect(await w.clock.runUntil(() => outputs() === 30, 30_000)).toBe(true);

    stage = 'sums'; // renamed in the code a restart deploys
    await drive(w.clock, user.sender.send(JOB, 'RestartJob', {}));
    expect(
      await w.clock.runUntil(
        () => status() === 'SUSPENDED_DUE_TO_ERROR' && user.log.state(JOB)?.run === 2,
        30_000,
      ),
    ).toBe(true);
    const events = await eventsOf(w, NS, JOB);
    expect(events.map((e) => e.type)).toContain('JobRestarted');
    const cause = events.find(
      (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
        e.type === 'JobSuspendedDueToError',
    )?.cause;
    expect(cause?.description).toBe('Worker w1 could not start the job');
    expect(cause?.error?.name).toBe('SLUICE_STATE_INCOMPATIBLE');
    expect(cause?.error?.message).toContain('holds state for stage "totals"');
    expect(cause?.error?.message).toContain('its stateful stages: "sums"');
    expect(outputs()).toBe(30); // nothing ran on the renamed stage
    await drive(w.clock, stopWorkerParts(worker));
  });
});
