// `npm run bench:failure`: how fast a failure becomes a suspension, and a resume becomes output.
// Over BENCH_RUNS jobs (default 20), each `EXACTLY_ONCE` with `suspendOnFailure`, whose user
// code throws on one record in the middle of its input, it measures:
// - throw → event: from the throw to a client seeing `SUSPENDED_DUE_TO_ERROR` (an upper bound
//   on the append of `JobSuspendedDueToError`: the client reads the job log like any reader);
// - throw → last output: from the throw to the Kafka timestamp of the job's last output (the
//   failure snapshot commits the outputs of the records before the failing one);
// - resume → first output: from `resume --skip-failing-record` to the first new output read.
// The worker, client and coordinator run in this process, so the clocks are one clock.
// Figures only; nothing here passes or fails.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { pino } from 'pino';
import { SluiceClient } from '../../src/node/client.js';
import { resolveInfra } from '../../src/infra/index.js';
import { rawKafka } from '../support/raw-kafka.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const RECORDS = 400;
const POISON = 200;
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

/** A consumer that records each output's arrival time and Kafka timestamp. */
async function watch(
  kafka: Kafka,
  topic: string,
): Promise<{ seen: { arrived: number; timestamp: number }[]; stop: () => Promise<void> }> {
  const seen: { arrived: number; timestamp: number }[] = [];
  const consumer = kafka.consumer({ groupId: `bench-watch-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      seen.push({ arrived: Date.now(), timestamp: Number(message.timestamp) });
      return Promise.resolve();
    },
  });
  return { seen, stop: () => consumer.disconnect() };
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function main(): Promise<void> {
  const infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const kafka = rawKafka('bench', infra.brokers);
  const ns = `benchfail-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  const worker = new Worker({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    namespace: ns,
    logger,
    workerId: 'bench',
  }).register('poisoned', (args) =>
    Pipeline.create()
      .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }))
      .map((r) => {
        if (r.n === POISON) {
          thrownAt.set(args.input ?? '', Date.now());
          throw new RangeError(`record ${r.n} is poisoned`);
        }
        return r;
      })
      .writeTo(Sinks.kafka<Rec>({ topic: args.output ?? '', key: (r) => r.k })),
  );
  await worker.start();
  const client = await SluiceClient.connect({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    namespace: ns,
    logger,
  });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();

  const toEvent: number[] = [];
  const toLastOutput: number[] = [];
  const resumeToOutput: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const input = `${ns}.in-${run}`;
    const output = `${ns}.out-${run}`;
    await admin.createTopics({
      topics: [input, output].map((topic) => ({ topic, numPartitions: 1 })),
      waitForLeaders: true,
    });
    await producer.send({
      topic: input,
      messages: Array.from({ length: RECORDS }, (_, i) => ({
        key: `k${i % 10}`,
        value: JSON.stringify({ k: `k${i % 10}`, n: i + 1 }),
      })),
    });
    const outputs = await watch(kafka, output);
    const job = await client.submit('poisoned', {
      name: `poisoned-${run}`,
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: true,
      args: { input, output },
    });
    await job.join().catch(() => undefined);
    const suspendedSeen = Date.now();
    const thrown = thrownAt.get(input) ?? NaN;
    await until(() => outputs.seen.length >= POISON - 1, 'the failure snapshot outputs');
    toEvent.push(suspendedSeen - thrown);
    toLastOutput.push(Math.max(...outputs.seen.map((o) => o.timestamp)) - thrown);

    const before = outputs.seen.length;
    const resumedAt = Date.now();
    await job.resume({ failingRecord: 'SKIP' });
    await until(() => outputs.seen.length > before, 'the first output after the resume');
    resumeToOutput.push((outputs.seen[before]?.arrived ?? NaN) - resumedAt);
    await until(() => outputs.seen.length >= RECORDS - 1, 'the rest of the outputs');
    await job.cancel();
    await outputs.stop();
    process.stderr.write(
      `run ${run + 1}/${RUNS}: throw→event ${toEvent.at(-1)} ms, throw→last output ${toLastOutput.at(-1)} ms, resume→first output ${resumeToOutput.at(-1)} ms\n`,
    );
  }
  process.stdout.write(
    `${JSON.stringify(
      {
        runs: RUNS,
        guarantee: 'EXACTLY_ONCE',
        throwToSuspendedSeenMs: summary(toEvent),
        throwToLastOutputMs: summary(toLastOutput),
        resumeToFirstOutputMs: summary(resumeToOutput),
      },
      null,
      2,
    )}\n`,
  );
  await producer.disconnect();
  await client.close();
  await worker.stop();
  const mine = (await admin.listTopics()).filter((x) => x.startsWith(`${ns}.`));
  await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
  await infra.stop();
}

await main();
