// `npm run bench:transactions`: the time one kafkajs transaction takes (500 records, the
// offsets, the commit; one after the other on one partition), with the client's send retry
// and with Sluice's (SEND_RETRY in src/kafka/kafkajs/producer.ts), alternating, in the same run on the
// same broker. Figures only; nothing here passes or fails. BENCH_TRANSACTIONS sets how many
// transactions each round runs (default 40), BENCH_ROUNDS how many rounds (default 3).
import { performance } from 'node:perf_hooks';
import type { ProducerConfig } from 'kafkajs';
import { resolveInfra } from '../../src/infra/index.js';
import { CLIENT_RETRY } from '../../src/kafka/kafkajs/adapter.js';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { initTransactions, producerConfig } from '../../src/kafka/kafkajs/producer.js';

const TRANSACTIONS = Number(process.env.BENCH_TRANSACTIONS ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RECORDS = 500; // the runtime's records per commit

const infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
const kafka = new kafkajs.Kafka({
  brokers: infra.brokers,
  clientId: 'bench-transactions',
  logLevel: kafkajs.logLevel.NOTHING,
  retry: CLIENT_RETRY, // the client's retry, as Sluice's adapter sets it
});
const topic = `bench-transactions-${Date.now()}`;
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

/** Milliseconds per transaction, over TRANSACTIONS of them on a fresh producer. */
async function perTransaction(label: string, config: ProducerConfig): Promise<number> {
  const producer = kafka.producer(config);
  await initTransactions(producer);
  const started = performance.now();
  for (let n = 0; n < TRANSACTIONS; n++) {
    const tx = await producer.transaction();
    const messages = Array.from({ length: RECORDS }, (_, i) => ({ value: `${label} ${n} ${i}` }));
    await tx.sendBatch({ topicMessages: [{ topic, messages }] });
    await tx.sendOffsets({
      consumerGroupId: `${topic}-group`,
      topics: [{ topic, partitions: [{ partition: 0, offset: String(n + 1) }] }],
    });
    await tx.commit();
  }
  const ms = (performance.now() - started) / TRANSACTIONS;
  await producer.disconnect();
  return ms;
}

const clientRetry: number[] = [];
const sluiceRetry: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const id = (kind: string) => `${topic}-${kind}-${round}`;
  // The client's retry settings (a first retry after 200 ms): what a producer gets with no `retry`.
  const withoutRetry = { ...producerConfig({ transactionalId: id('client') }), retry: undefined };
  clientRetry.push(await perTransaction('client', withoutRetry));
  sluiceRetry.push(
    await perTransaction('sluice', producerConfig({ transactionalId: id('sluice') })),
  );
  process.stderr.write(`round ${round + 1} of ${ROUNDS} done\n`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fixed = (xs: number[]) => xs.map((x) => +x.toFixed(1));
process.stdout.write(
  `${JSON.stringify(
    {
      recordsPerTransaction: RECORDS,
      transactionsPerRound: TRANSACTIONS,
      msPerTransaction: {
        clientSendRetry: { rounds: fixed(clientRetry), median: +median(clientRetry).toFixed(1) },
        sluiceSendRetry: { rounds: fixed(sluiceRetry), median: +median(sluiceRetry).toFixed(1) },
      },
      ratio: +(median(sluiceRetry) / median(clientRetry)).toFixed(2),
    },
    null,
    2,
  )}\n`,
);
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();
await infra.stop();
