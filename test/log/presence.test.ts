import { describe, expect, it } from 'vitest';
import { liveWorkers, PRESENCE_LIVE_MS } from '../../src/domain/presence.js';
import { topicNames } from '../../src/domain/resources.js';
import { PRESENCE_INTERVAL_MS } from '../../src/domain/settings.js';
import { withAdmin } from '../../src/kafka/offsets.js';
import { PresenceBeacon, readPresence } from '../../src/log/presence.js';
import { ensureTopics } from '../../src/log/topics.js';
import { drive, memoryWorld, type MemoryWorld } from '../support/memory-world.js';

// A worker's presence on `<ns>.workers` (issue 17), written by PresenceBeacon and read back by
// readPresence, on the in-memory Kafka and its virtual clock.

const NS = 'pr';
const TOPIC = topicNames(NS).workers;

async function setUp(): Promise<MemoryWorld> {
  const w = memoryWorld();
  await drive(
    w.clock,
    withAdmin(w.cluster.client('admin'), (a) => ensureTopics(a, topicNames(NS))),
  );
  return w;
}

function beacon(w: MemoryWorld, workerId: string, pipelines: Record<string, string>) {
  return new PresenceBeacon({
    kafka: w.cluster.client(workerId),
    topic: TOPIC,
    workerId,
    pipelines,
    clock: w.clock,
    logger: w.logger,
  });
}

const read = (w: MemoryWorld) => drive(w.clock, readPresence(w.cluster.client('reader'), TOPIC));

describe('a worker’s presence', () => {
  it('is written at start with its fingerprints, refreshed every interval, and gone at a clean stop', async () => {
    const w = await setUp();
    const t0 = w.clock.now();
    const b = beacon(w, 'w1', { totals: 'a1b2c3d4e5f6' });
    await drive(w.clock, b.start());
    let table = await read(w);
    expect(table.get('w1')).toEqual({
      v: 1,
      workerId: 'w1',
      pipelines: { totals: 'a1b2c3d4e5f6' },
      startedAt: t0,
      seenAt: t0,
    });

    await w.clock.advance(3 * PRESENCE_INTERVAL_MS + 1);
    table = await read(w);
    // Refreshed: still live long after the first record would have expired.
    expect(table.get('w1')?.seenAt).toBeGreaterThan(t0 + 2 * PRESENCE_INTERVAL_MS);
    expect(table.get('w1')?.startedAt).toBe(t0);
    expect(liveWorkers(table, w.clock.now()).map((p) => p.workerId)).toEqual(['w1']);

    await drive(w.clock, b.stop());
    table = await read(w);
    expect(table.has('w1')).toBe(false);
    // No refresh after the tombstone brings it back.
    await w.clock.advance(2 * PRESENCE_INTERVAL_MS);
    expect((await read(w)).has('w1')).toBe(false);
  });

  it('of a worker that stopped writing (a crash) stays in the table but stops being live', async () => {
    const w = await setUp();
    const b = beacon(w, 'w1', { totals: 'a1b2c3d4e5f6' });
    await drive(w.clock, b.start());
    const crashedAt = w.clock.now();
    w.cluster.crash('w1');
    await w.clock.advance(PRESENCE_LIVE_MS + 1);
    const table = await read(w);
    expect(table.get('w1')?.seenAt).toBe(crashedAt);
    expect(liveWorkers(table, w.clock.now())).toEqual([]);
  });
});
