import { describe, expect, it } from 'vitest';
import type { Admin } from '../../src/kafka/port.js';
import { Tables } from '../../src/pipeline/join.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { checkJoinTopics } from '../../src/runtime/join-topology.js';

// A run whose joins read a topic that does not exist is refused before anything starts, naming
// the stage and the topic (prepare-run.ts).

const admin = (topics: string[]) => ({ listTopics: () => Promise.resolve(topics) }) as Admin;

const stages = Pipeline.create()
  .readFrom<{ c: string; id: string }>(Sources.kafka({ topic: 'orders' }))
  .joinTable(Tables.kafka<{ tier: string }>({ topic: 'customers' }), {
    name: 'customers',
    key: (o) => o.c,
    join: (o, c) => ({ ...o, tier: c.tier }),
  })
  .groupingKey((o) => o.id)
  .joinStream({
    name: 'paid',
    other: Sources.kafka({ topic: 'payments' }),
    otherKey: (p: { id: string }) => p.id,
    windowMs: 1_000,
    join: (o) => o,
  })
  .writeTo(Sinks.kafka({ topic: 'out' })).stages;

describe('checkJoinTopics', () => {
  it('passes when every join topic exists', async () => {
    await expect(
      checkJoinTopics(admin(['customers', 'payments']), stages),
    ).resolves.toBeUndefined();
  });

  it('names the stage and the missing topic, table or other stream', async () => {
    await expect(checkJoinTopics(admin(['payments']), stages)).rejects.toMatchObject({
      code: 'SLUICE_TOPIC_MISCONFIGURED',
      details: { stage: 'customers', topic: 'customers' },
    });
    await expect(checkJoinTopics(admin(['customers']), stages)).rejects.toMatchObject({
      code: 'SLUICE_TOPIC_MISCONFIGURED',
      details: { stage: 'paid', topic: 'payments' },
    });
  });
});
