import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/codec/registry.js';
import { compileJobConfig } from '../../src/domain/config.js';
import { SluiceError } from '../../src/domain/errors.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import type { StageDef } from '../../src/pipeline/stages.js';
import { runChunk, type ChunkSpec } from '../../src/runtime/chunk.js';
import type { OutputSpec } from '../../src/runtime/chunk-outputs.js';
import { Escalation } from '../../src/runtime/escalation.js';
import { failureReport } from '../../src/runtime/failure.js';
import { errorNames, RecordPolicy } from '../../src/runtime/policy.js';
import { Deserializer } from '../../src/runtime/serde.js';
import { StateStore } from '../../src/runtime/state-store.js';
import type { Task } from '../../src/runtime/task.js';

// The error policy applied record by record inside a chunk: retries, skips, dead letters with
// KIP-1034 headers, and the budget that stops the chunk at the record that would spend it.

class ValidationError extends Error {
  override name = 'ValidationError';
}
class MissingAmount extends ValidationError {
  override name = 'MissingAmount';
}
class TimeoutError extends Error {
  override name = 'TimeoutError';
}

function spec(stages: StageDef[]): ChunkSpec {
  return {
    deserializer: new Deserializer({ format: 'json', registry: {} as RegistryClient }),
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

/** Amounts: a record without one fails with MissingAmount, "bad" is not JSON. */
const amounts = (): StageDef[] =>
  Pipeline.create()
    .readFrom<{ amount?: number }>(Sources.kafka({ topic: 'in' }))
    .map(
      (o) => {
        if (o.amount === undefined) throw new MissingAmount('no amount');
        return o.amount;
      },
      { name: 'price' },
    )
    .writeTo(Sinks.kafka({ topic: 'out' })).stages;

const task = (): Task => ({
  topic: 'in',
  partition: 0,
  state: new StateStore(),
  committed: undefined,
  errorCounts: [],
});

const records = (values: string[]): KafkaMessage[] =>
  values.map((v, i) => ({ offset: String(i), key: null, value: Buffer.from(v) }) as KafkaMessage);

function policy(p: unknown, stages: StageDef[], retried: string[] = []): RecordPolicy {
  const config = compileJobConfig({ name: 'j', errorPolicy: p });
  let now = 0;
  return new RecordPolicy(
    config.errorPolicy,
    stages,
    () => (now += 1),
    (stage) => retried.push(stage),
    () => 0.5,
  );
}

describe('errorNames', () => {
  it('answers to the name, every class extended, and a Sluice error’s code', () => {
    expect(errorNames(new MissingAmount('x'))).toEqual([
      'MissingAmount',
      'ValidationError',
      'Error',
    ]);
    expect(errorNames(new SluiceError('SLUICE_USAGE', 'x'))).toContain('SLUICE_USAGE');
    expect(errorNames('a string')).toEqual(['NonError']);
  });
});

describe('runChunk with an error policy', () => {
  it('dead-letters and skips by error class, commits the rest, and counts each', async () => {
    const stages = amounts();
    const result = await runChunk({
      spec: spec(stages),
      plan: NO_PLAN,
      jobId: 'job-1',
      task: task(),
      messages: records(['{"amount":1}', '{}', 'bad', '{"amount":4}']),
      stopped: () => false,
      policy: policy(
        {
          actions: [
            { on: ['ValidationError'], action: 'DEAD_LETTER', deadLetterTopic: 'dlt' },
            { on: ['SyntaxError'], action: 'SKIP' },
          ],
        },
        stages,
      ),
    });
    expect(result.failed).toBeUndefined();
    expect(result.last).toBe('3');
    expect(result.outputs.flatMap((t) => t.messages).map((o) => String(o.value))).toEqual([
      '1',
      '4',
    ]);
    expect(result.handled.map((h) => [h.stage, h.action])).toEqual([
      ['price', 'DEAD_LETTER'],
      ['source', 'SKIP'],
    ]);
    expect(result.deadLetters).toHaveLength(1);
    const dead = result.deadLetters[0]!;
    expect(dead.topic).toBe('dlt');
    expect(String(dead.record.value)).toBe('{}');
    expect(dead.record.headers).toMatchObject({
      '__streams.errors.exception': 'MissingAmount',
      '__streams.errors.message': 'no amount',
      '__streams.errors.topic': 'in',
      '__streams.errors.partition': '0',
      '__streams.errors.offset': '1',
      'sluice-job-id': 'job-1',
      'sluice-stage': 'price',
    });
    expect(dead.record.headers?.['__streams.errors.stacktrace']).toMatch(
      /MissingAmount: no amount/,
    );
  });

  it('retries a retryable error with growing waits, then goes on with the record', async () => {
    let calls = 0;
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .map(
        (n) => {
          if (n === 2 && ++calls < 3) throw new TimeoutError('slow service');
          return n * 10;
        },
        { name: 'enrich' },
      )
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const waits: number[] = [];
    const retried: string[] = [];
    const result = await runChunk({
      spec: spec(stages),
      plan: NO_PLAN,
      jobId: 'j',
      task: task(),
      messages: records(['1', '2', '3']),
      stopped: () => false,
      policy: policy(
        { retry: { on: ['TimeoutError'], backoffMs: 10, jitter: 0 } },
        stages,
        retried,
      ),
      pause: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(result.outputs.flatMap((t) => t.messages).map((o) => String(o.value))).toEqual([
      '10',
      '20',
      '30',
    ]);
    expect(waits).toEqual([10, 20]);
    expect(retried).toEqual(['enrich', 'enrich']);
  });

  it('retries what the stage’s predicate says, and stops once the retries are spent', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .map(
        () => {
          throw new Error('ECONNRESET');
        },
        { name: 'call', retryable: (e) => e instanceof Error && e.message === 'ECONNRESET' },
      )
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const waits: number[] = [];
    const result = await runChunk({
      spec: spec(stages),
      plan: NO_PLAN,
      jobId: 'j',
      task: task(),
      messages: records(['1']),
      stopped: () => false,
      policy: policy({}, stages),
      pause: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(waits).toHaveLength(3); // DEFAULT_RETRY.maxRetries
    expect(result.failed?.offset).toBe('0');
    expect(result.failure).not.toBeInstanceOf(Escalation); // no rule: suspendOnFailure decides
  });

  it('stops at the record that would spend the budget, naming the last errors', async () => {
    const stages = amounts();
    const result = await runChunk({
      spec: spec(stages),
      plan: NO_PLAN,
      jobId: 'j',
      task: task(),
      messages: records(['{}', '{"amount":2}', '{}', '{}', '{"amount":5}']),
      stopped: () => false,
      policy: policy(
        { actions: [{ on: ['*'], action: 'SKIP' }], budget: { maxRecords: 2, windowMs: 60_000 } },
        stages,
      ),
    });
    expect(result.handled).toHaveLength(2);
    expect(result.last).toBe('2');
    expect(result.failed?.offset).toBe('3');
    const report = failureReport(result.failure, 'w', 'in', 0, result.failed!, null);
    expect(report.action).toBe('SUSPEND');
    expect(report.description).toMatch(/error budget is spent: more than 2 record/);
    expect(report.description).toMatch(
      /in\/0@0 in stage "price": MissingAmount: no amount \(skipped\)/,
    );
    expect(report.error.name).toBe('MissingAmount');
    expect(report.record?.offset).toBe('3');
  });

  it('counts committed records against the budget across chunks, within its window only', () => {
    let now = 0;
    const stages = amounts();
    const p = new RecordPolicy(
      compileJobConfig({
        name: 'j',
        errorPolicy: {
          actions: [{ on: ['*'], action: 'SKIP' }],
          budget: { maxRecords: 1, windowMs: 100 },
        },
      }).errorPolicy,
      stages,
      () => now,
    );
    const err = new Error('x');
    const first = p.step(err, 1, [], 'in/0@0');
    expect(first.kind).toBe('handled');
    p.committed(first.kind === 'handled' ? [first.handled] : []);
    expect(p.step(err, 1, [], 'in/0@1').kind).toBe('stop');
    now = 101; // the first has left the window
    expect(p.step(err, 1, [], 'in/0@1').kind).toBe('handled');
  });

  it('reports a FAIL rule’s choice, which the coordinator follows whatever suspendOnFailure says', async () => {
    const stages = amounts();
    const result = await runChunk({
      spec: spec(stages),
      plan: NO_PLAN,
      jobId: 'j',
      task: task(),
      messages: records(['{}']),
      stopped: () => false,
      policy: policy({ actions: [{ on: ['ValidationError'], action: 'FAIL' }] }, stages),
    });
    expect(failureReport(result.failure, 'w', 'in', 0, result.failed!, null).action).toBe('FAIL');
  });

  it('drops the outputs a record wrote before its sink write failed', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .flatMap((n) => [n, n + 1])
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const s = spec(stages);
    (s.outputs[0] as OutputSpec).write = (v) => {
      if (v === 11) throw new RangeError('too big');
      return Buffer.from(JSON.stringify(v));
    };
    const result = await runChunk({
      spec: s,
      plan: NO_PLAN,
      jobId: 'j',
      task: task(),
      messages: records(['1', '10']),
      stopped: () => false,
    });
    expect(result.failed?.offset).toBe('1');
    expect(result.outputs.flatMap((t) => t.messages).map((o) => String(o.value))).toEqual([
      '1',
      '2',
    ]);
  });
});
