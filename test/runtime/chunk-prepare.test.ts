import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/codec/registry.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { Tables } from '../../src/pipeline/join.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { runChunk, type ChunkRun } from '../../src/runtime/chunk.js';
import { StageFailure } from '../../src/runtime/execute.js';
import { applyTableUpdates, entryKey } from '../../src/runtime/join-table.js';
import { Deserializer } from '../../src/runtime/serde.js';
import { StateStore } from '../../src/runtime/state-store.js';

// A chunk's `prepare` (a table join's catch-up, join-tables.ts): what it writes to the task's
// pending state is what the chunk's records see and what commits with them; what it throws
// fails the chunk's first record, with nothing done.

const stages = Pipeline.create()
  .readFrom<{ c: string }>(Sources.kafka({ topic: 'orders' }))
  .leftJoinTable(Tables.kafka<string>({ topic: 'customers' }), {
    name: 'customers',
    key: (o) => o.c,
    join: (o, name) => `${o.c}:${name ?? '-'}`,
  })
  .writeTo(Sinks.kafka({ topic: 'out' })).stages;

const messages: ConsumedRecord[] = ['a', 'b'].map((c, i) => ({
  offset: String(i),
  key: null,
  value: Buffer.from(JSON.stringify({ c })),
  timestamp: '0',
}));

function run(prepare: ChunkRun['prepare'], state = new StateStore()) {
  return runChunk({
    spec: {
      deserializer: new Deserializer({ format: 'json', registry: {} as RegistryClient }),
      stages,
      outputs: [
        { topic: 'out', key: () => null, write: (v) => Buffer.from(String(v)), internal: false },
      ],
    },
    plan: NO_PLAN,
    jobId: 'job',
    task: { topic: 'orders', partition: 0, state, committed: undefined, errorCounts: [] },
    messages,
    stopped: () => false,
    prepare,
  });
}

describe('runChunk: prepare', () => {
  it('runs before the records, in the pending state they see and commit with', async () => {
    const state = new StateStore();
    const result = await run((task) => {
      applyTableUpdates(
        task.state,
        'customers',
        new Map(),
        [{ key: 'a', value: 'Ann', topic: 'customers', partition: 0, offset: 0n }],
        new Map([[0, 1n]]),
      );
      return Promise.resolve();
    }, state);
    expect(result.outputs[0]?.messages.map((m) => String(m.value))).toEqual(['a:Ann', 'b:-']);
    expect(result.last).toBe('1');
    expect(state.changelogWrites().map((w) => w.key)).toEqual([entryKey('a'), 'o:0']);
  });

  it('a prepare that throws fails the first record, with nothing done', async () => {
    const failure = new StageFailure('customers', new Error('table unreadable'));
    const result = await run(() => Promise.reject(failure));
    expect(result).toMatchObject({ last: undefined, failed: messages[0], failure, outputs: [] });
  });
});
