import { describe, expect, it } from 'vitest';
import type { SluiceClient } from '../../src/client/client.js';
import type { DryRunResult } from '../../src/client/dry-run.js';
import { DryRunNotPossibleError, NoLiveWorkerError } from '../../src/domain/dry-run.js';
import { isSluiceError } from '../../src/domain/errors.js';
import { topicNames } from '../../src/domain/resources.js';
import { PresenceBeacon } from '../../src/log/presence.js';
import { stopWorkerParts, type WorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  jobConfig,
  memoryClient,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
  untilStatus,
  type Participant,
} from '../support/memory-sluice.js';
import { drive, memoryWorld, produce, type MemoryWorld } from '../support/memory-world.js';

// job.tryResume() (issue 17, item 2) on the in-memory Kafka with a real coordinator and real
// workers: the client asks, every live host of the pipeline answers through the job log, and
// the job stays suspended with its history recording the request and the answers.

const NS = 'sl';
const JOB = 'j1';
const POISON = 4;

function prices(fixed: boolean): () => PipelineDef {
  return () =>
    Pipeline.create()
      .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
      .map(
        (r) => {
          if (!fixed && r.n === POISON) throw new RangeError(`n=${r.n} has no price`);
          return { n: r.n, price: r.n * 10 };
        },
        { name: 'price' },
      )
      .writeTo(Sinks.kafka({ topic: 'out' }));
}

interface Setting {
  w: MemoryWorld;
  client: SluiceClient;
  user: Participant;
  old: WorkerParts;
}

/** Job j1 suspended on n = POISON by worker `old` (code old-1), which still runs. */
async function suspended(): Promise<Setting> {
  const w = memoryWorld();
  w.cluster.createTopic('in', 1);
  w.cluster.createTopic('out', 1);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const { client, participant: user } = await memoryClient(w, NS, 'alice');
  const old = await startWorker(w, NS, 'old', prices(false), 'old-1');
  await submit(w, user, JOB, jobConfig('prices'));
  const records = Array.from({ length: 6 }, (_, i) => ({ value: JSON.stringify({ n: i + 1 }) }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  expect(await untilStatus(w, user, JOB, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
  return { w, client, user, old };
}

function types(client: SluiceClient): string[] {
  return client
    .getJob(JOB)
    .history()
    .map((e) => e.type);
}

describe('job.tryResume()', () => {
  it('reports the error in the old code, then the outputs in the fixed code, leaving the job suspended', async () => {
    const { w, client, old } = await suspended();
    const job = client.getJob(JOB);
    const before = job.snapshot();

    const broken = await drive(w.clock, job.tryResume());
    expect(broken).toEqual<DryRunResult>({
      requestId: expect.any(String) as string,
      record: { ...job.suspensionCause().record! },
      answers: [
        {
          worker: 'old',
          fingerprint: 'old-1',
          outputs: [],
          outputCount: 0,
          error: {
            name: 'RangeError',
            message: 'n=4 has no price',
            stack: expect.any(String) as string,
          },
          stage: 'price',
        },
      ],
      missing: [],
      wouldSucceed: false,
    });

    const fixed = await startWorker(w, NS, 'new', prices(true), 'new-1');
    await drive(w.clock, stopWorkerParts(old));
    const works = await drive(w.clock, job.tryResume());
    expect(works.answers).toEqual([
      {
        worker: 'new',
        fingerprint: 'new-1',
        outputs: [{ key: null, valuePreview: '{"n":4,"price":40}' }],
        outputCount: 1,
        error: null,
        stage: null,
      },
    ]);
    expect(works.wouldSucceed).toBe(true);

    // Nothing moved: the same state but for the four audit events, and no resume was sent.
    expect(job.snapshot()).toEqual({ ...before, version: before.version + 4 });
    expect(types(client).slice(-4)).toEqual([
      'DryRunRequested',
      'DryRunCompleted',
      'DryRunRequested',
      'DryRunCompleted',
    ]);
    expect(types(client)).not.toContain('JobResumed');
    await drive(w.clock, stopWorkerParts(fixed));
  });

  it('refuses at once, sending nothing, a job not suspended on a record, or one no live worker hosts', async () => {
    const { w, client, old } = await suspended();
    const job = client.getJob(JOB);
    await drive(w.clock, stopWorkerParts(old));
    const none = await drive(w.clock, job.tryResume()).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(NoLiveWorkerError);
    expect((none as NoLiveWorkerError).code).toBe('SLUICE_NO_LIVE_WORKER');

    await drive(w.clock, job.cancel());
    const ended = await drive(w.clock, job.tryResume()).catch((e: unknown) => e);
    expect(ended).toBeInstanceOf(DryRunNotPossibleError);
    expect((ended as DryRunNotPossibleError).code).toBe('SLUICE_DRY_RUN_NOT_POSSIBLE');
    expect((ended as Error).message).toContain('is CANCELLED');
    expect(types(client)).not.toContain('DryRunRequested');
  });

  it('waits for every live host until the timeout: a silent one is missing, and none answering is SLUICE_COMMAND_TIMEOUT', async () => {
    const { w, client, old } = await suspended();
    // A worker that announces the pipeline but never reads the log, so never answers.
    const ghost = new PresenceBeacon({
      kafka: w.cluster.client('ghost'),
      topic: topicNames(NS).workers,
      workerId: 'ghost',
      pipelines: { p: 'old-1' },
      clock: w.clock,
      logger: w.logger,
    });
    await drive(w.clock, ghost.start());
    const job = client.getJob(JOB);
    const started = w.clock.now();
    const result = await drive(w.clock, job.tryResume({ timeoutMs: 5_000 }));
    expect(w.clock.now() - started).toBeGreaterThanOrEqual(5_000);
    expect(result.answers.map((a) => a.worker)).toEqual(['old']);
    expect(result.missing).toEqual(['ghost']);
    expect(result.wouldSucceed).toBe(false);

    await drive(w.clock, stopWorkerParts(old));
    const silent = await drive(w.clock, job.tryResume({ timeoutMs: 5_000 })).catch(
      (e: unknown) => e,
    );
    expect(isSluiceError(silent, 'SLUICE_COMMAND_TIMEOUT')).toBe(true);
    expect((silent as Error).message).toContain('ghost');
    await drive(w.clock, ghost.stop());
  });
});
