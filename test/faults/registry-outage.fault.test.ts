import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { AvroCodec, RegistryClient } from '../../src/codec/registry.js';
import { subjectFor } from '../../src/codec/log-codec.js';
import { commandToAvro } from '../../src/codec/mapping.js';
import { loadSchema } from '../../src/codec/schemas.js';
import { jobGroup, topicNames } from '../../src/domain/resources.js';
import type { LineReader } from '../support/cli.js';
import { command } from '../support/commands.js';
import { parseProm, sample } from '../support/prom.js';
import { readAll } from '../support/records.js';
import { connectClient } from '../support/sluice.js';
import { recordFault } from './record.js';
import {
  committedThroughEnd,
  envFor,
  privateStage,
  sluiceProcess,
  stopAll,
  until,
} from './support.js';

// Issue 14, scenario 3: the schema registry is killed for 30 s and started again while an
// exactly-once job reads an Avro source and commands arrive. Its process is killed (connections
// are refused), not paused, and it comes back with its schemas (file storage). During the
// outage a producer writes records with a writer schema the worker has not fetched yet, and a
// newer client sends a command in a schema version the coordinator has not fetched yet: both
// can only be read once the registry is back. Before this issue the record suspended the job
// at once and the command was rejected for good as malformed.

const OUTAGE_MS = 30_000;
const BEFORE = 500;
const DURING = 500;

const { at, registry: registryControl, ns, input, output, kafka } = await privateStage('reg');
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

async function produce(codec: AvroCodec, from: number, count: number, extra: object = {}) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic: input,
    messages: Array.from({ length: count }, (_, i) => ({
      key: `k${(from + i) % 7}`,
      value: codec.encode({ id: from + i, v: `r${from + i}`, ...extra }),
    })),
  });
  await producer.disconnect();
}

describe('the schema registry down for 30 s', () => {
  it('an Avro job waits and stays RUNNING, a command waits and is applied; outputs exact', async (ctx) => {
    const env = envFor(at, ns);
    await sluiceProcess(['coordinator'], env, children);
    const { proc: worker, started } = await sluiceProcess(
      [
        'worker',
        'test/fixtures/pipelines/avro-copy.mjs',
        '--no-coordinator',
        '--worker-id',
        'w1',
        '--metrics-port',
        '0',
      ],
      env,
      children,
    );
    const metricsPort = started.metricsPort as number;
    const client = await connectClient(ns, 'test-user', at);

    // Both writer schemas are registered now; the worker will see V2's id first in the outage.
    const registry = new RegistryClient({ url: at.registryUrl });
    const v1 = new AvroCodec(registry, subjectFor(input), V1);
    const v2 = new AvroCodec(registry, subjectFor(input), V2);
    await v1.ready();
    await v2.ready();
    // A newer client's command schema: today's plus a field with a default (BACKWARD).
    const commandSchema = loadSchema('commands/Command');
    const nextCommands = new AvroCodec(registry, subjectFor(topicNames(ns).control), {
      ...commandSchema,
      fields: [
        ...(commandSchema.fields as object[]),
        { name: 'clientHint', type: ['null', 'string'], default: null },
      ],
    });
    await nextCommands.ready();

    await produce(v1, 1, BEFORE);
    const job = await client.submit('avro-copy', {
      name: 'through-the-outage',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output },
    });
    await until(
      async () => (await readAll(output, at.brokers)).length === BEFORE,
      'the first outputs',
    );

    const killedAt = Date.now();
    await registryControl.kill();
    await produce(v2, BEFORE + 1, DURING, { unit: 'kWh' });
    const suspend = command('SuspendJob', job.id, {});
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topicNames(ns).control,
      messages: [
        {
          key: job.id,
          value: nextCommands.encode({ ...commandToAvro(suspend), clientHint: null }),
        },
      ],
    });
    await producer.disconnect();
    await sleep(OUTAGE_MS - (Date.now() - killedAt));

    // The outage's end: nothing read past the records with the unknown schema, nothing decided.
    expect(job.status()).toBe('RUNNING');
    expect((await readAll(output, at.brokers)).length).toBe(BEFORE);
    const metrics = parseProm(
      await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    );
    const retries = sample(metrics, 'sluice_job_read_retries_total', { job_id: job.id }) ?? 0;
    expect(retries).toBeGreaterThan(0);

    await registryControl.start();
    const upAt = Date.now();
    await until(
      () => job.status() === 'SUSPENDED',
      'the suspension sent during the outage',
      90_000,
    );
    const suspendedAfterMs = Date.now() - upAt;
    const history = job.history();
    const answered = history.filter((e) => e.commandId === suspend.commandId);
    expect(answered.map((e) => e.type)).toEqual(['JobSuspended']);
    expect(history.map((e) => e.type)).not.toContain('CommandRejected');
    expect(history.map((e) => e.type)).not.toContain('JobSuspendedDueToError');

    await job.resume();
    await until(
      () => committedThroughEnd(admin, jobGroup(ns, job.id), input),
      'the job through its input',
      90_000,
    );
    const ids = (await readAll(output, at.brokers)).map(
      (m) => (JSON.parse(m.value?.toString() ?? '{}') as { id: number }).id,
    );
    expect(ids.length).toBe(BEFORE + DURING);
    expect(new Set(ids).size).toBe(BEFORE + DURING);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(BEFORE + DURING);

    // The outage is in the worker's log, as a warning with the registry's error.
    expect(worker.stderr).toContain('schema registry unavailable');
    recordFault(ctx, {
      scenario: `registry killed for ${OUTAGE_MS / 1000} s under an Avro EO job and a command`,
      invariant: 'stays RUNNING; command applied, not rejected; outputs exact',
      figures: {
        readRetries: retries,
        commandAppliedAfterRestartMs: suspendedAfterMs,
        outputs: ids.length,
      },
    });
  });
});
