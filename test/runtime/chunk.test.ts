import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/codec/registry.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { runChunk, type ChunkSpec } from '../../src/runtime/chunk.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Deserializer } from '../../src/runtime/serde.js';
import { StateStore } from '../../src/runtime/state-store.js';
import type { Task } from '../../src/runtime/task.js';

// The time bound of a chunk: slow user code commits what it did within the bound and leaves the
// rest to the next chunk, but always gets at least one record done.

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function spec(delayMs: number): ChunkSpec {
  const stages = Pipeline.create()
    .readFrom<number>(Sources.kafka({ topic: 'in' }))
    .map(async (n) => {
      await sleep(delayMs);
      return n * 2;
    })
    .writeTo(Sinks.kafka({ topic: 'out' })).stages;
  return {
    deserializer: new Deserializer({ format: 'json', registry: {} as RegistryClient }), // json needs no registry
    stages,
    outputs: [
      {
        topic: 'out',
        key: () => null,
        write: (v) => Buffer.from(JSON.stringify(v)),
        internal: false,
      },
    ],
  };
}

const task = (): Task => ({
  topic: 'in',
  partition: 0,
  state: new StateStore(),
  committed: undefined,
  errorCounts: [],
});
const records = (n: number): KafkaMessage[] =>
  Array.from(
    { length: n },
    (_, i) => ({ offset: String(i), value: Buffer.from(String(i)) }) as KafkaMessage,
  );

describe('runChunk: the time bound', () => {
  it('stops once the bound has passed, with `last` at the last record done', async () => {
    const result = await runChunk({
      spec: spec(20),
      plan: NO_PLAN,
      jobId: 'job',
      task: task(),
      messages: records(50),
      stopped: () => false,
      timeMs: 100,
    });
    const done = Number(result.last) + 1;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(50); // 50 records take 1 s at least: far past the bound
    expect(result.outputs.flatMap((t) => t.messages).map((o) => String(o.value))).toEqual(
      Array.from({ length: done }, (_, i) => String(i * 2)),
    );
    expect(result.failed).toBeUndefined();
  });

  it('does one record at least, however small the bound', async () => {
    const result = await runChunk({
      spec: spec(5),
      plan: NO_PLAN,
      jobId: 'job',
      task: task(),
      messages: records(3),
      stopped: () => false,
      timeMs: 0,
    });
    expect(result.last).toBe('0');
    expect(result.outputs.flatMap((t) => t.messages)).toHaveLength(1);
  });

  it('runs the whole chunk when the records fit in the bound', async () => {
    const result = await runChunk({
      spec: spec(0),
      plan: NO_PLAN,
      jobId: 'job',
      task: task(),
      messages: records(200),
      stopped: () => false,
    });
    expect(result.last).toBe('199');
    expect(result.outputs.flatMap((t) => t.messages)).toHaveLength(200);
  });
});

describe('runChunk: stopping', () => {
  const syncSpec = (): ChunkSpec => ({
    ...spec(0),
    stages: Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .map((n) => n * 2)
      .writeTo(Sinks.kafka({ topic: 'out' })).stages,
  });

  it('asks whether to stop once for a chunk that never awaits: nothing can stop it meanwhile', async () => {
    let asked = 0;
    const result = await runChunk({
      spec: syncSpec(),
      plan: NO_PLAN,
      jobId: 'job',
      task: task(),
      messages: records(100),
      stopped: () => {
        asked++;
        return false;
      },
    });
    expect(result.last).toBe('99');
    expect(asked).toBe(1);
  });

  it('does nothing when stopped before it starts', async () => {
    const result = await runChunk({
      spec: syncSpec(),
      plan: NO_PLAN,
      jobId: 'job',
      task: task(),
      messages: records(10),
      stopped: () => true,
    });
    expect(result.last).toBeUndefined();
    expect(result.outputs.flatMap((t) => t.messages)).toHaveLength(0);
  });

  it('asks after every record that awaited, and stops at the first record after a stop', async () => {
    let asked = 0;
    // Stops once three records are done: asked before each record, the fourth ask says stop.
    const result = await runChunk({
      spec: spec(0),
      plan: NO_PLAN,
      jobId: 'job',
      task: task(),
      messages: records(10),
      stopped: () => ++asked > 3,
    });
    expect(result.last).toBe('2');
    expect(result.outputs.flatMap((t) => t.messages).map((o) => String(o.value))).toEqual([
      '0',
      '2',
      '4',
    ]);
  });
});
