// `npm run bench:control`: how the control plane's costs grow with the job log (issue 18). A
// namespace of 1,000 jobs is grown to 10,000, 100,000 and 1,000,000 events (a submit and a start
// per job, then snapshots, round-robin) through an in-process coordinator; at each size it times
// `sluice status` and `sluice jobs` (the built CLI, median of 3), a client's connect reading the
// whole log and from the checkpoint, a worker's start, and a coordinator failover. Figures only.
// BENCH_CONTROL_STEPS=10000,100000 picks other sizes.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { CommandCodec } from '../../src/codec/log-codec.js';
import { RegistryClient } from '../../src/codec/registry.js';
import { Coordinator } from '../../src/control/coordinator.js';
import { channelOf } from '../../src/domain/channels.js';
import type { Command } from '../../src/domain/commands.js';
import { compileJobConfig } from '../../src/domain/config.js';
import { coordinatorGroup, topicNames } from '../../src/domain/resources.js';
import { resolveInfra } from '../../src/infra/index.js';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { SluiceClient } from '../../src/node/client.js';
import { Worker } from '../../src/node/worker.js';
import { rawKafka } from '../support/raw-kafka.js';

const JOBS = 1_000;
const STEPS = (process.env.BENCH_CONTROL_STEPS ?? '10000,100000,1000000').split(',').map(Number);
const logger = pino({ level: 'silent' });
const run = promisify(execFile);

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return Math.round(performance.now() - t0);
}

async function main(): Promise<void> {
  const infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const ns = `ctl-${randomUUID().slice(0, 8)}`;
  const topics = topicNames(ns);
  const registry = new RegistryClient({ url: infra.registryUrl });
  const coordinator = (name: string): Coordinator =>
    new Coordinator({
      kafka: createKafka({ brokers: infra.brokers, clientId: name, logger }),
      registry,
      namespace: ns,
      logger,
      memberName: name,
    });
  let active = coordinator('c0');
  await active.start();
  const codec = new CommandCodec(registry, topics.control);
  await codec.ready();
  const kafka = rawKafka('bench-control', infra.brokers);
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();

  let commands = 0;
  let snapshot = 0;
  const base = (jobId: string) => ({ jobId, issuedBy: 'bench', at: Date.now() });
  const next = (i: number): Command => {
    const jobId = `job-${i % JOBS}`;
    if (i < JOBS)
      return {
        ...base(jobId),
        commandId: randomUUID(),
        type: 'SubmitJob',
        pipeline: 'p',
        config: compileJobConfig({ name: jobId }),
      };
    if (i < 2 * JOBS)
      return {
        ...base(jobId),
        commandId: randomUUID(),
        type: 'ReportStarted',
        worker: 'w',
        run: 1,
      };
    return {
      ...base(jobId),
      commandId: randomUUID(),
      type: 'ReportSnapshot',
      worker: 'w',
      snapshotId: `s${++snapshot}`,
      sourceOffsets: [{ topic: 'in', partition: 0, offset: String(snapshot) }],
      stateOffsets: [],
      run: 1,
    };
  };
  const admin = kafka.admin();
  await admin.connect();
  const committed = async (topic: string): Promise<boolean> => {
    const [end] = await admin.fetchTopicOffsets(topic);
    const [group] = await admin.fetchOffsets({ groupId: coordinatorGroup(ns), topics: [topic] });
    const at = group?.partitions.find((p) => p.partition === 0)?.offset;
    return end !== undefined && at !== undefined && BigInt(at) >= BigInt(end.high);
  };
  const grow = async (to: number): Promise<void> => {
    const batch = Array.from({ length: to - commands }, () => next(commands++));
    // Commands first, then the reports on them, as workers send them: a report follows the
    // event of the command it is about. Each topic is applied once the coordinator's group has
    // committed it to its end (records and their events commit in one transaction): read.
    for (const channel of ['control', 'reports'] as const) {
      const values = batch.filter((c) => channelOf(c.type) === channel).map((c) => codec.encode(c));
      if (values.length === 0) continue;
      for (let sent = 0; sent < values.length; sent += 1_000)
        await producer.send({
          topic: topics[channel],
          messages: values.slice(sent, sent + 1_000).map((value) => ({ value })),
        });
      while (!(await committed(topics[channel]))) await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 6_000)); // past a checkpoint
  };
  const env = {
    ...process.env,
    SLUICE_BROKERS: infra.brokers.join(','),
    SLUICE_REGISTRY_URL: infra.registryUrl,
    SLUICE_NAMESPACE: ns,
  };
  const cli = async (...args: string[]): Promise<number> => {
    const runs: number[] = [];
    for (let i = 0; i < 3; i++)
      runs.push(
        await timed(() =>
          run(process.execPath, ['dist/cli/main.js', ...args, '--json'], {
            env,
            maxBuffer: 1 << 28,
          }),
        ),
      );
    return median(runs);
  };
  const connect = (readFrom: 'start' | 'checkpoint') =>
    timed(async () => {
      const client = await SluiceClient.connect({
        brokers: infra.brokers,
        registryUrl: infra.registryUrl,
        namespace: ns,
        logger,
        readFrom,
      });
      await client.close();
    });

  const rows: Record<string, number>[] = [];
  for (const events of STEPS) {
    await grow(events);
    const status = await cli('status', 'job-7');
    const jobs = await cli('jobs');
    const clientFull = await connect('start');
    const clientCheckpoint = await connect('checkpoint');
    const worker = new Worker({
      brokers: infra.brokers,
      registryUrl: infra.registryUrl,
      namespace: ns,
      logger,
      coordinator: false,
      metricsPort: 0,
    });
    const workerStart = await timed(() => worker.start());
    await worker.stop();
    const standby = coordinator(`c${rows.length + 1}`);
    await standby.start();
    await new Promise((r) => setTimeout(r, 2_000));
    const t0 = performance.now();
    await active.stop();
    while (!standby.isActive()) await new Promise((r) => setTimeout(r, 20));
    const failover = Math.round(performance.now() - t0);
    active = standby;
    const row = {
      events,
      statusMs: status,
      jobsMs: jobs,
      clientConnectMs: clientFull,
      clientFromCheckpointMs: clientCheckpoint,
      workerStartMs: workerStart,
      failoverMs: failover,
      failoverEventsRead: standby.lastRebuild?.events ?? -1,
    };
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  process.stdout.write(`${JSON.stringify({ jobs: JOBS, rows }, null, 2)}\n`);
  await producer.disconnect();
  await admin.disconnect();
  await active.stop();
  await infra.stop();
}

void main();
