import { describe, expect, it } from 'vitest';
import { repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import { stopWorkerParts } from '../../src/node/parts.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { PURGE_INTERVAL_MS } from '../../src/runtime/purge.js';
import {
  jobConfig,
  participant,
  sendResume,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
  untilStatus,
} from '../support/memory-sluice.js';
import {
  committedOffset,
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// A job's repartition topics have no time retention (a suspended job keeps its unread records
// however long the fix takes), and the hop that reads one deletes what its group committed
// past, every PURGE_INTERVAL_MS. On the in-memory Kafka, with a real coordinator and worker.

const NS = 'sl';
const JOB = 'j1';
const TOPIC = repartitionTopic(NS, JOB, 'last');
const GROUP = stageGroup(NS, JOB, 'last');
const POISON = 1_000;

async function write(w: MemoryWorld, ns: number[]): Promise<void> {
  const records = ns.map((n) => ({ key: `r${n}`, value: JSON.stringify({ n }) }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
}

/** The stage group through the repartition topic's end, and no transaction open. */
function through(w: MemoryWorld): boolean {
  return (
    w.cluster.openTransactions().length === 0 &&
    w.cluster
      .watermarks(TOPIC)
      .every((p) => committedOffset(w.cluster, GROUP, TOPIC, p.partition) === p.high)
  );
}

describe('a repartition topic', () => {
  it('keeps what its hop has not read, however long the job is suspended, and loses what it has', async () => {
    const w = memoryWorld();
    w.cluster.createTopic('in', 2);
    w.cluster.createTopic('out', 2);
    await untilActive(w, startCoordinator(w, NS, 'coord'));
    const user = await participant(w, NS, 'alice');
    const worker = await startWorker(w, NS, 'w1', () =>
      Pipeline.create()
        .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
        .groupingKey((r) => `k${r.n % 5}`)
        .aggregate({
          name: 'last',
          init: () => -1,
          add: (_l: number, r: { n: number }) => {
            if (r.n === POISON) throw new Error('poison');
            return r.n;
          },
        })
        .writeTo(Sinks.kafka({ topic: 'out' })),
    );
    await submit(w, user, JOB, jobConfig('last', { suspendOnFailure: true }));
    expect(await untilStatus(w, user, JOB, 'RUNNING')).toBe(true);
    expect(await drive(w.clock, user.kafka.admin().topicConfig(TOPIC, ['retention.ms']))).toEqual({
      'retention.ms': '-1',
    });

    await write(w, [...Array(40).keys()]);
    expect(await w.clock.runUntil(() => through(w), 30_000)).toBe(true);
    await w.clock.runUntil(() => false, PURGE_INTERVAL_MS + 1_000);
    // Everything the hop committed past is gone: the log starts at the group's offset.
    for (const p of w.cluster.watermarks(TOPIC)) {
      expect(p.high).toBeGreaterThan(0);
      expect(p.low).toBe(committedOffset(w.cluster, GROUP, TOPIC, p.partition));
    }

    // A poison record suspends the job in the aggregate: its record and the ones after it, in
    // the repartition topic, stay through any number of purge intervals.
    await write(w, [POISON, 41, 42, 43]);
    expect(await untilStatus(w, user, JOB, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
    const kept = w.cluster.read(TOPIC).length;
    expect(kept).toBeGreaterThan(0);
    await w.clock.runUntil(() => false, 10 * PURGE_INTERVAL_MS);
    expect(w.cluster.read(TOPIC)).toHaveLength(kept);
    expect(
      w.cluster.read(TOPIC).map((r) => JSON.parse(String(r.value)) as { n: number }),
    ).toContainEqual({
      n: POISON,
    });

    await sendResume(w, user, JOB, { failingRecord: 'SKIP' });
    expect(await untilStatus(w, user, JOB, 'RUNNING')).toBe(true);
    expect(await w.clock.runUntil(() => through(w), 30_000)).toBe(true);
    // Skipped, the poison record left no output; the records after it did.
    const values = committedValues<{ value: number }>(w.cluster, 'out').map((o) => o.value);
    expect(values).toEqual(expect.arrayContaining([41, 42, 43]));
    expect(values).not.toContain(POISON);
    await drive(w.clock, stopWorkerParts(worker));
  });
});
