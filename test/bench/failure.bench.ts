// `npm run bench:failure`: how fast a failure becomes a suspension, and a resume becomes output.
// For each worker count in BENCH_WORKERS (default "1,3": one worker, then three sharing each
// job), over BENCH_RUNS jobs (default 10), each `EXACTLY_ONCE` with `suspendOnFailure` over
// BENCH_RECORDS records (default 10,000) in 3 partitions, whose user code throws on the record in
// the middle of the input, it measures:
// - throw → event: from the throw to a client seeing `SUSPENDED_DUE_TO_ERROR` (an upper bound
//   on the append of `JobSuspendedDueToError`: the client reads the job log like any reader);
// - throw → last output: from the throw to the Kafka timestamp of the job's last output before
//   the suspension (the failure snapshot commits the outputs of the records before the failing
//   one), read once the job is suspended;
// - resume → first output: from `resume --skip-failing-record` to the first new output read;
// - resume → exact: from the resume to the moment every output is there;
// - fresh job → exact: a new job submitted over a topic holding as many records as were left
//   after the failing one (half the input), from its submission to its last output: what
//   resume → exact is compared with.
// Workers, client and coordinator run in this process, so the clocks are one clock. The
// workers are already running when a job is submitted or resumed, as in a deployment.
// Figures only; nothing here passes or fails.
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Producer } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { pino } from 'pino';
import { SluiceClient } from '../../src/node/client.js';
import { resolveInfra } from '../../src/infra/index.js';
import { rawKafka } from '../support/raw-kafka.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const POISON = RECORDS / 2;
const PARTITIONS = 3;
const WORKERS = (process.env.BENCH_WORKERS ?? '1,3').split(',').map(Number);
const logger = pino({ level: 'silent' });

interface Rec {
  k: string;
  n: number;
}

/** When user code last threw, per job input topic. */
const thrownAt = new Map<string, number>();

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(values: number[]): { p50: number; p99: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}

