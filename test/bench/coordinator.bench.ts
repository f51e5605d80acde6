// `npm run bench:coordinator`: commands per second through the coordinator, and command-to-event
// latency p50/p99, each beside a raw kafkajs loop doing the same Kafka work in the same run
// (consume a control record, append one record and commit the offset in a transaction, read it
// back). Figures only; nothing here passes or fails.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Kafka, Producer } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { pino } from 'pino';
import { SluiceClient } from '../../src/node/client.js';
import { CommandCodec, EventCodec } from '../../src/codec/log-codec.js';
import { RegistryClient } from '../../src/codec/registry.js';
import { Coordinator } from '../../src/control/coordinator.js';
import { topicNames } from '../../src/domain/resources.js';
import type { Command } from '../../src/domain/commands.js';
import { channelOf } from '../../src/domain/channels.js';
import { compileJobConfig } from '../../src/domain/config.js';
import { resolveInfra } from '../../src/infra/index.js';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import { rawKafka } from '../support/raw-kafka.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 300); // × 10 commands each
/**
 * Ended jobs (a submit and a cancel each) in a second namespace before the same workload runs
 * there: the coordinator's throughput must not fall as jobs accumulate (issue 18).
 */
const ENDED_JOBS = Number(process.env.BENCH_ENDED_JOBS ?? 50_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const logger = pino({ level: 'silent' });

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function commands(jobId: string, i: number): Command[] {
  const base = { jobId, issuedBy: 'bench', at: Date.now() };
  const id = () => randomUUID();
  const config = compileJobConfig({ name: `bench-${i}` });
  return [
    { ...base, commandId: id(), type: 'SubmitJob', pipeline: 'p', config },
    { ...base, commandId: id(), type: 'ReportStarted', worker: 'w' },
    {
      ...base,
      commandId: id(),
      type: 'ReportSnapshot',
      worker: 'w',
      snapshotId: `${jobId}-1`,
      sourceOffsets: [],
      stateOffsets: [],
    },
    { ...base, commandId: id(), type: 'SuspendJob' },
    { ...base, commandId: id(), type: 'UpdateConfig', delta: { snapshotIntervalMs: 2000 } },
    {
      ...base,
      commandId: id(),
      type: 'ResumeJob',
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      acceptDataLoss: false,
      force: false,
    },
    { ...base, commandId: id(), type: 'ReportStarted', worker: 'w' },
    { ...base, commandId: id(), type: 'ExportSnapshot', name: `${jobId}-x`, copy: null },
    { ...base, commandId: id(), type: 'RestartJob' },
    { ...base, commandId: id(), type: 'CancelJob' },
  ];
}

/** Waits until `topic` holds `count` records (read_committed), returning when the last arrived. */
async function drain(
  kafka: Kafka,
  topic: string,
  count: number,
  onRecord?: (value: Buffer | null) => void,
): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-drain-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) onRecord?.(m.value);
        seen += batch.messages.length;
        if (seen >= count) resolve(performance.now());
        return Promise.resolve();
      },
    });
  });
  const at = await done;
  await consumer.disconnect();
  return at;
}

/** The raw loop: consume, append one record per command in a transaction with the offsets. */
async function rawLoop(kafka: Kafka, input: string, output: string): Promise<() => Promise<void>> {
  const group = `bench-raw-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId: group });
  const producer = kafka.producer({
    transactionalId: `bench-raw-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      for (let i = 0; i < batch.messages.length; i += 500) {
        const chunk = batch.messages.slice(i, i + 500);
        const tx = await producer.transaction();
        await tx.send({
          topic: output,
          messages: chunk.map((m) => ({ key: m.key, value: m.value })),
        });
        const last = chunk[chunk.length - 1];
        if (!last) continue;
        await tx.sendOffsets({
          consumerGroupId: group,
          topics: [
            {
              topic: input,
              partitions: [
                { partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
              ],
            },
          ],
        });
        await tx.commit();
        resolveOffset(last.offset);
      }
    },
  });
  return async () => {
    await consumer.disconnect();
    await producer.disconnect();
  };
}

interface Measured {
  coordinator: Coordinator;
  client: SluiceClient;
  ordered: Buffer[];
  total: number;
  seconds: number;
}

/**
 * A coordinator on `ns`, after `ended` jobs were submitted and cancelled there: the time from
 * publishing the workload (JOBS × 10 commands) to its last event in the log.
 */
