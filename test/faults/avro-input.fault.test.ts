import { afterAll, describe, expect, it } from 'vitest';
import { AvroCodec, RegistryClient } from '../../src/codec/registry.js';
import { subjectFor } from '../../src/codec/log-codec.js';
import { frame, unframe } from '../../src/codec/wire.js';
import type { JobEvent } from '../../src/domain/events.js';
import { jobGroup } from '../../src/domain/resources.js';
import type { LineReader } from '../support/cli.js';
import {
  createTopics,
  endpoints,
  kafkaClient,
  sluiceEnv,
  testNamespace,
} from '../support/kafka.js';
import { readAll } from '../support/records.js';
import { connectClient } from '../support/sluice.js';
import { recordFault } from './record.js';
import { committedThroughEnd, sluiceProcess, stopAll, until } from './support.js';

// Issue 14, scenario 10: an Avro source whose input changes under a running AT_LEAST_ONCE job.
// The producer moves to a new, compatible writer schema mid-stream: the job goes on. A record
// with a schema id the registry does not know, and one whose body does not match its schema
// id, each suspend the job with a cause naming the schema id and the record, and everything
// before the failing record is committed: the group's offset is exactly the failing record's.

const ns = testNamespace('avi');
const input = `${ns}.in`;
const output = `${ns}.out`;
const kafka = kafkaClient('avro-input-test');
await createTopics(kafka, [
  { topic: input, numPartitions: 1 },
  { topic: output, numPartitions: 1 },
]);
const admin = kafka.admin();
await admin.connect();
afterAll(() => admin.disconnect());
const children: LineReader[] = [];
afterAll(() => stopAll(children));

const record = (fields: object[]) => ({
  type: 'record',
  name: 'Reading',
  namespace: 'test',
  fields,
});
const V1 = record([
  { name: 'id', type: 'int' },
  { name: 'v', type: 'string' },
]);
const V2 = record([
  { name: 'id', type: 'int' },
  { name: 'v', type: 'string' },
  { name: 'unit', type: ['null', 'string'], default: null },
]);
const UNKNOWN_ID = 2_000_000_000;

async function send(values: Buffer[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: input, messages: values.map((value) => ({ key: 'k', value })) });
  await producer.disconnect();
}

async function committedOffset(groupId: string): Promise<string | undefined> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
  return offsets?.partitions.find((p) => p.partition === 0)?.offset;
}

describe('an Avro source whose records change under a running job', () => {
  it('goes on over a compatible writer; suspends on an unknown id and on a bad body, committed up to each', async (ctx) => {
    const env = sluiceEnv(ns);
    await sluiceProcess(['coordinator'], env, children);
    await sluiceProcess(
      ['worker', 'test/fixtures/pipelines/avro-copy.mjs', '--no-coordinator', '--worker-id', 'w1'],
      env,
      children,
    );
    const client = await connectClient(ns);
    const registry = new RegistryClient({ url: endpoints().registryUrl });
    const v1 = new AvroCodec(registry, subjectFor(input), V1);
    const v2 = new AvroCodec(registry, subjectFor(input), V2);
    const v1Id = await v1.ready();
    const v2Id = await v2.ready();
    expect(v2Id).not.toBe(v1Id);

    // Offsets 0..199 in V1, 200..399 in V2, 400 an unknown id, 401..449 V1, 450 a V1 id with a
    // truncated body, 451..499 V2.
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const good = (codec: AvroCodec, from: number, n: number) =>
      ids(from, n).map((id) =>
        codec.encode({ id, v: `r${id}`, ...(codec === v2 ? { unit: 'kWh' } : {}) }),
      );
    const truncated = v1.encode({ id: 450, v: 'a value long enough to cut' });
    await send([
      ...good(v1, 0, 200),
      ...good(v2, 200, 200),
      frame(UNKNOWN_ID, Buffer.from([2, 2])),
      ...good(v1, 401, 49),
      frame(unframe(truncated)?.schemaId ?? v1Id, truncated.subarray(5, 8)),
      ...good(v2, 451, 49),
    ]);
    const job = await client.submit('avro-copy', {
      name: 'changing-input',
      suspendOnFailure: true,
      processingGuarantee: 'AT_LEAST_ONCE',
      args: { input, output },
    });
    const group = jobGroup(ns, job.id);
    const suspensions = () =>
      job
        .history()
        .filter(
          (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
            e.type === 'JobSuspendedDueToError',
        );

    await until(
      () => suspensions().length === 1,
      'the suspension on the unknown schema id',
      90_000,
    );
    const first = suspensions()[0]?.cause;
    expect(first?.record).toMatchObject({ topic: input, partition: 0, offset: '400' });
    expect(first?.stage).toBe('source');
    expect(first?.error?.message).toContain(`Schema id ${UNKNOWN_ID} is not in the registry`);
    // AT_LEAST_ONCE: every record before the failing one committed, and not one after it.
    expect(await committedOffset(group)).toBe('400');

    await job.resume({ failingRecord: 'SKIP' });
    await until(() => suspensions().length === 2, 'the suspension on the truncated body', 90_000);
    const second = suspensions()[1]?.cause;
    expect(second?.record).toMatchObject({ topic: input, partition: 0, offset: '450' });
    expect(second?.error?.message).toContain(`does not match schema id ${v1Id}`);
    expect(await committedOffset(group)).toBe('450');

    await job.resume({ failingRecord: 'SKIP' });
    await until(
      () => committedThroughEnd(admin, group, input),
      'the job through its input',
      90_000,
    );
    // At least once: every good record is in the output; neither bad one is.
    const seen = new Set(
      (await readAll(output)).map(
        (m) => (JSON.parse(m.value?.toString() ?? '{}') as { id: number }).id,
      ),
    );
    const expected = [...ids(0, 400), ...ids(401, 49), ...ids(451, 49)];
    expect([...seen].sort((a, b) => a - b)).toEqual(expected);
    expect(job.status()).toBe('RUNNING');
    recordFault(ctx, {
      scenario: 'Avro source: writer V1→V2, an unknown schema id, a truncated body (ALO)',
      invariant: 'goes on over V2; each bad record suspends naming id + record; committed up to it',
      figures: { records: 500, suspensions: 2, outputs: seen.size },
    });
  });
});