/** A consumer that records each output's arrival time and Kafka timestamp, and how far it read each partition. */
async function watch(
  kafka: Kafka,
  topic: string,
): Promise<{
  seen: { arrived: number; timestamp: number }[];
  last: Map<number, number>;
  stop: () => Promise<void>;
}> {
  const seen: { arrived: number; timestamp: number }[] = [];
  const last = new Map<number, number>();
  const consumer = kafka.consumer({ groupId: `bench-watch-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  // Read through: from each fetch's last offset, which covers markers and aborted records.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    last.set(
      payload.partition,
      Math.max(last.get(payload.partition) ?? -1, Number(payload.lastOffset)),
    );
  });
  await consumer.run({
    eachMessage: ({ message }) => {
      seen.push({ arrived: Date.now(), timestamp: Number(message.timestamp) });
      return Promise.resolve();
    },
  });
  return { seen, last, stop: () => consumer.disconnect() };
}

/** Waits until the watcher has read every committed output: each partition through its last stable offset. */
async function caughtUp(env: Env, topic: string, last: Map<number, number>): Promise<void> {
  const ends = await env.admin.fetchTopicOffsets(topic); // read_committed: the last stable offsets
  await until(
    () => ends.every((e) => (last.get(e.partition) ?? -1) >= Number(e.high) - 1),
    'the outputs committed before the suspension',
  );
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The job's pipeline: a map that throws on record POISON, noting when. */
function poisoned(args: Record<string, string>) {
  return Pipeline.create()
    .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }))
    .map((r) => {
      if (r.n === POISON) {
        thrownAt.set(args.input ?? '', Date.now());
        throw new RangeError(`record ${r.n} is poisoned`);
      }
      return r;
    })
    .writeTo(Sinks.kafka<Rec>({ topic: args.output ?? '', key: (r) => r.k }));
}

interface Env {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  client: SluiceClient;
  ns: string;
}

/** A topic of `count` records numbered from `first`, keyed over ten keys, in PARTITIONS partitions. */
async function input(env: Env, topic: string, first: number, count: number): Promise<void> {
  await env.admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  for (let i = 0; i < count; i += 1_000)
    await env.producer.send({
      topic,
      messages: Array.from({ length: Math.min(1_000, count - i) }, (_, j) => {
        const n = first + i + j;
        return { key: `k${n % 10}`, value: JSON.stringify({ k: `k${n % 10}`, n }) };
      }),
    });
}

async function outputTopic(env: Env, topic: string): Promise<void> {
  await env.admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
}

/** One series: RUNS jobs with `workers` workers sharing each. */
async function series(env: Env, workers: number) {
  const toEvent: number[] = [];
  const toLastOutput: number[] = [];
  const resumeToOutput: number[] = [];
  const resumeToExact: number[] = [];
  const freshToExact: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const name = `w${workers}-${run}`;
    const [inTopic, outTopic] = [`${env.ns}.in-${name}`, `${env.ns}.out-${name}`];
    await input(env, inTopic, 1, RECORDS);
    await outputTopic(env, outTopic);
    const outputs = await watch(env.kafka, outTopic);
    const job = await env.client.submit('poisoned', {
      name: `poisoned-${name}`,
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: true,
      args: { input: inTopic, output: outTopic },
    });
    await job.join().catch(() => undefined);
    const suspendedSeen = Date.now();
    const thrown = thrownAt.get(inTopic) ?? NaN;
    toEvent.push(suspendedSeen - thrown);
    await caughtUp(env, outTopic, outputs.last);
    toLastOutput.push(Math.max(...outputs.seen.map((o) => o.timestamp)) - thrown);

    const before = outputs.seen.length;
    const resumedAt = Date.now();
    await job.resume({ failingRecord: 'SKIP' });
    await until(() => outputs.seen.length > before, 'the first output after the resume');
    resumeToOutput.push((outputs.seen[before]?.arrived ?? NaN) - resumedAt);
    await until(() => outputs.seen.length >= RECORDS - 1, 'the rest of the outputs');
    resumeToExact.push((outputs.seen.at(-1)?.arrived ?? NaN) - resumedAt);
    await job.cancel();
    await outputs.stop();

    // The same work for a fresh job: the records after the failing one.
    const [freshIn, freshOut] = [`${env.ns}.fresh-in-${name}`, `${env.ns}.fresh-out-${name}`];
    await input(env, freshIn, POISON + 1, RECORDS - POISON);
    await outputTopic(env, freshOut);
    const fresh = await watch(env.kafka, freshOut);
    const submittedAt = Date.now();
    const freshJob = await env.client.submit('poisoned', {
      name: `fresh-${name}`,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: freshIn, output: freshOut },
    });
    await until(() => fresh.seen.length >= RECORDS - POISON, 'the fresh job outputs');
    freshToExact.push((fresh.seen.at(-1)?.arrived ?? NaN) - submittedAt);
    await freshJob.cancel();
    await fresh.stop();
    process.stderr.write(
      `${workers} worker(s), run ${run + 1}/${RUNS}: throw→event ${toEvent.at(-1)} ms, throw→last output ${toLastOutput.at(-1)} ms, resume→first output ${resumeToOutput.at(-1)} ms, resume→exact ${resumeToExact.at(-1)} ms, fresh job→exact ${freshToExact.at(-1)} ms\n`,
    );
  }
  return {
    workers,
    throwToSuspendedSeenMs: summary(toEvent),
    throwToLastOutputMs: summary(toLastOutput),
    resumeToFirstOutputMs: summary(resumeToOutput),
    resumeToExactMs: summary(resumeToExact),
    freshJobToExactMs: summary(freshToExact),
  };
}

async function main(): Promise<void> {
  const infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const kafka = rawKafka('bench', infra.brokers);
  const ns = `benchfail-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  const client = await SluiceClient.connect({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    namespace: ns,
    logger,
  });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const env: Env = { kafka, admin, producer, client, ns };
  const results = [];
  for (const count of WORKERS) {
    const workers = Array.from({ length: count }, (_, i) =>
      new Worker({
        brokers: infra.brokers,
        registryUrl: infra.registryUrl,
        namespace: ns,
        logger,
        workerId: `bench-${i + 1}`,
      }).register('poisoned', poisoned),
    );
    for (const w of workers) await w.start();
    results.push(await series(env, count));
    for (const w of workers) await w.stop();
  }
  process.stdout.write(
    `${JSON.stringify(
      { runs: RUNS, records: RECORDS, partitions: PARTITIONS, guarantee: 'EXACTLY_ONCE', results },
      null,
      2,
    )}\n`,
  );
  await producer.disconnect();
  await client.close();
  const mine = (await admin.listTopics()).filter((x) => x.startsWith(`${ns}.`));
  await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
  await infra.stop();
}

await main();
