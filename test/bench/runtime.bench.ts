// `npm run bench:runtime`: records per second through a Sluice pipeline beside a raw kafkajs
// consume-then-produce loop over the same records, in the same run on the same broker. Figures
// only; nothing here passes or fails. BENCH_RECORDS sets the size (default 200,000: each Sluice
// run includes the job's start, submission to tasks open, which weighs heavily on a small one).
// The raw loop runs right before each pipeline, and each ratio is to that run: on this 2-core
// machine the raw loop alone varied from 38k to 53k records/s within minutes, so one raw figure
// for the whole run made later ratios drift. BENCH_ROUNDS (default 3) repeats it all; the
// figures given are medians over the rounds, with each round's ratio listed.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Kafka } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs.js';
import { pino } from 'pino';
import { SluiceClient } from '../../src/client/client.js';
import type { ProcessingGuarantee } from '../../src/domain/status.js';
import { resolveInfra } from '../../src/infra/index.js';
import { createKafka } from '../../src/kafka/connect.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/runtime/worker.js';

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

/** Resolves when `topic` holds `count` records (read_committed). */
async function drained(kafka: Kafka, topic: string, count: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-drain-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const at = await new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= count) resolve(performance.now());
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return at;
}

/** The raw loop: consume a batch, produce its records mapped, commit the offsets. */
async function rawLoop(kafka: Kafka, input: string, output: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}` });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
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
  const seconds = ((await done) - t0) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  return RECORDS / seconds;
}

async function sluiceRun(
  client: SluiceClient,
  kafka: Kafka,
  pipeline: string,
  guarantee: ProcessingGuarantee,
  input: string,
  output: string,
): Promise<number> {
  const done = drained(kafka, output, RECORDS);
  const t0 = performance.now();
  const job = await client.submit(pipeline, {
    name: `${pipeline}-${guarantee}-${randomUUID().slice(0, 6)}`,
    processingGuarantee: guarantee,
    args: { input, output },
  });
  const seconds = ((await done) - t0) / 1000;
  await job.cancel();
  return RECORDS / seconds;
}

async function main(): Promise<void> {
  const infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const kafka = createKafka({ brokers: infra.brokers, clientId: 'bench', logger });
  const ns = `benchrt-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  const t = (name: string): string => `${ns}.${name}`;
  const runs = [
    { name: 'mapAtLeastOnce', pipeline: 'double', guarantee: 'AT_LEAST_ONCE' as const },
    { name: 'mapExactlyOnce', pipeline: 'double', guarantee: 'EXACTLY_ONCE' as const },
    { name: 'keyedAggregationExactlyOnce', pipeline: 'sum', guarantee: 'EXACTLY_ONCE' as const },
  ].filter((r) => !ONLY || ONLY.includes(r.name));
  const outputs = ['raw2'];
  for (let round = 0; round < ROUNDS; round++)
    for (const r of runs) outputs.push(`raw-${r.name}-${round}`, `${r.name}-${round}`);
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

  const figures = new Map<string, { perSecond: number; rawPerSecond: number; ratio: number }[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs) {
      const raw = await rawLoop(kafka, t('in'), t(`raw-${r.name}-${round}`));
      const out = t(`${r.name}-${round}`);
      const perSecond = await sluiceRun(client, kafka, r.pipeline, r.guarantee, t('in'), out);
      const list = figures.get(r.name) ?? [];
      list.push({ perSecond, rawPerSecond: raw, ratio: perSecond / raw });
      figures.set(r.name, list);
    }
    process.stderr.write(`round ${round + 1} of ${ROUNDS} done\n`);
  }
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const summary = Object.fromEntries(
    [...figures].map(([name, list]) => [
      name,
      {
        perSecond: Math.round(median(list.map((f) => f.perSecond))),
        rawPerSecond: Math.round(median(list.map((f) => f.rawPerSecond))),
        ratio: +median(list.map((f) => f.ratio)).toFixed(2),
        ratios: list.map((f) => +f.ratio.toFixed(2)),
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
