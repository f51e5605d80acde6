import { describe, expect, it } from 'vitest';
import { apply, replay } from '../../src/domain/apply.js';
import { emptyCluster, fold, type Cluster } from '../../src/domain/cluster.js';
import { applyConfigDelta } from '../../src/domain/config.js';
import type { EventOf, JobEvent } from '../../src/domain/events.js';
import type { JobState } from '../../src/domain/state.js';
import { SUSPENDED_STATUSES } from '../../src/domain/status.js';
import { reach, Sim, T0 } from './harness.js';

/** A ConfigUpdated event for j1 as the next event of `job`, stating `config` and `delta`. */
function configUpdated(
  job: JobState,
  delta: EventOf<'ConfigUpdated'>['delta'],
  config: EventOf<'ConfigUpdated'>['config'],
): EventOf<'ConfigUpdated'> {
  const seq = job.version;
  return {
    type: 'ConfigUpdated',
    jobId: job.jobId,
    delta,
    config,
    seq,
    eventId: `${job.jobId}/${seq}`,
    commandId: 'cmd-config',
    issuedBy: 'alice',
    at: T0 + 777_000,
  };
}

/** A fresh cluster with each event of `log` folded once. */
function folded(log: readonly JobEvent[]): Cluster {
  const cluster = emptyCluster();
  for (const e of log) fold(cluster, e);
  return cluster;
}

describe('apply ConfigUpdated', () => {
  it.each(SUSPENDED_STATUSES)(
    'takes the config the event states while %s, not the delta applied again',
    (status) => {
      const job = reach(new Sim(), status);
      // The coordinator decided 5000 although the delta says 2500: the stated config wins.
      const stated = { ...job.config, snapshotIntervalMs: 5000, args: { lenient: 'true' } };
      const event = configUpdated(job, { snapshotIntervalMs: 2500 }, stated);
      expect(applyConfigDelta(job.config, event.delta)).not.toEqual(stated);

      const next = apply(job, event)!;
      expect(next.config).toEqual(stated);
      expect(next).toEqual({
        ...job,
        config: stated,
        version: job.version + 1,
        updatedAt: event.at,
      });
    },
  );

  it('keeps fields the delta does not name as the event states them', () => {
    const job = reach(new Sim(), 'SUSPENDED');
    expect(job.config.suspendOnFailure).toBe(true);
    // Only the interval is in the delta; the stated config also turns suspendOnFailure off.
    const stated = { ...job.config, suspendOnFailure: false, snapshotIntervalMs: 700 };
    const next = apply(job, configUpdated(job, { snapshotIntervalMs: 700 }, stated))!;
    expect(next.config).toEqual(stated);
    expect(next.config.suspendOnFailure).toBe(false);
  });

  it('ignores the event (counting it) when the job is not suspended', () => {
    const job = reach(new Sim(), 'RUNNING');
    const stated = { ...job.config, snapshotIntervalMs: 5000 };
    const next = apply(job, configUpdated(job, { snapshotIntervalMs: 5000 }, stated));
    expect(next).toEqual({ ...job, version: job.version + 1 });
  });

  it("puts the coordinator's decided config on the event and into the state", () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    sim.updateConfig('j1', { snapshotIntervalMs: 2500, args: { retry: 'no' } });
    const event = sim.log.at(-1)!;
    expect(event.type).toBe('ConfigUpdated');
    expect(sim.job('j1').config).toEqual(event.type === 'ConfigUpdated' && event.config);
    expect(sim.job('j1').config).toMatchObject({ snapshotIntervalMs: 2500, args: { retry: 'no' } });
  });
});

