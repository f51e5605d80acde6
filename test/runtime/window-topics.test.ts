import { describe, expect, it } from 'vitest';
import type { Admin } from '../../src/kafka/port.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Windows } from '../../src/pipeline/windowed.js';
import { checkLateTopics } from '../../src/runtime/window-topics.js';

const admin = (topics: string[]): Admin => ({ listTopics: () => Promise.resolve(topics) }) as Admin;
const def = Pipeline.create()
  .readFrom<{ k: string }>(Sources.kafka({ topic: 'in' }))
  .groupingKey((v) => v.k)
  .window(Windows.tumbling({ sizeMs: 1000 }), { lateTopic: 'late' })
  .count({ name: 'per-second' })
  .writeTo(Sinks.kafka({ topic: 'out' }));

describe('checkLateTopics', () => {
  it("refuses a run whose window's late topic does not exist, naming it", async () => {
    await expect(checkLateTopics(admin(['in', 'out']), def)).rejects.toMatchObject({
      code: 'SLUICE_TOPIC_MISCONFIGURED',
      message: expect.stringContaining('window "per-second" (late) does not exist') as string,
    });
    await expect(checkLateTopics(admin(['in', 'out', 'late']), def)).resolves.toBeUndefined();
  });

  it("refuses a run whose stream join's late topic does not exist, naming the stage", async () => {
    const join = Pipeline.create()
      .readFrom<{ k: string }>(Sources.kafka({ topic: 'in' }))
      .groupingKey((v) => v.k)
      .joinStream({
        name: 'pairs',
        other: Sources.kafka({ topic: 'other' }),
        otherKey: (v: { k: string }) => v.k,
        windowMs: 1_000,
        join: (a, b) => [a, b],
        lateTopic: 'late-pairs',
      })
      .writeTo(Sinks.kafka({ topic: 'out' }));
    await expect(checkLateTopics(admin(['in', 'other', 'out']), join)).rejects.toMatchObject({
      code: 'SLUICE_TOPIC_MISCONFIGURED',
      message: expect.stringContaining('joinStream "pairs" (late-pairs) does not exist') as string,
      details: { missing: [{ stage: 'pairs', topic: 'late-pairs' }] },
    });
    await expect(
      checkLateTopics(admin(['in', 'other', 'out', 'late-pairs']), join),
    ).resolves.toBeUndefined();
  });
});
