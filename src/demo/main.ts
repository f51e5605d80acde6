/**
 * `npm run demo`: a streaming job hits a bug on one record, is suspended instead of killed,
 * and after the fix is deployed it resumes from its snapshot with an exact result.
 *
 * It finds or starts Kafka and the schema registry, writes 10,000 orders (order 5,000 has no
 * amount), runs a keyed running total with EXACTLY_ONCE and suspendOnFailure on a worker with
 * the buggy pipeline, shows the suspension cause, swaps in the fixed worker, resumes, and checks
 * every customer's total against the input.
 */
import { randomBytes } from 'node:crypto';
import { createKafka } from '../kafka/kafkajs/adapter.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Kafka } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';
import { SluiceClient } from '../node/client.js';
import { JobSuspendedError } from '../domain/job-errors.js';
import { resolveInfra } from '../infra/index.js';
import { defaultLogger } from '../observability/logger.js';
import { Worker } from '../node/worker.js';
import { startConsole, type RunningConsole } from '../console/server.js';
import type { Logger } from '../observability/logger.js';
import { buggy, fixed, type Order } from './pipelines.js';

const ORDERS = 10_000;
const POISON = 5_000;
const CUSTOMERS = 25;
const say = (m: string): void => console.log(m);

async function main(): Promise<void> {
  const started = Date.now();
  const infra = await resolveInfra({ onProgress: (m) => say(`  ${m}`) });
  say(`Kafka ${infra.brokers.join(',')}, registry ${infra.registryUrl} (${infra.source})`);
  const namespace = `demo-${randomBytes(3).toString('hex')}`;
  const input = `${namespace}.orders`;
  const output = `${namespace}.totals`;
  // The demo narrates; structured logs stay off unless asked for with SLUICE_LOG_LEVEL.
  const logger = defaultLogger({ SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'silent' });
  const kafka = createKafka({ brokers: infra.brokers, clientId: 'sluice-demo', logger });
  const workers: Worker[] = [];
  let client: SluiceClient | undefined;
  let console_: RunningConsole | undefined;
  try {
    await withAdmin(kafka, (admin) =>
      admin.createTopics([
        { topic: input, partitions: 3 },
        { topic: output, partitions: 3 },
      ]),
    );
    const expected = await writeOrders(kafka, input);
    say(`1. Wrote ${ORDERS} orders to ${input}; order ${POISON} has no amount.`);

    const v1 = new Worker({
      brokers: infra.brokers,
      registryUrl: infra.registryUrl,
      namespace,
      logger,
      workerId: 'worker-v1',
      metricsPort: 0,
    });
    // A version each: the two are the same closure over different code, which only the
    // version tells apart (see Worker.register); a resume is refused while only version 1 runs.
    v1.register('order-totals', buggy['order-totals'], { version: '1' });
    await v1.start();
    workers.push(v1);
    client = await SluiceClient.connect({
      brokers: infra.brokers,
      registryUrl: infra.registryUrl,
      namespace,
      logger,
      issuedBy: 'demo',
    });
    console_ = await openConsole(client, logger, () =>
      workers.flatMap((w) =>
        w.metricsPort === undefined ? [] : [`http://127.0.0.1:${w.metricsPort}/metrics`],
      ),
    );
    say(`   Console: ${console_.url} (open it to watch the job; it lives as long as the demo)`);
    const job = await client.submit('order-totals', {
      name: 'order-totals',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 1000,
      args: { input, output },
    });
    job.onStatusChange((c) =>
      say(`   status: ${c.previousStatus ?? '-'} -> ${c.newStatus} (${c.description})`),
    );
    say(
      `2. Submitted job ${job.name} (${job.id}) on worker-v1: EXACTLY_ONCE, suspendOnFailure=true.`,
    );

    const err = await job.join().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof JobSuspendedError))
      throw new Error(`expected the job to be suspended, got ${String(err)}`);
    const c = err.suspensionCause;
    say('3. The job was suspended, not killed. join() rejected with JobSuspendedError:');
    say(`     error   ${c.error?.name}: ${c.error?.message}`);
    say(`     stage   ${c.stage}   worker ${c.worker}`);
    say(
      `     record  ${c.record?.topic} partition ${c.record?.partition} offset ${c.record?.offset} key ${c.record?.key}`,
    );
    say(`     value   ${c.record?.valuePreview}`);
    const frozenAt = await countOutputs(kafka, output);
    await new Promise((r) => setTimeout(r, 2000));
    const stillFrozen = await countOutputs(kafka, output);
    say(
      `   ${frozenAt} totals were written before the bad record; ${stillFrozen - frozenAt} after it (the job is frozen).`,
    );

    say(
      '4. Deploying the fix: worker-v1 stops, worker-v2 (same pipeline name, fixed code) starts, then resume.',
    );
    await v1.stop();
    workers.splice(0);
    const v2 = new Worker({
      brokers: infra.brokers,
      registryUrl: infra.registryUrl,
      namespace,
      logger,
      workerId: 'worker-v2',
      metricsPort: 0,
    });
    v2.register('order-totals', fixed['order-totals'], { version: '2' });
    await v2.start();
    workers.push(v2);
    await job.resume();

    const { latest, count } = await readTotals(kafka, output, expected);
    const wrong = [...expected].filter(([k, v]) => latest.get(k) !== v);
    say(
      `5. ${count} totals written in all, one per order; ${expected.size} customers checked against the input.`,
    );
    if (wrong.length > 0 || count !== ORDERS) {
      say(`   MISMATCH: ${wrong.length} customers wrong, ${count} totals for ${ORDERS} orders.`);
      process.exitCode = 1;
    } else {
      say('   Verified: every total is exact. Nothing lost, nothing counted twice.');
    }
    await job.cancel();
    say(
      `Done in ${((Date.now() - started) / 1000).toFixed(1)} s. History: ${job
        .history()
        .map((e) => e.type)
        .join(' → ')}`,
    );
  } finally {
    for (const w of workers) await w.stop().catch(() => undefined);
    await console_?.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await withAdmin(kafka, async (admin) => {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
      if (mine.length > 0) await admin.deleteTopics(mine);
    }).catch(() => undefined);
    await infra.stop();
  }
}

