import { rawKafka } from '../support/raw-kafka.js';

/** One record as a diagnosis needs it: where it is, who wrote it, what it holds. */
export interface SeenRecord {
  partition: number;
  offset: string;
  producerId: string;
  inTransaction: boolean;
  key: string;
  value: string;
}

/**
 * Every record of a topic, read by a plain kafkajs consumer (not Sluice's offset-range reader)
 * with the isolation asked for, for telling after a failed exactness check which hop wrote a
 * record twice and whether read_committed readers saw aborted records. Diagnosis only: it stops
 * a few seconds after the last record, which is good enough to print, never to assert.
 */
export async function inspectTopic(
  topic: string,
  brokers: string[],
  isolation: 'read_committed' | 'read_uncommitted',
): Promise<SeenRecord[]> {
  const kafka = rawKafka('sluice-inspect', brokers);
  const consumer = kafka.consumer({
    groupId: `sluice-inspect-${Math.random()}`,
    readUncommitted: isolation === 'read_uncommitted',
  });
  const seen: SeenRecord[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const context = (
            m as unknown as { batchContext?: { producerId: string; inTransaction: boolean } }
          ).batchContext;
          seen.push({
            partition: batch.partition,
            offset: m.offset,
            producerId: String(context?.producerId ?? '?'),
            inTransaction: context?.inTransaction ?? false,
            key: m.key?.toString() ?? '',
            value: m.value?.toString() ?? '',
          });
        }
        lastAt = Date.now();
        await Promise.resolve();
      },
    });
    while (Date.now() - lastAt < 5_000) await new Promise((r) => setTimeout(r, 250));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** Values seen more than once, with where: "value@partition/offset(pid)" lists, at most `limit`. */
export function repeated(
  records: SeenRecord[],
  identity: (r: SeenRecord) => string,
  limit = 20,
): string[] {
  const at = new Map<string, SeenRecord[]>();
  for (const r of records) at.set(identity(r), [...(at.get(identity(r)) ?? []), r]);
  return [...at]
    .filter(([, rs]) => rs.length > 1)
    .slice(0, limit)
    .map(
      ([id, rs]) =>
        `${id}@${rs.map((r) => `${r.partition}/${r.offset}(${r.producerId})`).join(',')}`,
    );
}
