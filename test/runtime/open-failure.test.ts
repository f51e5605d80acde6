import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { changelogKey, changelogTopic } from '../../src/domain/resources.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { JobRunner } from '../../src/runtime/job-runner.js';
import {
  eventsOf,
  jobConfig,
  participant,
  runnerDeps,
  startCoordinator,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import {
  background,
  committedValues,
  drive,
  memoryWorld,
  produce,
} from '../support/memory-world.js';

// Issue 14, scenario 5: a task that cannot open its state after the job started. It used to be
// retried for ever by the consumer's restart loop while the job showed RUNNING. Now a failure
// that retrying cannot fix (a changelog record that is not JSON) suspends the job at once, with
// an error naming the record, and no record is blamed: the state is at fault, not the input.

const NS = 'sl';
const JOB = 'j1';

const pipeline = () =>
  Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .groupByKey()
    .aggregate({ name: 'sum', init: () => 0, add: (s: number, r: { n: number }) => s + r.n })
    .writeTo(Sinks.kafka({ topic: 'out' }));

describe('a task whose state cannot be restored', () => {
  it.each([true, false])(
    'suspends the job (suspendOnFailure: %s) naming the changelog record, not a source record',
    async (suspendOnFailure) => {
      const w = memoryWorld();
      w.cluster.createTopic('in', 2);
      w.cluster.createTopic('out', 2);
      await untilActive(w, startCoordinator(w, NS, 'coord'));
      const worker = await participant(w, NS, 'w1');
      const job = await submit(w, worker, JOB, jobConfig('sums', { suspendOnFailure }));
      const records = Array.from({ length: 40 }, (_, n) => ({
        key: `k${n % 4}`,
        value: JSON.stringify({ n }),
        partition: n % 2,
      }));
      await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
      const first = new JobRunner({
        ...runnerDeps(w, NS, worker),
        job,
        pipeline: pipeline(),
        plan: NO_PLAN,
      });
      background(first.start());
      expect(
        await w.clock.runUntil(() => committedValues(w.cluster, 'out').length === 40, 30_000),
      ).toBe(true);
      await drive(w.clock, first.stop());

      // Someone else's bytes in partition 1's changelog, under a key Sluice would read.
      const changelog = changelogTopic(NS, JOB, 'sum');
      await drive(
        w.clock,
        produce(w.cluster.client('vandal'), changelog, [
          { key: changelogKey('in', 1, 'k1'), value: 'not json {', partition: 1 },
        ]),
      );
      await drive(
        w.clock,
        produce(w.cluster.client('source'), 'in', [
          { key: 'k1', value: '{"n":100}', partition: 1 },
        ]),
      );

      // The worker starts its part of the job again (a restart of the process, say).
      const again = new JobRunner({
        ...runnerDeps(w, NS, worker),
        job: worker.log.state(JOB) ?? job,
        pipeline: pipeline(),
        plan: NO_PLAN,
      });
      background(again.start());
      expect(
        await w.clock.runUntil(
          () => worker.log.state(JOB)?.status === 'SUSPENDED_DUE_TO_ERROR',
          60_000,
        ),
      ).toBe(true);
      const suspended = (await eventsOf(w, NS, JOB)).find(
        (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
          e.type === 'JobSuspendedDueToError',
      );
      expect(suspended?.cause.error?.name).toBe('SLUICE_STATE_UNREADABLE');
      expect(suspended?.cause.error?.message).toContain(`${changelog}-1@`);
      expect(suspended?.cause.description).toMatch(
        /Task\(s\) in:0, in:1 could not open or restore their state, with an error that cannot be retried/,
      );
      expect(suspended?.cause.record).toBeNull();
      expect(suspended?.cause.stage).toBeNull();
      // Nothing from the task that could not open: the new record has no output.
      expect(committedValues(w.cluster, 'out')).toHaveLength(40);
      await drive(w.clock, again.stop());
    },
  );
});
