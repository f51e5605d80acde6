import { describe, expect, it } from 'vitest';
import {
  checkpointOf,
  clusterFromCheckpoints,
  endedOutcomesOf,
  type JobCheckpoint,
} from '../../src/domain/checkpoint.js';
import { emptyCluster, fold, type Cluster } from '../../src/domain/cluster.js';
import { purgedKeys, type EventOf, type JobEvent } from '../../src/domain/events.js';
import { reach, running, Sim, T0 } from './harness.js';

// `sluice purge` (issue 18): decided only for an ended job without exported snapshots, and
// folded so that a reader of the compacted log (only the JobPurged event is left of the job)
// ends where a reader of the whole log does.

/**
 * Everything a cluster holds, as plain values; the order of the ended-commands window too,
 * unless `anyOrder` (a checkpoint restores ended jobs by their last change, which only
 * approximates the order they ended in: see clusterFromCheckpoints).
 */
function view(c: Cluster, anyOrder = false): unknown {
  return {
    jobs: [...c.jobs].sort(),
    nextSeq: [...c.nextSeq].sort(),
    outcomes: [...c.outcomes].sort(),
    dryRuns: [...c.dryRuns].map(([id, r]) => [id, r.jobId, [...r.answered].sort()]).sort(),
    liveNames: [...c.liveNames].map(([name, ids]) => [name, [...ids].sort()]).sort(),
    exports: [...c.exports].sort(),
    commandsOf: [...c.commandsOf].sort(),
    endedCommands: anyOrder ? [...c.endedCommands].sort() : [...c.endedCommands],
    purged: [...c.purged].sort(),
  };
}

function foldAll(events: readonly JobEvent[]): Cluster {
  const c = emptyCluster();
  for (const e of events) fold(c, e);
  return c;
}

/** What compaction leaves of a log once it removed every key a purge tombstoned. */
function compacted(log: readonly JobEvent[]): JobEvent[] {
  const gone = new Set(log.flatMap((e) => (e.type === 'JobPurged' ? purgedKeys(e) : [])));
  return log.filter((e) => !gone.has(e.eventId));
}

/** A namespace of four jobs: j1 cancelled with history, then purged; others live or ended. */
function history(): { sim: Sim; purge: EventOf<'JobPurged'> } {
  const sim = new Sim();
  running(sim, 'j1', 'orders');
  sim.snapshot('j1', 'snap-2');
  sim.suspend('j1');
  sim.resume('j1'); // accepted
  sim.resume('j1'); // refused: a rejection in j1's history, and an outcome to forget
  running(sim, 'j2', 'totals');
  sim.cancel('j1');
  reach(sim, 'FAILED', 'j3', 'audit');
  sim.send('CancelJob', 'nobody', {}); // a job id known only from a refusal
  const step = sim.send('PurgeJob', 'j1', {});
  const purge = step.events[0];
  if (purge?.type !== 'JobPurged') throw new Error(`not purged: ${JSON.stringify(step)}`);
  // After the purge: a command naming the purged job, and more of the others.
  sim.send('CancelJob', 'j1', {});
  sim.snapshot('j2', 'snap-9');
  return { sim, purge };
}

