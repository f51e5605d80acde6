// `npm run bench:runtime`: records per second through a Sluice pipeline beside a raw kafkajs
// consume-then-produce loop over the same records, in the same run on the same broker. Figures
// only; nothing here passes or fails. BENCH_RECORDS sets the size (default 200,000: each Sluice
// run includes the job's start, submission to tasks open, which weighs heavily on a small one).
// The raw loop runs right before each pipeline, and each ratio is to that run: on this 2-core
// machine the raw loop alone varied from 38k to 53k records/s within minutes, so one raw figure
// for the whole run made later ratios drift. BENCH_ROUNDS (default 3) repeats it all; the
// figures given are medians over the rounds, with each round's ratio listed. Each run is given
// end to end (its start included) and steady (first output to last), with the start apart.
// The raw loop uses kafkajs as published. Sluice replaces two of kafkajs's modules for speed
// (src/kafka/kafkajs.ts), so the raw loop also runs on that copy, and the ratio to it is given:
// what Sluice itself costs, with what its kafkajs changes give any loop taken out.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Kafka } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { stockKafkajs } from '../support/kafkajs-modules.js';
import { pino } from 'pino';
import { SluiceClient } from '../../src/node/client.js';
import type { ProcessingGuarantee } from '../../src/domain/status.js';
import { resolveInfra } from '../../src/infra/index.js';
import { rawKafka } from '../support/raw-kafka.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_ONLY=mapExactlyOnce,... runs only those pipelines (for profiling one). */
const ONLY = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
const PARTITIONS = 3;
const logger = pino({ level: 'silent' });

interface Rec {
  k: string;
  n: number;
}

/** When `topic` held its first records and all `count` of them (read_committed). */
interface Drained {
  first: number;
  /** How many records the first batch read held. */
  firstBatch: number;
  last: number;
}

