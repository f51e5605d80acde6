import { afterAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { ResumeSameCodeError } from '../../src/domain/same-code.js';
import { Worker } from '../../src/node/worker.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { runSluice, type CliError } from '../support/cli.js';
import { until } from '../support/job-groups.js';
import { endpoints, sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';
import { parseProm, sample } from '../support/prom.js';
import { produceNumbers, readUntil } from '../support/records.js';
import { connectClient, startCoordinator, testLogger } from '../support/sluice.js';

// Issue 17, on a real broker and registry: a job suspended by a poison record while the broken
// worker is still the only live host of its pipeline. The resume is refused, naming the worker
// (through the client and the built CLI, exit code 5); --force goes through, is recorded, and
// fails again on the same record in the same code; once a worker with the fix runs and the
// broken one has stopped, a plain resume is accepted and the job gets past the record.

const ns = testNamespace('fp');
await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: 1 },
  { topic: `${ns}.out`, numPartitions: 1 },
]);
await startCoordinator(ns);
const client = await connectClient(ns, 'alice');
const env = sluiceEnv(ns, { SLUICE_ISSUED_BY: 'bob' });
const { brokers, registryUrl } = endpoints();
const POISON = 40;

/** in → out; the broken code throws on n = POISON, the fixed code lets it through. */
function prices(fixed: boolean) {
  return (args: Record<string, string>): PipelineDef =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
      .map(
        (r) => {
          if (!fixed && r.n === POISON) throw new RangeError(`n=${r.n} has no price`);
          return r;
        },
        { name: 'price' },
      )
      .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
}

function worker(workerId: string, fixed: boolean, version: string): Worker {
  return new Worker({
    brokers,
    registryUrl,
    namespace: ns,
    logger: testLogger,
    workerId,
    coordinator: false,
    metricsPort: 0,
  }).register('prices', prices(fixed), { version });
}

const broken = worker('old-1', false, 'v1');
await broken.start();
let brokenStopped = false;
afterAll(() => (brokenStopped ? undefined : broken.stop()));
const FAILED = broken.fingerprints.prices ?? '';

const job = await client.submit('prices', {
  name: 'prices',
  suspendOnFailure: true,
  args: { input: `${ns}.in`, output: `${ns}.out` },
});
await produceNumbers(`${ns}.in`, 100);

async function suspendedAgain(run: number): Promise<void> {
  await until(
    () => job.status() === 'SUSPENDED_DUE_TO_ERROR' && job.snapshot().run === run,
    `run ${run} suspended due to an error`,
  );
}

function resumes(events: JobEvent[]): Extract<JobEvent, { type: 'JobResumed' }>[] {
  return events.filter(
    (e): e is Extract<JobEvent, { type: 'JobResumed' }> => e.type === 'JobResumed',
  );
}

describe('code fingerprints', () => {
  it('a failure records the fingerprint of the code that failed, as the worker computed it', async () => {
    await suspendedAgain(1);
    expect(FAILED).toMatch(/^[0-9a-f]{12}$/);
    expect(job.suspensionCause()).toMatchObject({
      worker: 'old-1',
      stage: 'price',
      fingerprint: FAILED,
      record: { offset: String(POISON - 1) },
    });
    // And the worker's metrics say which code it runs.
    const res = await fetch(`http://localhost:${broken.metricsPort}/metrics`);
    const samples = parseProm(await res.text());
    expect(
      sample(samples, 'sluice_worker_pipeline_info', { pipeline: 'prices', fingerprint: FAILED }),
    ).toBe(1);
  });

  it('a resume is refused while the broken worker is the only live host, naming it (client, CLI exit 5, status)', async () => {
    const err = await job.resume().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResumeSameCodeError);
    expect((err as ResumeSameCodeError).details).toMatchObject({
      job: 'prices',
      pipeline: 'prices',
      fingerprint: FAILED,
      workers: [{ workerId: 'old-1', fingerprint: FAILED }],
    });

    const cli = await runSluice(['resume', 'prices', '--json'], env);
    expect(cli.code, cli.stderr).toBe(5);
    const body = cli.json as CliError;
    expect(body.error.code).toBe('SLUICE_RESUME_SAME_CODE');
    expect(body.error.message).toContain(`running code ${FAILED}`);
    expect(body.error.message).toContain('still runs it: old-1.');
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    expect(resumes(job.history())).toEqual([]);

    const status = await runSluice(['status', 'prices', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect((status.json as { hosts: unknown }).hosts).toEqual([
      {
        workerId: 'old-1',
        fingerprint: FAILED,
        seenAt: expect.any(Number) as number,
        runsFailingCode: true,
      },
    ]);
    const human = await runSluice(['status', 'prices'], env);
    expect(human.stdout).toContain(`in code ${FAILED}`);
    expect(human.stdout).toContain('the code that failed');
  });

  it('--force resumes anyway, the log records who forced it, and the same code fails on the same record', async () => {
    const cli = await runSluice(['resume', 'prices', '--force', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    await suspendedAgain(2);
    expect(resumes(job.history()).map((e) => [e.force, e.issuedBy])).toEqual([[true, 'bob']]);
    expect(job.suspensionCause()).toMatchObject({
      fingerprint: FAILED,
      record: { offset: String(POISON - 1) },
    });
    const history = await runSluice(['history', 'prices'], env);
    expect(history.stdout).toContain('forced: even if the live workers run the code it failed in');
  });

  it('once a worker with the fix runs and the broken one has stopped, a plain resume is accepted and gets past the record', async () => {
    const fixed = worker('new-1', true, 'v2');
    await fixed.start();
    afterAll(() => fixed.stop());
    const FIXED = fixed.fingerprints.prices ?? '';
    expect(FIXED).not.toBe(FAILED);

    await broken.stop(); // a clean stop: its tombstone counts at once
    brokenStopped = true;
    const live = await client.liveWorkers();
    expect(live.map((w) => [w.workerId, w.pipelines.prices])).toEqual([['new-1', FIXED]]);

    const cli = await runSluice(['resume', 'prices', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(resumes(job.history()).map((e) => e.force)).toEqual([true, false]);
    await until(() => job.status() === 'RUNNING' && job.snapshot().run === 3, 'run 3 running');
    const out = await readUntil(`${ns}.out`, (all) =>
      all.some((r) => (JSON.parse(r.value?.toString() ?? '{}') as { n?: number }).n === 100),
    );
    const numbers = out.map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { n: number }).n);
    expect(numbers).toContain(POISON);
    expect(job.snapshot().workers).toEqual(['new-1']);

    const status = await runSluice(['status', 'prices', '--json'], env);
    expect((status.json as { hosts: unknown }).hosts).toEqual([
      {
        workerId: 'new-1',
        fingerprint: FIXED,
        seenAt: expect.any(Number) as number,
        runsFailingCode: null,
      },
    ]);
  });
});
