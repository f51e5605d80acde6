import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { changelogTopic, repartitionTopic, topicNames } from '../../src/domain/resources.js';
import type { TopicReplication } from '../../src/kafka/topics.js';
import { readPresence } from '../../src/log/presence.js';
import {
  openClientParts,
  startWorkerParts,
  stopWorkerParts,
  type WorkerParts,
} from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  COMMAND_TIMEOUT_MS,
  jobConfig,
  participant,
  startCoordinator,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import {
  drive,
  memoryWorld,
  produce,
  TEST_RETRY,
  type MemoryWorld,
} from '../support/memory-world.js';
import { recordingKafka } from '../support/recording-admin.js';

// The replication options reach every topic a component creates (src/node/parts.ts wires them
// to the job log and the pipeline host), on the in-memory Kafka: one broker, so a replication
// factor of 3 is refused as a real cluster of one broker refuses it.

const NS = 'rp';
const JOB = 'j1';

/** in → count per key (a stateful stage: a changelog and a repartition topic) → out. */
function counting(): PipelineDef {
  return Pipeline.create()
    .readFrom<{ k: string }>(Sources.kafka({ topic: 'in' }))
    .groupingKey((r) => r.k)
    .aggregate({ name: 'count', init: () => 0, add: (c: number) => c + 1 })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

/** A worker hosting `p` whose topics get `replication`; its createTopics requests recorded. */
async function startWorker(w: MemoryWorld, replication: TopicReplication) {
  const { kafka, requests } = recordingKafka(w.cluster.client('w1'));
  const parts: WorkerParts = await drive(
    w.clock,
    startWorkerParts({
      kafka,
      registry: w.registry,
      namespace: NS,
      logger: w.logger,
      clock: w.clock,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      replication,
      workerId: 'w1',
      retry: TEST_RETRY,
      factories: new Map([['p', counting]]),
      fingerprints: new Map([['p', 'c0dec0dec0de']]),
    }),
  );
  return { parts, requests };
}

/** A world with `in` and `out`, a coordinator (which created the namespace's topics) and a user. */
async function setUp() {
  const w = memoryWorld();
  w.cluster.createTopic('in', 2);
  w.cluster.createTopic('out', 2);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  return { w, user: await participant(w, NS, 'alice') };
}

describe('the replication options', () => {
  it('reach the namespace’s topics: a client that would create them with 3 replicas on 1 broker fails naming both', async () => {
    const w = memoryWorld();
    const err = await drive(
      w.clock,
      openClientParts({
        kafka: w.cluster.client('alice'),
        registry: w.registry,
        namespace: NS,
        logger: w.logger,
        clock: w.clock,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        replication: { replicationFactor: 3 },
        issuedBy: 'alice',
        reader: 'client',
      }),
    ).catch((e: unknown) => e);
    expect(isSluiceError(err, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(topicNames(NS).control);
    expect((err as Error).message).toContain('replication factor 3: the cluster has 1 broker up');
  });

  it('reach a job’s changelog and repartition topics', async () => {
    const { w, user } = await setUp();
    const { parts, requests } = await startWorker(w, {
      replicationFactor: 1,
      minInsyncReplicas: 1,
    });
    await submit(w, user, JOB, jobConfig('counts'));
    expect(await w.clock.runUntil(() => user.log.state(JOB)?.status === 'RUNNING', 60_000)).toBe(
      true,
    );
    const created = requests.flat();
    for (const topic of [changelogTopic(NS, JOB, 'count'), repartitionTopic(NS, JOB, 'count')])
      expect(
        created.find((t) => t.topic === topic),
        topic,
      ).toMatchObject({
        replicationFactor: 1,
        config: { 'min.insync.replicas': '1' },
      });
    await drive(w.clock, parts.host.stop());
  });

  it('suspend a job whose topics the cluster cannot replicate so, with a cause naming both numbers', async () => {
    const { w, user } = await setUp();
    const { parts } = await startWorker(w, { replicationFactor: 3 });
    await submit(w, user, JOB, jobConfig('counts'));
    expect(
      await w.clock.runUntil(
        () => user.log.state(JOB)?.status === 'SUSPENDED_DUE_TO_ERROR',
        120_000,
      ),
    ).toBe(true);
    const state = user.log.state(JOB);
    const cause = state?.status === 'SUSPENDED_DUE_TO_ERROR' ? state.suspensionCause : undefined;
    expect(cause?.description).toBe('Worker w1 could not start the job');
    expect(cause?.error?.message).toContain('replication factor 3: the cluster has 1 broker up');
    expect(cause?.error?.message).toContain('--replication-factor');
    // Not the code's failure: no fingerprint, so no resume is refused for the same code.
    expect(cause?.fingerprint).toBeNull();
    await drive(w.clock, parts.host.stop());
  });
});

describe("a worker's fingerprints", () => {
  it("are announced on <ns>.workers once the worker's parts run, until they stop", async () => {
    const { w } = await setUp();
    const { parts } = await startWorker(w, {});
    const presence = () =>
      drive(w.clock, readPresence(w.cluster.client('reader'), topicNames(NS).workers));
    expect((await presence()).get('w1')).toMatchObject({
      workerId: 'w1',
      pipelines: { p: 'c0dec0dec0de' },
    });
    await drive(w.clock, stopWorkerParts(parts));
    expect((await presence()).has('w1')).toBe(false);
  });

  it("go on the report of a failure the pipeline's code causes, through the pipeline host", async () => {
    const { w, user } = await setUp();
    const poisoned = (): PipelineDef =>
      Pipeline.create()
        .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
        .map(
          (r) => {
            if (r.n === 3) throw new RangeError('3 is poison');
            return r;
          },
          { name: 'check' },
        )
        .writeTo(Sinks.kafka({ topic: 'out' }));
    const parts = await drive(
      w.clock,
      startWorkerParts({
        kafka: w.cluster.client('w1'),
        registry: w.registry,
        namespace: NS,
        logger: w.logger,
        clock: w.clock,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        workerId: 'w1',
        retry: TEST_RETRY,
        factories: new Map([['p', poisoned]]),
        fingerprints: new Map([['p', 'c0dec0dec0de']]),
      }),
    );
    await submit(w, user, JOB, jobConfig('checks'));
    const records = [1, 2, 3, 4].map((n) => ({ value: JSON.stringify({ n }), partition: 0 }));
    await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
    const suspended = () => user.log.state(JOB)?.status === 'SUSPENDED_DUE_TO_ERROR';
    expect(await w.clock.runUntil(suspended, 60_000)).toBe(true);
    const state = user.log.state(JOB);
    expect(state?.status === 'SUSPENDED_DUE_TO_ERROR' && state.suspensionCause).toMatchObject({
      stage: 'check',
      fingerprint: 'c0dec0dec0de',
    });
    await drive(w.clock, parts.host.stop());
  });
});