async function drained(kafka: Kafka, topic: string, count: number): Promise<Drained> {
  const consumer = kafka.consumer({ groupId: `bench-drain-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first: { at: number; count: number } | undefined;
  const at = await new Promise<Drained>((resolve) => {
    void consumer.run({
      eachBatch: ({ batch }) => {
        seen += batch.messages.length;
        first ??= { at: performance.now(), count: seen };
        if (seen >= count)
          resolve({ first: first.at, firstBatch: first.count, last: performance.now() });
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return at;
}

/** A run's figures: end to end from its start, and steady from its first output on. */
interface Rate {
  perSecond: number;
  steadyPerSecond: number;
  startMs: number;
}

function rate(t0: number, d: Drained): Rate {
  return {
    perSecond: RECORDS / ((d.last - t0) / 1000),
    steadyPerSecond: (RECORDS - d.firstBatch) / ((d.last - d.first) / 1000),
    startMs: d.first - t0,
  };
}

/** kafkajs as published (the raw baseline), and as Sluice loads it (see src/kafka/kafkajs.ts). */
const kafkajsCopies = { stock: stockKafkajs(), sluice: kafkajs };

/**
 * The raw loop: consume a batch, produce its records mapped, commit the offsets; with a client
 * of the given kafkajs copy. `drained` watches the output with Sluice's client either way.
 */
async function rawLoop(
  copy: keyof typeof kafkajsCopies,
  kafka: Kafka,
  brokers: string[],
  input: string,
  output: string,
): Promise<Rate> {
  const lib = kafkajsCopies[copy];
  const client = new lib.Kafka({
    clientId: `bench-raw-${copy}`,
    brokers,
    logLevel: lib.logLevel.NOTHING,
  });
  const consumer = client.consumer({ groupId: `bench-raw-${randomUUID()}` });
  const producer = client.producer({ createPartitioner: lib.Partitioners.DefaultPartitioner });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const done = drained(kafka, output, RECORDS);
  const t0 = performance.now();
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (let i = 0; i < batch.messages.length; i += 500) {
        const chunk = batch.messages.slice(i, i + 500);
        await producer.send({
          topic: output,
          messages: chunk.map((m) => {
            const r = JSON.parse(m.value?.toString() ?? '{}') as Rec;
            return { key: m.key, value: JSON.stringify({ ...r, n: r.n * 2 }) };
          }),
        });
      }
    },
  });
  const figures = rate(t0, await done);
  await consumer.disconnect();
  await producer.disconnect();
  return figures;
}

async function sluiceRun(
  client: SluiceClient,
  kafka: Kafka,
  pipeline: string,
  guarantee: ProcessingGuarantee,
  input: string,
  output: string,
): Promise<Rate> {
  const done = drained(kafka, output, RECORDS);
  const t0 = performance.now();
  const job = await client.submit(pipeline, {
    name: `${pipeline}-${guarantee}-${randomUUID().slice(0, 6)}`,
    processingGuarantee: guarantee,
    args: { input, output },
  });
  const figures = rate(t0, await done);
  await job.cancel();
  return figures;
}

async function main(): Promise<void> {
  const infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const kafka = rawKafka('bench', infra.brokers);
  const ns = `benchrt-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  const t = (name: string): string => `${ns}.${name}`;
  const runs = [
    { name: 'mapAtLeastOnce', pipeline: 'double', guarantee: 'AT_LEAST_ONCE' as const },
    { name: 'mapExactlyOnce', pipeline: 'double', guarantee: 'EXACTLY_ONCE' as const },
    { name: 'keyedAggregationExactlyOnce', pipeline: 'sum', guarantee: 'EXACTLY_ONCE' as const },
  ].filter((r) => !ONLY || ONLY.includes(r.name));
  const outputs = ['raw2', 'warm-stock', 'warm-sluice'];
  for (let round = 0; round < ROUNDS; round++)
    for (const r of runs)
      outputs.push(`raw-${r.name}-${round}`, `rawsk-${r.name}-${round}`, `${r.name}-${round}`);
  await admin.createTopics({
    topics: [t('in'), ...outputs.map(t)].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    waitForLeaders: true,
  });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < RECORDS; i += 1000) {
    await producer.send({
      topic: t('in'),
      messages: Array.from({ length: Math.min(1000, RECORDS - i) }, (_, j) => ({
        key: `k${(i + j) % 100}`,
        value: JSON.stringify({ k: `k${(i + j) % 100}`, n: i + j }),
      })),
    });
  }
  await producer.disconnect();

  const worker = new Worker({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    namespace: ns,
    logger,
    workerId: 'bench',
  })
    .register('double', (args) =>
      Pipeline.create()
        .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }))
        .map((r) => ({ ...r, n: r.n * 2 }))
        .writeTo(Sinks.kafka<Rec>({ topic: args.output ?? '', key: (r) => r.k })),
    )
    .register('sum', (args) =>
      Pipeline.create()
        .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }))
        .groupingKey((r) => r.k)
        .aggregate({ name: 'sum', init: () => 0, add: (s, r) => s + r.n })
        .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
    );
  await worker.start();
  const client = await SluiceClient.connect({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    namespace: ns,
    logger,
  });
  await client
    .submit('double', { name: 'warmup', args: { input: t('in'), output: t('raw2') } })
    .then((j) => j.cancel());
  // Both kafkajs copies run once before anything is measured, as Sluice's warm-up job does.
  for (const copy of ['stock', 'sluice'] as const)
    await rawLoop(copy, kafka, infra.brokers, t('in'), t(`warm-${copy}`));

  type Run = { sluice: Rate; raw: Rate; rawOnSluiceKafkajs: Rate };
  const figures = new Map<string, Run[]>();
  const brokers = infra.brokers;
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs) {
      const raw = await rawLoop('stock', kafka, brokers, t('in'), t(`raw-${r.name}-${round}`));
      const rawOnSluiceKafkajs = await rawLoop(
        'sluice',
        kafka,
        brokers,
        t('in'),
        t(`rawsk-${r.name}-${round}`),
      );
      const out = t(`${r.name}-${round}`);
      const sluice = await sluiceRun(client, kafka, r.pipeline, r.guarantee, t('in'), out);
      figures.set(r.name, [...(figures.get(r.name) ?? []), { sluice, raw, rawOnSluiceKafkajs }]);
    }
    process.stderr.write(`round ${round + 1} of ${ROUNDS} done\n`);
  }
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const med = (list: Run[], f: (run: Run) => number, digits = 0): number =>
    +median(list.map(f)).toFixed(digits);
  const summary = Object.fromEntries(
    [...figures].map(([name, list]) => [
      name,
      {
        // End to end: submission (or the raw loop's start) to the last output.
        perSecond: med(list, (f) => f.sluice.perSecond),
        rawPerSecond: med(list, (f) => f.raw.perSecond),
        ratio: med(list, (f) => f.sluice.perSecond / f.raw.perSecond, 2),
        ratios: list.map((f) => +(f.sluice.perSecond / f.raw.perSecond).toFixed(2)),
        // Steady: from the first output to the last, without the start.
        steadyPerSecond: med(list, (f) => f.sluice.steadyPerSecond),
        rawSteadyPerSecond: med(list, (f) => f.raw.steadyPerSecond),
        steadyRatio: med(list, (f) => f.sluice.steadyPerSecond / f.raw.steadyPerSecond, 2),
        // The raw loop on kafkajs as Sluice loads it: what Sluice's kafkajs changes give any loop.
        rawOnSluiceKafkajsPerSecond: med(list, (f) => f.rawOnSluiceKafkajs.perSecond),
        ratioToRawOnSluiceKafkajs: med(
          list,
          (f) => f.sluice.perSecond / f.rawOnSluiceKafkajs.perSecond,
          2,
        ),
        // Start: submission to the first output (a job's start, the tasks' opening).
        startMs: med(list, (f) => f.sluice.startMs),
        rawStartMs: med(list, (f) => f.raw.startMs),
      },
    ]),
  );
  process.stdout.write(
    `${JSON.stringify({ records: RECORDS, partitions: PARTITIONS, rounds: ROUNDS, ...summary }, null, 2)}\n`,
  );
  await client.close();
  await worker.stop();
  const mine = (await admin.listTopics()).filter((x) => x.startsWith(`${ns}.`));
  await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
  await infra.stop();
}

await main();
