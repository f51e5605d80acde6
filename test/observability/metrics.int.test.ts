import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/client/job.js';
import { JobSuspendedError } from '../../src/domain/job-errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { jobGroup } from '../../src/domain/resources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, kafkaClient, sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';
import { parseProm, sample, type Sample } from '../support/prom.js';
import { ROOT } from '../support/spawn.js';
import { connectClient, testLogger } from '../support/sluice.js';

// A worker with a metrics port runs a job, then the job is suspended by a poison record: its
// series must outlive its tasks, and a worker started afterwards (the real CLI) must still
// report the job as suspended, from the job log alone.

const ns = testNamespace('obs');
const admin = await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: 1 },
  { topic: `${ns}.out`, numPartitions: 1 },
]);
const client = await connectClient(ns);
const RECORDS = 200;
const POISON = RECORDS + 1;

const { brokers, registryUrl } = endpoints();
// Same logic as test/fixtures/pipelines/metered.mjs, which the CLI worker below hosts.
const worker = new Worker({
  brokers,
  registryUrl,
  namespace: ns,
  logger: testLogger,
  workerId: 'w-metrics',
  metricsPort: 0,
}).register('metered', (args) =>
  Pipeline.create()
    .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '', format: 'json' }))
    .map(
      (r) => {
        if (r.n === Number(args.poison)) throw new RangeError(`n=${r.n} is poison`);
        return r;
      },
      { name: 'check' },
    )
    .groupingKey((r) => r.k)
    .aggregate({ name: 'count', init: () => 0, add: (c) => c + 1 })
    .writeTo(Sinks.kafka({ topic: args.output ?? '', format: 'json' })),
);
afterAll(() => worker.stop());

async function produce(from: number, to: number): Promise<void> {
  const producer = kafkaClient().producer();
  await producer.connect();
  const messages = [];
  for (let n = from; n <= to; n++)
    messages.push({ key: `k${n % 5}`, value: JSON.stringify({ n, k: `k${n % 5}` }) });
  await producer.send({ topic: `${ns}.in`, messages });
  await producer.disconnect();
}

async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseProm(await res.text());
}