async function sluiceThroughput(
  infra: { brokers: string[]; registryUrl: string },
  kafka: Kafka,
  producer: Producer,
  registry: RegistryClient,
  ns: string,
  ended: number,
): Promise<Measured> {
  const topics = topicNames(ns);
  const coordinator = new Coordinator({
    kafka: createKafka({ brokers: infra.brokers, clientId: 'bench-coordinator', logger }),
    registry,
    namespace: ns,
    logger,
  });
  await coordinator.start();
  const client = await SluiceClient.connect({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    namespace: ns,
    logger,
  });
  const codec = new CommandCodec(registry, topics.control);
  await codec.ready();
  // Warm-up: the coordinator is elected and has rebuilt before timing starts.
  await client.submit('p', { name: 'warmup' });
  let before = 1;
  if (ended > 0) {
    const started = performance.now();
    const preload = Array.from({ length: ended }, (_, i) => {
      const base = { jobId: `e${i}`, issuedBy: 'bench', at: Date.now() };
      return [
        codec.encode({
          ...base,
          commandId: randomUUID(),
          type: 'SubmitJob',
          pipeline: 'p',
          config: compileJobConfig({ name: `ended-${i}` }),
        }),
        codec.encode({ ...base, commandId: randomUUID(), type: 'CancelJob' }),
      ];
    }).flat();
    const loaded = drain(kafka, topics.jobs, preload.length + before);
    for (let i = 0; i < preload.length; i += 1000)
      await producer.send({
        topic: topics.control,
        messages: preload.slice(i, i + 1000).map((value) => ({ value })),
      });
    await loaded;
    before += preload.length;
    process.stderr.write(
      `preloaded ${ended} ended jobs (${preload.length} commands) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    // The namespace at rest: the checkpoint of the jobs just loaded (every 5 s; a few seconds
    // for 50,000 jobs, during which commands wait) is written before the workload is timed.
    await new Promise((r) => setTimeout(r, 15_000));
  }
  const all = Array.from({ length: JOBS }, (_, i) => commands(`b${i}`, i)).flatMap(
    (cmds, _i, arr) => cmds.map((c, r) => ({ c, r, n: arr.length })),
  );
  // Round-major order: every job's first command, then every job's second, and so on.
  const sorted = all.sort((x, y) => x.r - y.r);
  const ordered = sorted.map((x) => codec.encode(x.c));
  // Reports go to their own topic (issue 15), as a worker sends them.
  const isReport = sorted.map((x) => channelOf(x.c.type) === 'reports');
  const total = ordered.length;
  // Publish everything, time until every command's event is in the log.
  const values: Buffer[] = [];
  const drained = drain(kafka, topics.jobs, total + before, (v) => void (v && values.push(v)));
  const t0 = performance.now();
  for (let i = 0; i < ordered.length; i += 500) {
    const chunk = ordered.slice(i, i + 500).map((value, j) => ({ value, j: i + j }));
    await producer.sendBatch({
      topicMessages: [
        { topic: topics.control, messages: chunk.filter((m) => !isReport[m.j]) },
        { topic: topics.reports, messages: chunk.filter((m) => isReport[m.j]) },
      ].map((t) => ({ ...t, messages: t.messages.map(({ value }) => ({ value })) })),
    });
  }
  const seconds = ((await drained) - t0) / 1000;
  // Commands and reports are read from two topics: one read before the command it follows is
  // refused (a worker would not send it before reading that command's event). Counted, so
  // the figure says what it measured.
  const events = new EventCodec(registry, topics.jobs);
  let rejected = 0;
  for (const v of values) if ((await events.decode(v)).type === 'CommandRejected') rejected++;
  process.stderr.write(`${ns}: ${rejected} of ${total + before} events were rejections\n`);
  return { coordinator, client, ordered, total, seconds };
}

/**
 * A failover in the namespace of ended jobs: a standby joins, the active coordinator stops (after
 * its checkpoint interval, so one is written), and the standby's time to take over is measured,
 * with what its rebuild read: jobs from the checkpoint, events from the log's tail.
 */
async function failoverOf(
  infra: { brokers: string[]; registryUrl: string },
  registry: RegistryClient,
  active: Coordinator,
  ns: string,
): Promise<{
  standby: Coordinator;
  takeoverMs: number;
  checkpointed: number;
  eventsRead: number;
  toJSON: () => object;
}> {
  const standby = new Coordinator({
    kafka: createKafka({ brokers: infra.brokers, clientId: 'bench-standby', logger }),
    registry,
    namespace: ns,
    logger,
  });
  await standby.start();
  await new Promise((r) => setTimeout(r, 6_000)); // past a checkpoint interval
  const t0 = performance.now();
  await active.stop();
  while (!standby.isActive()) await new Promise((r) => setTimeout(r, 20));
  const takeoverMs = Math.round(performance.now() - t0);
  const rebuilt = standby.lastRebuild;
  const checkpointed = rebuilt?.checkpointed ?? 0;
  const eventsRead = rebuilt?.events ?? 0;
  return {
    standby,
    takeoverMs,
    checkpointed,
    eventsRead,
    toJSON: () => ({ takeoverMs, checkpointed, eventsRead }),
  };
}

async function main(): Promise<void> {
  const infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const kafka = rawKafka('bench', infra.brokers);
  const registry = new RegistryClient({ url: infra.registryUrl });
  const ns = `bench-${randomUUID().slice(0, 8)}`;
  const topics = topicNames(ns);
  const admin = kafka.admin();
  await admin.connect();
  const rawIn = `${ns}.raw-in`;
  const rawOut = `${ns}.raw-out`;
  await admin.createTopics({ topics: [{ topic: rawIn }, { topic: rawOut }], waitForLeaders: true });

  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const empty = await sluiceThroughput(infra, kafka, producer, registry, ns, 0);
  const full = await sluiceThroughput(infra, kafka, producer, registry, `${ns}-ended`, ENDED_JOBS);
  const failover = await failoverOf(infra, registry, full.coordinator, `${ns}-ended`);
  const { client, coordinator, ordered, total } = empty;
  const sluiceSeconds = empty.seconds;

  // Raw kafkajs: the same records through the same kind of transactional loop.
  const stopRaw = await rawLoop(kafka, rawIn, rawOut);
  const rawDrained = drain(kafka, rawOut, total);
  const t1 = performance.now();
  for (let i = 0; i < ordered.length; i += 500)
    await producer.send({
      topic: rawIn,
      messages: ordered.slice(i, i + 500).map((value) => ({ value })),
    });
  const rawSeconds = ((await rawDrained) - t1) / 1000;

  // Latency: one command at a time, from send to its event read back.
  const job = await client.submit('p', { name: 'latency' });
  await client.send(job.id, 'ReportStarted', { worker: 'w' });
  const sluiceLat: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const s = performance.now();
    await client.send(job.id, 'ReportSnapshot', {
      worker: 'w',
      snapshotId: `l${i}`,
      sourceOffsets: [],
      stateOffsets: [],
    });
    sluiceLat.push(performance.now() - s);
  }
  const rawLat: number[] = [];
  const pending = new Map<string, () => void>();
  const follower = kafka.consumer({ groupId: `bench-lat-${randomUUID()}` });
  await follower.connect();
  await follower.subscribe({ topic: rawOut, fromBeginning: false });
  await follower.run({
    eachMessage: ({ message }) => {
      pending.get(message.key?.toString() ?? '')?.();
      return Promise.resolve();
    },
  });
  await new Promise((r) => setTimeout(r, 2000)); // let the follower join before sampling
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const key = randomUUID();
    const s = performance.now();
    const seen = new Promise<void>((r) => pending.set(key, r));
    await producer.send({ topic: rawIn, messages: [{ key, value: ordered[0] ?? null }] });
    await seen;
    pending.delete(key);
    rawLat.push(performance.now() - s);
  }

  sluiceLat.sort((a, b) => a - b);
  rawLat.sort((a, b) => a - b);
  const result = {
    commands: total,
    failover,
    throughput: {
      sluicePerSecond: Math.round(total / sluiceSeconds),
      withEndedJobs: {
        endedJobs: ENDED_JOBS,
        sluicePerSecond: Math.round(total / full.seconds),
        ratioToEmpty: +(sluiceSeconds / full.seconds).toFixed(2),
      },
      rawPerSecond: Math.round(total / rawSeconds),
      ratio: +(rawSeconds / sluiceSeconds).toFixed(2),
    },
    latencyMs: {
      sluice: { p50: +pct(sluiceLat, 50).toFixed(1), p99: +pct(sluiceLat, 99).toFixed(1) },
      raw: { p50: +pct(rawLat, 50).toFixed(1), p99: +pct(rawLat, 99).toFixed(1) },
      ratioP50: +(pct(sluiceLat, 50) / pct(rawLat, 50)).toFixed(2),
      ratioP99: +(pct(sluiceLat, 99) / pct(rawLat, 99)).toFixed(2),
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

  await follower.disconnect();
  await stopRaw();
  await producer.disconnect();
  await client.close();
  await coordinator.stop();
  await full.client.close();
  await failover.standby.stop();
  await admin
    .deleteTopics({ topics: [rawIn, rawOut, topics.control, topics.jobs] })
    .catch(() => undefined);
  await admin.disconnect();
  await infra.stop();
}

await main();