describe('fold', () => {
  it('ignores an event delivered again: no version bump, no second event id in the outcome', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    sim.updateConfig('j1', { snapshotIntervalMs: 2500 });
    const before = structuredClone(sim.cluster);
    for (const e of sim.log) fold(sim.cluster, e);
    expect(sim.cluster).toEqual(before);
    expect(sim.cluster.outcomes.get(sim.log.at(-1)!.commandId)?.eventIds).toEqual([
      sim.log.at(-1)!.eventId,
    ]);
  });

  it('ignores a re-delivered rejection and each half of a re-delivered export', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED');
    sim.resume('j1', 'SKIP');
    sim.exportSnapshot('j1', 'nightly');
    const tail = sim.log.slice(-3);
    expect(tail.map((e) => e.type)).toEqual([
      'CommandRejected',
      'SnapshotExportStarted',
      'SnapshotExported',
    ]);
    const before = structuredClone(sim.cluster);
    // Re-delivered out of order too: only the position in the job's history counts.
    for (const e of [tail[2]!, tail[0]!, tail[1]!]) fold(sim.cluster, e);
    expect(sim.cluster).toEqual(before);
    expect(sim.job('j1').status).toBe('SUSPENDED');
  });

  it('resumes folding after a restart mid-batch, as if each event came once', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    sim.suspend('j1');
    sim.resume('j1');
    sim.started('j1');
    sim.completed('j1');
    const log = sim.log;
    const restarted = emptyCluster();
    for (const e of log.slice(0, 5)) fold(restarted, e);
    // The reader restarts from an older committed position and reads on to the end.
    for (const e of log.slice(2)) fold(restarted, e);
    expect(restarted).toEqual(folded(log));
    expect(restarted.jobs.get('j1')).toMatchObject({ status: 'COMPLETED', version: log.length });
  });

  it('ignores a stale event even when its content differs from what is at that seq', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    const stale: JobEvent = {
      type: 'JobCancelled',
      jobId: 'j1',
      seq: 1,
      eventId: 'j1/1',
      commandId: 'cmd-stale',
      issuedBy: 'mallory',
      at: T0 + 888_000,
    };
    const before = structuredClone(sim.cluster);
    fold(sim.cluster, stale);
    expect(sim.cluster).toEqual(before);
    expect(sim.cluster.outcomes.has('cmd-stale')).toBe(false);
  });

  it("counts seqs per job: another job's first event is not stale", () => {
    const sim = new Sim();
    reach(sim, 'RUNNING', 'j1', 'a');
    expect(sim.cluster.nextSeq.get('j1')).toBe(3);
    const step = sim.submit('j2', 'b');
    expect(step.events[0]).toMatchObject({ jobId: 'j2', seq: 0 });
    expect(sim.job('j2')).toMatchObject({ status: 'NOT_RUNNING', version: 1 });
    // And re-delivering it does not submit it twice.
    fold(sim.cluster, step.events[0]!);
    expect(sim.job('j2').version).toBe(1);
    expect(sim.cluster.outcomes.get(step.events[0]!.commandId)?.eventIds).toEqual(['j2/0']);
  });

  it('folds the next seq after a re-delivery', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    fold(sim.cluster, sim.log.at(-1)!);
    const step = sim.suspend('j1');
    expect(step.events[0]).toMatchObject({ seq: 3, type: 'JobSuspended' });
    expect(sim.job('j1')).toMatchObject({ status: 'SUSPENDED', version: 4 });
  });
});

describe('the run', () => {
  /** The run after each step of a scenario, read from the folded state and from a replay. */
  function runAfter(sim: Sim, step: () => unknown): number {
    step();
    const run = sim.job('j1').run;
    expect(replay(sim.log.filter((e) => e.jobId === 'j1'))?.run).toBe(run);
    return run;
  }

  it('is 1 from the submit and goes up by one on each resume and restart, nothing else', () => {
    const sim = new Sim();
    const runs = [
      runAfter(sim, () => sim.submit('j1', 'orders', { suspendOnFailure: true })),
      runAfter(sim, () => sim.started('j1')),
      runAfter(sim, () => sim.snapshot('j1', 'snap-1')),
      runAfter(sim, () => sim.exportSnapshot('j1', 'from-running')), // refused
      runAfter(sim, () => sim.suspend('j1')),
      runAfter(sim, () => sim.exportSnapshot('j1', 'from-suspended')),
      runAfter(sim, () => sim.updateConfig('j1', { snapshotIntervalMs: 2500 })),
      runAfter(sim, () => sim.resume('j1')), // 2
      runAfter(sim, () => sim.started('j1')),
      runAfter(sim, () => sim.restart('j1')), // 3
      runAfter(sim, () => sim.restart('j1')), // 4: STARTING restarts too
      runAfter(sim, () => sim.started('j1')),
      runAfter(sim, () => sim.fail('j1')),
      runAfter(sim, () => sim.resume('j1', 'SKIP')), // 5
      runAfter(sim, () => sim.completing('j1')), // refused: STARTING
      runAfter(sim, () => sim.started('j1')),
      runAfter(sim, () => sim.completed('j1')),
    ];
    expect(runs).toEqual([1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 4, 4, 5, 5, 5, 5]);
    expect(sim.job('j1').status).toBe('COMPLETED');
    expect(sim.log.map((e) => e.type)).toContain('SnapshotExportStarted');
  });

  it('is not moved by refused commands, a misfit event or an unknown one', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    sim.resume('j1'); // refused: RUNNING
    const job = sim.job('j1');
    expect(job.run).toBe(1);
    const at = { jobId: 'j1', commandId: 'cmd-x', issuedBy: 'x', at: T0 };
    const misfit: JobEvent = {
      ...at,
      type: 'JobResumed',
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      record: null,
      acceptDataLoss: false,
      force: false,
      seq: job.version,
      eventId: `j1/${job.version}`,
    };
    expect(apply(job, misfit)?.run).toBe(1);
    const unknown: JobEvent = {
      ...at,
      type: 'Unknown',
      originalType: 'dev.sluice.events.JobRebooted',
      payload: {},
      seq: job.version,
      eventId: `j1/${job.version}`,
    };
    expect(apply(job, unknown)?.run).toBe(1);
  });

  it('starts at 1 for a job started from a snapshot another job exported', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING', 'j1', 'a');
    sim.suspend('j1');
    sim.resume('j1');
    sim.started('j1');
    sim.suspend('j1');
    sim.exportSnapshot('j1', 'nightly');
    expect(sim.job('j1').run).toBe(2);
    sim.submit('j2', 'b', { initialSnapshotName: 'nightly' });
    expect(sim.job('j2')).toMatchObject({ status: 'NOT_RUNNING', run: 1 });
  });
});
