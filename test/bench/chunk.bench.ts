// `npm run bench:chunk`: the CPU cost per record of running a chunk through a hop's stages,
// with no Kafka: 2,000 JSON records through one `map`, 100 chunks a round, 3 rounds. Figures
// only. For scale, the same records parsed, mapped and written by a plain loop are printed
// beside it: what any consume-then-produce loop pays before Sluice adds anything.
import type { KafkaMessage } from 'kafkajs';
import type { RegistryClient } from '../../src/codec/registry.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { runChunk, type ChunkSpec } from '../../src/runtime/chunk.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Deserializer } from '../../src/runtime/serde.js';
import { StateStore } from '../../src/runtime/state-store.js';

interface Rec {
  k: string;
  n: number;
}
const CHUNK = 2_000;
const CHUNKS = 100;
const double = (r: Rec): Rec => ({ ...r, n: r.n * 2 });

const spec: ChunkSpec = {
  deserializer: new Deserializer({ format: 'json', registry: {} as RegistryClient }), // json needs no registry
  stages: Pipeline.create()
    .readFrom<Rec>(Sources.kafka({ topic: 'in' }))
    .map(double)
    .writeTo(Sinks.kafka<Rec>({ topic: 'out', key: (r) => r.k })).stages,
  outputs: [
    {
      topic: 'out',
      key: (o) => (o.value as Rec).k,
      write: (v) => Buffer.from(JSON.stringify(v)),
      internal: false,
    },
  ],
};
const messages = Array.from(
  { length: CHUNK },
  (_, i) =>
    ({
      offset: String(i),
      key: Buffer.from(`k${i % 100}`),
      headers: {},
      value: Buffer.from(JSON.stringify({ k: `k${i % 100}`, n: i })),
    }) as KafkaMessage,
);

async function perRecordMicros(run: () => unknown): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < CHUNKS; i++) await run();
  return ((performance.now() - t0) * 1000) / (CHUNK * CHUNKS);
}

const task = {
  topic: 'in',
  partition: 0,
  state: new StateStore(),
  committed: undefined,
  errorCounts: [],
};
const rounds: { chunk: number; plainLoop: number }[] = [];
for (let round = 0; round < 3; round++) {
  const chunk = await perRecordMicros(() =>
    runChunk({ spec, plan: NO_PLAN, jobId: 'bench', task, messages, stopped: () => false }),
  );
  const plainLoop = await perRecordMicros(() =>
    messages.map((m) => {
      const out = double(JSON.parse(m.value?.toString('utf8') ?? 'null') as Rec);
      return { key: out.k, value: Buffer.from(JSON.stringify(out)) };
    }),
  );
  rounds.push({ chunk: +chunk.toFixed(2), plainLoop: +plainLoop.toFixed(2) });
}
process.stdout.write(`${JSON.stringify({ microsecondsPerRecord: rounds }, null, 2)}\n`);
