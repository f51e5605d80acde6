/**
 * `npm run demo`, for now: an end-to-end round trip on the local infrastructure. It finds or
 * starts Kafka and the schema registry, registers an Avro schema from schemas/, produces Avro
 * records in the Confluent wire format, reads them back, and checks they match. The real demo
 * (a job suspended on a poison record, fixed and resumed) replaces this once the runtime exists.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import kafkajs, { type Kafka } from 'kafkajs';
import { resolveInfra } from '../infra/index.js';
import { packageRoot } from '../infra/paths.js';

interface Coordinates {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
}

async function main(): Promise<void> {
  const infra = await resolveInfra({ onProgress: (m) => console.error(`  ${m}`) });
  console.log(
    `Kafka ${infra.brokers.join(',')} and registry ${infra.registryUrl} (${infra.source})`,
  );
  const topic = `sluice-demo.roundtrip.${randomBytes(3).toString('hex')}`;
  const kafka = new kafkajs.Kafka({
    clientId: 'sluice-demo',
    brokers: infra.brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

    const registry = new SchemaRegistry({ host: infra.registryUrl });
    const schema = readFileSync(
      join(packageRoot(), 'schemas', 'common', 'RecordCoordinates.avsc'),
      'utf8',
    );
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema },
      { subject: `${topic}-value` },
    );
    console.log(`Registered schemas/common/RecordCoordinates.avsc as schema id ${id}`);

    const sent: Coordinates[] = Array.from({ length: 5 }, (_, i) => ({
      topic: 'orders',
      partition: i % 2,
      offset: String(1000 + i),
      key: Buffer.from(`customer-${i}`),
    }));
    const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic,
      messages: await Promise.all(sent.map(async (v) => ({ value: await registry.encode(id, v) }))),
    });
    await producer.disconnect();
    console.log(`Produced ${sent.length} Avro records to ${topic}`);

    const received = await consume(kafka, topic, sent.length, registry);
    for (const r of received) {
      console.log(
        `  read  ${r.topic}/${r.partition}@${r.offset}  key=${r.key?.toString() ?? 'null'}`,
      );
    }
    const ok = JSON.stringify(received) === JSON.stringify(sent);
    console.log(
      ok
        ? 'Round trip verified: every record came back identical.'
        : 'MISMATCH between sent and received records.',
    );
    if (!ok) process.exitCode = 1;
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
    await infra.stop();
  }
}

async function consume(
  kafka: Kafka,
  topic: string,
  count: number,
  registry: SchemaRegistry,
): Promise<Coordinates[]> {
  const consumer = kafka.consumer({ groupId: `${topic}.reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: Coordinates[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${out.length} of ${count} records arrived within 30 s`)),
        30_000,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value) out.push((await registry.decode(message.value)) as Coordinates);
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
