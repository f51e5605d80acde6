import { afterAll, describe, expect, it } from 'vitest';
import { JobSuspendedError } from '../../src/domain/job-errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';
import { jobHops, outputsWhenThrough, until } from '../support/job-groups.js';
import { produceNumbers } from '../support/records.js';
import { connectClient, startCoordinator, testLogger } from '../support/sluice.js';

// A worker that starts a job after its resume, in the same run, applies the resume's skip: the
// plan is read from the job's history (domain/resume-plan.ts), not from the JobResumed event as
// it arrives. Here no worker runs when the job is resumed, so the only one that meets the
// failing record is one started afterwards, running code that would process it.

const ns = testNamespace('late');
const input = `${ns}.in`;
const output = `${ns}.out`;
const RECORDS = 600;
const POISON = 300;
const admin = await useTopics(ns, [
  { topic: input, numPartitions: 1 },
  { topic: output, numPartitions: 1 },
]);
// The coordinator runs apart from the workers, so the resume is handled while none runs.
await startCoordinator(ns);
const client = await connectClient(ns);

const workers: Worker[] = [];
afterAll(async () => {
  for (const w of workers) await w.stop();
});

/** A worker relaying records; with `poison`, its code throws on that n (the code before a fix). */
async function startWorker(id: string, poison?: number): Promise<Worker> {
  const worker = new Worker({
    ...endpoints(),
    namespace: ns,
    logger: testLogger,
    workerId: id,
    coordinator: false,
  }).register('relay', (args) =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
      .map(
        (r) => {
          if (r.n === poison) throw new RangeError(`n=${r.n} is not allowed`);
          return r;
        },
        { name: 'check' },
      )
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  );
  await worker.start();
  workers.push(worker);
  return worker;
}

describe('a worker that starts a job after a resume with SKIP', () => {
  it('skips the failing record, though it did not read the JobResumed event as it arrived', async () => {
    await produceNumbers(input, RECORDS); // n = offset + 1: one partition
    const broken = await startWorker('w-broken', POISON);
    const job = await client.submit('relay', {
      name: 'late-joiner',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output },
    });
    const err = await job.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobSuspendedError);
    expect((err as JobSuspendedError).suspensionCause.record).toMatchObject({
      topic: input,
      partition: 0,
      offset: String(POISON - 1),
    });

    // The worker that failed is gone before the resume; the one with the fix starts after it.
    await broken.stop();
    workers.splice(workers.indexOf(broken), 1);
    await job.resume({ failingRecord: 'SKIP' });
    expect(job.status()).toBe('STARTING');
    await startWorker('w-late');

    // Read once the job committed through its input: every output there will be for it. The
    // late worker's code does not throw on the failing record, so only the plan keeps it out.
    const outputs = (await outputsWhenThrough(admin, jobHops(ns, job.id, input), output)).map(
      (m) => (JSON.parse(m.value?.toString() ?? '{}') as { n: number }).n,
    );
    expect(outputs.sort((a, b) => a - b)).toEqual(
      Array.from({ length: RECORDS }, (_, i) => i + 1).filter((n) => n !== POISON),
    );

    // The run after the resume was started by the late worker alone, and it did not fail.
    await until(() => job.status() === 'RUNNING', 'the job RUNNING on the late worker');
    const history = job.history();
    const resumedAt = history.findIndex((e) => e.type === 'JobResumed');
    expect(history[resumedAt]).toMatchObject({
      failingRecord: 'SKIP',
      record: { offset: String(POISON - 1) },
    });
    const after = history.slice(resumedAt + 1);
    expect(after.flatMap((e) => (e.type === 'JobStarted' ? [e.worker] : []))).toEqual(['w-late']);
    expect(after.map((e) => e.type)).not.toContain('JobSuspendedDueToError');
  }, 120_000);
});
