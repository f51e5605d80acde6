// `npm run bench:records`: what encoding one record costs, with kafkajs's own encoder and with
// the one Sluice puts in its place (src/kafka/record.ts; the same bytes), by the headers the
// record carries: none (a sink record), Sluice's one origin header (a repartition record), and
// the four origin headers repartition records had before. 200,000 records a round, 3 rounds;
// figures only, in microseconds per record.
import '../../src/kafka/kafkajs/loader.js';
import { originHeaders } from '../../src/runtime/origin.js';
import { kafkajsModule } from '../support/kafkajs-modules.js';

type Encode = (record: {
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
  offsetDelta: number;
  timestampDelta: number;
}) => unknown;
const { original, loaded } = kafkajsModule<Encode>('protocol/recordBatch/record/v0/index.js');
const encoders = { kafkajs: original, sluice: loaded };

const RECORDS = 200_000;
const origin = (i: number) => ({
  topic: 'orders',
  partition: 1,
  offset: String(i),
  key: `k${i % 100}`,
});
const shapes: Record<string, (i: number) => Record<string, string> | undefined> = {
  noHeaders: () => undefined,
  oneOriginHeader: (i) => originHeaders(origin(i)) as Record<string, string>,
  fourOriginHeaders: (i) => ({
    'sluice-origin-topic': 'orders',
    'sluice-origin-partition': '1',
    'sluice-origin-offset': String(i),
    'sluice-origin-key': `k${i % 100}`,
  }),
};

const figures: Record<string, number[]> = {};
for (let round = 0; round < 3; round++) {
  for (const [shape, headers] of Object.entries(shapes))
    for (const [encoder, encode] of Object.entries(encoders)) {
      const records = Array.from({ length: 2_000 }, (_, i) => ({
        key: `k${i % 100}`,
        value: Buffer.from(JSON.stringify({ k: `k${i % 100}`, n: i })),
        headers: headers(i),
      }));
      const t0 = performance.now();
      for (let n = 0; n < RECORDS; n += records.length)
        records.forEach((r, i) => encode({ ...r, offsetDelta: i, timestampDelta: 0 }));
      const micros = ((performance.now() - t0) * 1000) / RECORDS;
      (figures[`${shape} ${encoder}`] ??= []).push(+micros.toFixed(2));
    }
}
process.stdout.write(`${JSON.stringify({ microsecondsPerRecord: figures }, null, 2)}\n`);
