import { describe, expect, it } from 'vitest';
import { exportedSnapshot, KEPT_PER_LIVE_JOB, liveJobNamed } from '../../src/domain/cluster.js';
import { Sim } from './harness.js';

// The cluster's indexes and its bounded memory of command ids: a coordinator's cost per command
// must not grow with the jobs its log ever held (issue 18).

describe('the cluster', () => {
  it('finds live jobs and exports by name, and forgets an ended job’s name', () => {
    const sim = new Sim();
    sim.submit('j1', 'orders');
    expect(liveJobNamed(sim.cluster, 'orders')?.jobId).toBe('j1');
    sim.cancel('j1');
    expect(liveJobNamed(sim.cluster, 'orders')).toBeUndefined();
    sim.submit('j2', 'orders');
    expect(liveJobNamed(sim.cluster, 'orders')?.jobId).toBe('j2');
    expect(exportedSnapshot(sim.cluster, 'nope')).toBeUndefined();
  });

  it('keeps a live job’s command ids, and the newest ended jobs’ only, so memory is bounded', () => {
    const sim = new Sim(10);
    sim.submit('live', 'live');
    const liveSubmit = sim.log.at(-1)?.commandId ?? '';
    for (let i = 0; i < 50; i++) {
      sim.submit(`j${i}`, `job-${i}`);
      sim.cancel(`j${i}`);
    }
    // 100 ended commands went through a window of 10; the live job's command stays.
    expect(sim.cluster.outcomes.size).toBe(11);
    expect(sim.cluster.outcomes.has(liveSubmit)).toBe(true);
    const lastCancel = sim.log.at(-1)?.commandId ?? '';
    expect(sim.cluster.outcomes.has(lastCancel)).toBe(true);
    // A recent repeat is still a no-op.
    const repeat = sim.send('CancelJob', 'j49', {}, { commandId: lastCancel });
    expect(repeat.decision.kind).toBe('duplicate');
    expect(repeat.events).toEqual([]);
    // One whose id was forgotten is decided again: against an ended job, refused.
    const old = sim.send('CancelJob', 'j0', {}, { commandId: 'cmd-3' });
    expect(old.events.map((e) => e.type)).toEqual(['CommandRejected']);
    // Once the live job ends, its ids join the window like any other.
    sim.cancel('live');
    expect(sim.cluster.outcomes.size).toBe(10);
  });

  it('keeps a live job’s newest command ids only, the older in the shared window', () => {
    const sim = new Sim(1_000);
    sim.submit('j1', 'orders');
    sim.started('j1');
    for (let i = 0; i < 150; i++) sim.snapshot('j1', `s${i}`);
    expect(sim.cluster.commandsOf.get('j1')).toHaveLength(KEPT_PER_LIVE_JOB);
    // The oldest are in the window, still remembered: a repeat of the submit is a no-op.
    expect(sim.cluster.endedCommands.size).toBe(152 - KEPT_PER_LIVE_JOB);
    const first = sim.log[0]?.commandId ?? '';
    expect(
      sim.send(
        'SubmitJob',
        'j1',
        { pipeline: 'p', config: sim.job('j1').config },
        { commandId: first },
      ).decision.kind,
    ).toBe('duplicate');
  });
});