describe('deciding a purge', () => {
  it.each(['NOT_RUNNING', 'RUNNING', 'SUSPENDED', 'SUSPENDED_DUE_TO_ERROR', 'COMPLETING'] as const)(
    'refuses a job that is %s, saying it must end first, and changes nothing',
    (status) => {
      const sim = new Sim();
      reach(sim, status);
      const before = structuredClone(sim.job('j1'));
      const step = sim.send('PurgeJob', 'j1', {});
      expect(step.decision).toMatchObject({ kind: 'rejected', code: 'ILLEGAL_TRANSITION' });
      if (step.decision.kind !== 'rejected') return;
      expect(step.decision.reason).toContain(`"orders" is ${status}`);
      expect(step.decision.reason).toContain('COMPLETED, FAILED, CANCELLED');
      expect(step.events.map((e) => e.type)).toEqual(['CommandRejected']);
      expect(sim.job('j1')).toEqual({ ...before, version: before.version + 1 });
      expect(sim.cluster.purged.size).toBe(0);
    },
  );

  it('refuses an ended job whose exported snapshots still exist, naming them, until they are deleted', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED');
    sim.exportSnapshot('j1', 'before-upgrade');
    sim.exportSnapshot('j1', 'audit-copy');
    sim.cancel('j1');
    const refused = sim.send('PurgeJob', 'j1', {});
    expect(refused.decision).toMatchObject({ kind: 'rejected', code: 'SNAPSHOTS_EXIST' });
    if (refused.decision.kind !== 'rejected') return;
    expect(refused.decision.reason).toContain('"audit-copy", "before-upgrade"');
    expect(refused.decision.reason).toContain('sluice snapshots delete');
    expect(sim.job('j1').status).toBe('CANCELLED');

    sim.deleteSnapshot('j1', 'before-upgrade');
    expect(sim.send('PurgeJob', 'j1', {}).decision.kind).toBe('rejected');
    sim.deleteSnapshot('j1', 'audit-copy');
    expect(sim.send('PurgeJob', 'j1', {}).decision.kind).toBe('accepted');
  });

  it.each(['COMPLETED', 'FAILED', 'CANCELLED'] as const)(
    'accepts a %s job: one JobPurged event whose seq names every earlier key to tombstone',
    (status) => {
      const sim = new Sim();
      reach(sim, status);
      const ended = sim.job('j1');
      const step = sim.send('PurgeJob', 'j1', {}, { issuedBy: 'ops@host' });
      expect(step.decision.kind).toBe('accepted');
      const [e] = step.events;
      expect(step.events).toHaveLength(1);
      expect(e).toMatchObject({
        type: 'JobPurged',
        jobId: 'j1',
        name: 'orders',
        status,
        seq: ended.version,
        eventId: `j1/${ended.version}`,
        issuedBy: 'ops@host',
      });
      const keys = purgedKeys(e as EventOf<'JobPurged'>);
      expect(keys).toHaveLength(ended.version);
      expect(keys[0]).toBe('j1/0');
      expect(keys.at(-1)).toBe(`j1/${ended.version - 1}`);
      // Every event the job had is tombstoned, the purge's own is not.
      expect(new Set(keys)).toEqual(new Set(sim.log.slice(0, -1).map((x) => x.eventId)));
    },
  );

  it('forgets the job but keeps its next seq, and says it was purged, by whom and when', () => {
    const { sim, purge } = history();
    const c = sim.cluster;
    expect(c.jobs.has('j1')).toBe(false);
    expect(c.purged.get('j1')).toEqual({ name: 'orders', at: purge.at, issuedBy: 'alice' });
    // The purge, then one refusal after it.
    expect(c.nextSeq.get('j1')).toBe(purge.seq + 2);
    const j1Outcomes = [...c.outcomes.values()].filter((o) => o.jobId === 'j1');
    expect(j1Outcomes.map((o) => o.eventIds)).toEqual([[purge.eventId], [`j1/${purge.seq + 1}`]]);
    // A command naming the purged job is refused, saying so; its seq goes on.
    const after = sim.log.find((e) => e.jobId === 'j1' && e.seq === purge.seq + 1);
    expect(after).toMatchObject({ type: 'CommandRejected', code: 'UNKNOWN_JOB' });
    expect(after?.type === 'CommandRejected' && after.reason).toContain(
      `was purged on ${new Date(purge.at).toISOString()} by alice`,
    );
    // Its id is never taken again, so no later event can reuse a tombstoned key's meaning.
    const again = sim.submit('j1', 'orders');
    expect(again.decision).toMatchObject({ kind: 'rejected', code: 'JOB_EXISTS' });
    expect(again.events[0]?.seq).toBe(purge.seq + 2);
    // The others are untouched.
    expect(c.jobs.get('j2')?.status).toBe('RUNNING');
    expect(c.jobs.get('j3')?.status).toBe('FAILED');
  });
});

describe('folding a purge', () => {
  it('gives a reader of the compacted log the same cluster as a reader of the whole log', () => {
    const { sim } = history();
    const left = compacted(sim.log);
    // Compaction left only the purge of j1's history, and what came after it.
    expect(left.filter((e) => e.jobId === 'j1').map((e) => e.type)).toEqual([
      'JobPurged',
      'CommandRejected',
    ]);
    expect(left.length).toBeLessThan(sim.log.length);
    expect(view(foldAll(left))).toEqual(view(foldAll(sim.log)));
    expect(view(foldAll(sim.log))).toEqual(view(sim.cluster));
  });

  it('is carried by a checkpoint, written before or after the purge', () => {
    const { sim, purge } = history();
    const full = foldAll(sim.log);
    const at = sim.log.indexOf(sim.log.find((e) => e.eventId === purge.eventId)!);
    // Cut just before the purge, just after it, and at the end.
    for (const cut of [at, at + 1, sim.log.length]) {
      const upTo = foldAll(sim.log.slice(0, cut));
      const written = [...upTo.nextSeq.keys()].map((jobId) =>
        checkpointOf(upTo, jobId, endedOutcomesOf(upTo, new Set([jobId]))),
      );
      const wire = JSON.parse(JSON.stringify(written)) as JobCheckpoint[];
      if (cut > at) {
        const j1 = wire.find((c) => c.jobId === 'j1');
        expect(j1).toMatchObject({ state: null, purged: { name: 'orders', issuedBy: 'alice' } });
        expect(JSON.stringify(j1)).not.toContain('snap-2'); // nothing of its state is left
      }
      // The tail as compaction leaves it: the tombstoned events are gone from it too.
      const restored = clusterFromCheckpoints(emptyCluster(), wire);
      for (const e of compacted(sim.log).filter((e) => sim.log.indexOf(e) >= cut))
        fold(restored, e);
      expect(view(restored, true)).toEqual(view(full, true));
    }
  });

  it('ignores a purge of a live job (no coordinator writes one): the job stays', () => {
    const sim = new Sim();
    running(sim);
    const job = sim.job('j1');
    const bogus: JobEvent = {
      type: 'JobPurged',
      jobId: 'j1',
      name: 'orders',
      status: 'RUNNING',
      seq: job.version,
      eventId: `j1/${job.version}`,
      commandId: 'forged',
      issuedBy: 'mallory',
      at: T0,
    };
    fold(sim.cluster, bogus);
    expect(sim.cluster.jobs.get('j1')).toMatchObject({ status: 'RUNNING' });
    expect(sim.cluster.purged.size).toBe(0);
  });
});