/** Scrapes until `done` holds; on timeout, fails showing the job's last series. */
async function scrapeUntil(
  port: number,
  jobId: string,
  done: (s: Sample[]) => boolean,
  timeoutMs = 45_000,
): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(port);
    if (done(s)) return s;
    if (Date.now() > deadline)
      throw new Error(
        `timed out; last series: ${JSON.stringify(s.filter((x) => x.labels.job_id === jobId))}`,
      );
    await sleep(250);
  }
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('worker metrics and health', () => {
  let job: Job;
  let labels: { job_id: string; pipeline: string };
  const port = (): number => worker.metricsPort ?? -1;
  /** The consumer groups of the job's two hops: the source hop and the counting hop. */
  const groups = (): string[] => [jobGroup(ns, job.id), `${jobGroup(ns, job.id)}.count`];

  it('is live and ready once started, on the free port it picked', async () => {
    expect(worker.metricsPort).toBeUndefined();
    await worker.start();
    expect(port()).toBeGreaterThan(0);
    expect(await getJson(`http://127.0.0.1:${port()}/livez`)).toEqual({
      status: 200,
      body: { status: 'live' },
    });
    expect(await getJson(`http://127.0.0.1:${port()}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready' },
    });
  });

  it('reports a running job: records in and out, status, lag, snapshots, restore', async () => {
    await produce(1, RECORDS);
    job = await client.submit('metered', {
      name: 'metered',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 500,
      args: { input: `${ns}.in`, output: `${ns}.out`, poison: String(POISON) },
    });
    labels = { job_id: job.id, pipeline: 'metered' };
    const s = await scrapeUntil(
      port(),
      job.id,
      (x) =>
        sample(x, 'sluice_job_records_in_total', labels) === RECORDS &&
        sample(x, 'sluice_job_records_out_total', labels) === RECORDS &&
        sample(x, 'sluice_job_status', { ...labels, status: 'RUNNING' }) === 1 &&
        (sample(x, 'sluice_job_snapshots_total', labels) ?? 0) >= 1 &&
        // The coordinator records the job's snapshot within an interval of the first commits.
        sample(x, 'sluice_job_last_snapshot_age_seconds', labels) !== undefined &&
        sample(x, 'sluice_job_consumer_lag', { ...labels, topic: `${ns}.in` }) === 0,
    );
    expect(sample(s, 'sluice_job_errors_total', labels)).toBe(0);
    expect(sample(s, 'sluice_job_status', { ...labels, status: 'SUSPENDED_DUE_TO_ERROR' })).toBe(0);
    expect(sample(s, 'sluice_job_suspended_since_seconds', labels)).toBeUndefined();
    expect(sample(s, 'sluice_job_last_snapshot_duration_seconds', labels)).toBeGreaterThan(0);
    expect(sample(s, 'sluice_job_last_snapshot_age_seconds', labels)).toBeGreaterThanOrEqual(0);
    // The counting hop restored its (empty) changelog before it started.
    expect(sample(s, 'sluice_job_restore_progress_ratio', labels)).toBe(1);
    // The groups whose emptying shows below that the tasks stopped: each has this worker now.
    const described = await admin.describeGroups(groups());
    expect(described.groups.map((g) => g.members.length)).toEqual([1, 1]);
  });

  it('keeps the series of a job suspended by a poison record after its tasks stopped', async () => {
    const before = Date.now();
    await produce(POISON, POISON);
    const err = await job.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobSuspendedError);
    // The tasks are gone once both hops' consumer groups have no member left.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const described = await admin.describeGroups(groups());
      if (described.groups.every((g) => g.members.length === 0)) break;
      if (Date.now() > deadline) throw new Error('the job tasks did not stop');
      await sleep(250);
    }

    const s = await scrape(port());
    expect(sample(s, 'sluice_job_records_in_total', labels)).toBe(RECORDS);
    expect(sample(s, 'sluice_job_records_out_total', labels)).toBe(RECORDS);
    expect(sample(s, 'sluice_job_errors_total', labels)).toBe(1);
    expect(sample(s, 'sluice_job_status', { ...labels, status: 'SUSPENDED_DUE_TO_ERROR' })).toBe(1);
    expect(sample(s, 'sluice_job_status', { ...labels, status: 'RUNNING' })).toBe(0);
    const since = sample(s, 'sluice_job_suspended_since_seconds', labels) ?? 0;
    expect(since).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(since).toBeLessThanOrEqual(Date.now() / 1000);
    expect(sample(s, 'sluice_job_consumer_lag', { ...labels, topic: `${ns}.in` })).toBeDefined();
    expect(await getJson(`http://127.0.0.1:${port()}/readyz`)).toMatchObject({ status: 200 });
  });

  it('reports the suspended job from the log on a worker started later with the CLI', async () => {
    const child = spawn(
      process.execPath,
      [
        'dist/cli/main.js',
        'worker',
        'test/fixtures/pipelines/metered.mjs',
        '--no-coordinator',
        '--worker-id',
        'w-cli',
        '--metrics-port',
        '0',
      ],
      { cwd: ROOT, env: sluiceEnv(ns), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      const cliPort = await new Promise<number>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no progress line: ${err}`)), 30_000);
        child.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /metrics on http:\/\/localhost:(\d+)\/metrics/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.on('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
      });
      expect(await getJson(`http://127.0.0.1:${cliPort}/readyz`)).toEqual({
        status: 200,
        body: { status: 'ready' },
      });
      const s = await scrape(cliPort);
      expect(sample(s, 'sluice_job_status', { ...labels, status: 'SUSPENDED_DUE_TO_ERROR' })).toBe(
        1,
      );
      expect(sample(s, 'sluice_job_suspended_since_seconds', labels)).toBe(
        sample(await scrape(port()), 'sluice_job_suspended_since_seconds', labels),
      );
      // This worker never ran the job: it has its series, with nothing counted.
      expect(sample(s, 'sluice_job_records_in_total', labels)).toBe(0);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