/**
 * The operator console over the demo's client, reading the demo's workers' metrics, on SLUICE_DEMO_CONSOLE_PORT (default 8080; 0
 * picks a free port), or on a free port when that one is taken: the demo must run anyway.
 */
async function openConsole(
  client: SluiceClient,
  logger: Logger,
  metricsTargets: () => string[],
): Promise<RunningConsole> {
  const port = Number(process.env.SLUICE_DEMO_CONSOLE_PORT ?? 8080);
  // The demo's workers serve their metrics; the console charts them, every second.
  const parts = { client, logger, metricsTargets, metricsIntervalMs: 1000 };
  try {
    return await startConsole(parts, { port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return startConsole(parts, { port: 0 });
  }
}

async function writeOrders(kafka: Kafka, topic: string): Promise<Map<string, number>> {
  const producer = kafka.producer();
  await producer.connect();
  const expected = new Map<string, number>();
  const orders: Order[] = Array.from({ length: ORDERS }, (_, i) => ({
    id: i + 1,
    customer: `customer-${(i * 7) % CUSTOMERS}`,
    amount: i + 1 === POISON ? null : ((i * 13) % 97) + 1,
  }));
  for (const o of orders)
    expected.set(o.customer, (expected.get(o.customer) ?? 0) + (o.amount ?? 0));
  // Keyed by customer, so each customer's orders stay in one partition, in order.
  for (let i = 0; i < orders.length; i += 1000) {
    await producer.send([
      {
        topic,
        messages: orders
          .slice(i, i + 1000)
          .map((o) => ({ key: o.customer, value: JSON.stringify(o) })),
      },
    ]);
  }
  await producer.disconnect();
  return expected;
}

/** Committed outputs so far (read_committed, as any downstream reader sees them). */
async function countOutputs(kafka: Kafka, topic: string): Promise<number> {
  let count = 0;
  await readToEnd(kafka, [topic], () => count++);
  return count;
}

async function readTotals(
  kafka: Kafka,
  topic: string,
  expected: Map<string, number>,
): Promise<{ latest: Map<string, number>; count: number }> {
  const consumer = kafka.consumer({ groupId: `demo-read-${randomBytes(4).toString('hex')}` });
  const latest = new Map<string, number>();
  let count = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the totals did not arrive within 120 s')),
        120_000,
      );
      consumer
        .start({
          topics: [topic],
          autoCommit: false,
          eachBatch: ({ records, lastOffset }, control) => {
            for (const record of records) {
              count++;
              const { key, value } = JSON.parse(record.value?.toString() ?? '{}') as {
                key: string;
                value: number;
              };
              latest.set(key, value);
            }
            control.resolveOffset(lastOffset);
            if (count >= ORDERS && [...expected].every(([k, v]) => latest.get(k) === v)) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.stop();
  }
  return { latest, count };
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
