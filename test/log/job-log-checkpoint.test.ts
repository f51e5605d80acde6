import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { coordinatorGroup, topicNames } from '../../src/domain/resources.js';
import { JobLog } from '../../src/log/job-log.js';
import { jobConfig, startCoordinator, untilActive } from '../support/memory-sluice.js';
import {
  committedOffset,
  drive,
  memoryWorld,
  publishCommands,
  type MemoryWorld,
} from '../support/memory-world.js';

// A reader that starts from the coordinator's checkpoint (what `sluice status` and `sluice jobs`
// do) sees the same job states as one that reads the whole log, reading only the log's tail;
// it refuses to pass off part of a checkpointed job's history as the whole (issue 18).

const NS = 'ckpt';

function allHandled(w: MemoryWorld): boolean {
  const control = topicNames(NS).control;
  const end = w.cluster.watermarks(control)[0]?.high ?? 0;
  return end > 0 && committedOffset(w.cluster, coordinatorGroup(NS), control, 0) === end;
}

function submitAndCancel(jobId: string): string[] {
  return [
    JSON.stringify({
      type: 'SubmitJob',
      jobId,
      commandId: `${jobId}-s`,
      pipeline: 'p',
      config: jobConfig(jobId),
    }),
    JSON.stringify({ type: 'SuspendJob', jobId, commandId: `${jobId}-u` }),
  ];
}

async function open(
  w: MemoryWorld,
  name: string,
  readFrom: 'start' | 'checkpoint',
): Promise<JobLog> {
  return drive(
    w.clock,
    JobLog.open({
      kafka: w.cluster.client(name),
      registry: w.registry,
      namespace: NS,
      logger: w.logger,
      reader: name,
      readFrom,
    }),
  );
}

describe('a job log read from the checkpoint', () => {
  it('folds the same states as the whole log, holding only the histories it read', async () => {
    const w = memoryWorld();
    const a = startCoordinator(w, NS, 'a');
    await untilActive(w, a);
    const ops = w.cluster.client('ops');
    await publishCommands(
      ops,
      NS,
      Array.from({ length: 20 }, (_, i) => submitAndCancel(`j${i}`)).flat(),
    );
    expect(await w.clock.runUntil(() => allHandled(w), 30_000)).toBe(true);
    await w.clock.runUntil(() => false, 6_000); // past a checkpoint
    await publishCommands(ops, NS, submitAndCancel('late'));
    expect(await w.clock.runUntil(() => allHandled(w), 30_000)).toBe(true);

    const full = await open(w, 'full', 'start');
    const tail = await open(w, 'tail', 'checkpoint');
    expect(tail.jobs()).toHaveLength(21);
    // 42 events in the log; the tail reader read the two after the checkpoint.
    expect(full.eventsRead).toBe(42);
    expect(tail.eventsRead).toBe(2);
    expect(new Map(tail.jobs().map((j) => [j.jobId, j]))).toEqual(
      new Map(full.jobs().map((j) => [j.jobId, j])),
    );
    expect(tail.liveJob('j3')?.status).toBe('SUSPENDED');
    // A job after the checkpoint has its whole history; one before it does not, and says so.
    expect(tail.history('late')).toEqual(full.history('late'));
    const err = (() => {
      try {
        tail.history('j3');
      } catch (e) {
        return e;
      }
    })();
    expect(isSluiceError(err, 'SLUICE_HISTORY_UNAVAILABLE')).toBe(true);
    expect(full.history('j3').map((e) => e.type)).toEqual(['JobSubmitted', 'JobSuspended']);
    // And it follows the log from there like any reader.
    await publishCommands(ops, NS, [
      JSON.stringify({ type: 'CancelJob', jobId: 'j3', commandId: 'j3-c' }),
    ]);
    expect(await w.clock.runUntil(() => tail.state('j3')?.status === 'CANCELLED', 30_000)).toBe(
      true,
    );
    await full.close();
    await tail.close();
  });
});
