import { describe, expect, it } from 'vitest';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import type { ProducedRecord } from '../../src/kafka/port.js';
import { Tables } from '../../src/pipeline/join.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Hop } from '../../src/runtime/hop.js';
import { entryKey } from '../../src/runtime/join-table.js';
import { Deserializer } from '../../src/runtime/serde.js';
import {
  background,
  committedOffset,
  committedValues,
  hopSpec,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// A table join in a hop on the in-memory Kafka, one virtual clock driving the hop, its table
// reader and the transactions: the hop reads two source topics, whose tasks share partition
// numbers (a:0 and b:0), so each task's copy of the table must be restored by the task its
// changelog records name, not by partition (restore.ts, `exact`). A table update made while no
// hop runs reaches the next hop's copies through their catch-up, and the compaction of the
// table's topic cannot take the copies back.

const GROUP = 'g';
const STATE = 'state.customers';

interface Out {
  n: number;
  tier: string | null;
}

const stages = Pipeline.create()
  .readFrom<{ n: number; c: string }>(Sources.kafka({ topics: ['a', 'b'] }))
  .leftJoinTable(Tables.kafka<{ tier: string }>({ topic: 'customers' }), {
    name: 'customers',
    key: (o) => o.c,
    join: (o, c): Out => ({ n: o.n, tier: c?.tier ?? null }),
  })
  .writeTo(Sinks.kafka({ topic: 'out' })).stages;

function startHop(w: MemoryWorld, worker: string, exact = true): Hop {
  const spec = hopSpec({
    registry: w.registry,
    inputs: ['a', 'b'],
    output: 'out',
    groupId: GROUP,
    stages,
  });
  const hop = new Hop({
    kafka: w.cluster.client(worker),
    spec: {
      ...spec,
      // The hop reads two topics: a copy is restored by the task its records name.
      changelogs: [{ topic: STATE, stage: 'customers', exact }],
      tables: [
        {
          stage: 'customers',
          topic: 'customers',
          deserializer: new Deserializer({ format: 'json', registry: w.registry }),
        },
      ],
    },
    guarantee: 'EXACTLY_ONCE',
    plan: NO_PLAN,
    jobId: 'job',
    jobName: 'job',
    events: {
      started: () => undefined,
      failed: () => Promise.reject(new Error('no record should fail')),
      cannotOpen: () => Promise.reject(new Error('no task should fail to open')),
      cannotRead: () => Promise.reject(new Error('no read should fail')),
    },
    logger: w.logger,
    clock: w.clock,
  });
  background(hop.start());
  return hop;
}

/** Orders first..first+count-1, alternately to a and b, partition n % 2, of customer c(n % 3). */
async function orders(w: MemoryWorld, first: number, count: number): Promise<void> {
  for (const topic of ['a', 'b']) {
    const messages: ProducedRecord[] = [];
    for (let n = first; n < first + count; n++)
      if ((n % 2 === 0) === (topic === 'a'))
        messages.push({
          key: String(n),
          value: JSON.stringify({ n, c: `c${n % 3}` }),
          partition: Math.floor(n / 2) % 2,
        });
    await produce(w.cluster.client('source'), topic, messages);
  }
}

const customer = (key: string, tier: string | null): ProducedRecord => ({
  key,
  value: tier === null ? null : JSON.stringify({ tier }),
});

function through(w: MemoryWorld): boolean {
  return ['a', 'b'].every((t) =>
    w.cluster
      .watermarks(t)
      .every((m) => committedOffset(w.cluster, GROUP, t, m.partition) === m.high),
  );
}

describe('a table join in a hop reading two topics', () => {
  it('restores each task’s own copy, and catches it up with what changed meanwhile', async () => {
    const w = memoryWorld();
    for (const [t, p] of [
      ['a', 2],
      ['b', 2],
      ['out', 1],
      [STATE, 2],
    ] as const)
      w.cluster.createTopic(t, p);
    w.cluster.createTopic('customers', 1, { 'cleanup.policy': 'compact' });
    await produce(w.cluster.client('source'), 'customers', [
      customer('c0', 'gold'),
      customer('c1', 'silver'),
    ]);
    await orders(w, 0, 40);
    const first = startHop(w, 'w1');
    expect(await w.clock.runUntil(() => through(w), 30_000)).toBe(true);
    await first.stop();
    const before = committedValues<Out>(w.cluster, 'out');
    expect(before.sort((x, y) => x.n - y.n)).toEqual(
      Array.from({ length: 40 }, (_, n) => ({ n, tier: ['gold', 'silver', null][n % 3] })),
    );

    // While no hop runs: c0 changes, c1 goes, c2 comes, and the table's topic is compacted.
    await produce(w.cluster.client('source'), 'customers', [
      customer('c0', 'platinum'),
      customer('c1', null),
      customer('c2', 'bronze'),
    ]);
    w.cluster.compact('customers');
    const second = startHop(w, 'w2');
    // Every task restores its own copy: the offsets and entries its own changelog records hold.
    expect(await w.clock.runUntil(() => second.tasks.size === 4, 30_000)).toBe(true);
    for (const task of second.tasks.values()) {
      expect(task.state.get('customers', 'o:0')).toBe('2');
      expect(task.state.get('customers', entryKey('c0'))).toEqual({ tier: 'gold' });
    }
    await orders(w, 40, 12);
    expect(await w.clock.runUntil(() => through(w), 30_000)).toBe(true);
    await second.stop();
    const after = committedValues<Out>(w.cluster, 'out').filter((o) => o.n >= 40);
    expect(after.sort((x, y) => x.n - y.n)).toEqual(
      Array.from({ length: 12 }, (_, i) => ({
        n: 40 + i,
        tier: ['platinum', null, 'bronze'][(40 + i) % 3],
      })),
    );
  });
});
