import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import { spawn } from 'node:child_process';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { endpoints, kafkaClient, sluiceEnv } from '../support/kafka.js';
import { ROOT } from '../support/spawn.js';
import { connectClient, freshNamespace, startCoordinator } from '../support/sluice.js';

// Every job verb of the built CLI, through --json, against a real coordinator; plus the proof
// that the log is readable with no Sluice code at all: a plain consumer and the registry.

const ns = await freshNamespace('cli');
await startCoordinator(ns);
const client = await connectClient(ns, 'worker-sim');

interface Run {
  code: number | null;
  json: unknown;
  stderr: string;
}

function sluice(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', ...args, '--json'], {
      cwd: ROOT,
      env: sluiceEnv(ns, { SLUICE_ISSUED_BY: 'cli-test' }),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, json: JSON.parse(out) as unknown, stderr: err });
      } catch {
        reject(
          new Error(`sluice ${args.join(' ')} printed no JSON (exit ${code}): ${out}\n${err}`),
        );
      }
    });
  });
}

/** Reads the job log with kafkajs and @kafkajs/confluent-schema-registry only. */
async function plainConsumerRead(count: number): Promise<Record<string, unknown>[]> {
  const registry = new SchemaRegistry({ host: endpoints().registryUrl });
  const consumer = kafkaClient().consumer(consumerConfig({ groupId: `${ns}.plain-${Date.now()}` }));
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: `${ns}.jobs`, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: ({ message }) => {
        messages.push(message);
        if (messages.length >= count) resolve();
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  const decoded: Record<string, unknown>[] = [];
  for (const m of messages)
    decoded.push((await registry.decode(m.value as Buffer)) as Record<string, unknown>);
  return decoded;
}

describe('sluice job verbs with --json', () => {
  it('drive a job through its lifecycle, each answering with parseable JSON', async () => {
    const submit = await sluice(
      'submit',
      'order-totals',
      '--name',
      'cli-job',
      '--suspend-on-failure',
      '--guarantee',
      'exactly-once',
      '--snapshot-interval',
      '5000',
      '--arg',
      'input=orders',
    );
    expect(submit.code, submit.stderr).toBe(0);
    expect(submit.json).toMatchObject({ name: 'cli-job', status: 'NOT_RUNNING' });
    const jobId = (submit.json as { jobId: string }).jobId;

    const jobs = await sluice('jobs');
    expect(jobs.json).toMatchObject([
      {
        jobId,
        name: 'cli-job',
        status: 'NOT_RUNNING',
        config: { processingGuarantee: 'EXACTLY_ONCE', args: { input: 'orders' } },
      },
    ]);
    expect(jobs.json).toHaveLength(1);

    // A worker would report these; the test plays its part through the same internal commands.
    await client.send(jobId, 'ReportStarted', { worker: 'w1' });
    await client.send(jobId, 'ReportSnapshot', {
      worker: 'w1',
      snapshotId: 'snap-1',
      sourceOffsets: [{ topic: 'orders', partition: 0, offset: '10' }],
      stateOffsets: [],
    });

    expect((await sluice('suspend', 'cli-job')).json).toEqual({
      jobId,
      name: 'cli-job',
      status: 'SUSPENDED',
    });
    const status = await sluice('status', jobId);
    expect(status.json).toMatchObject({
      jobId,
      status: 'SUSPENDED',
      suspensionCause: { requestedByUser: true, snapshotId: 'snap-1' },
    });

    expect(
      (
        await sluice(
          'update-config',
          'cli-job',
          '--snapshot-interval',
          '2000',
          '--issued-by',
          'ops-bot',
        )
      ).json,
    ).toMatchObject({ config: { snapshotIntervalMs: 2000 } });
    expect((await sluice('export-snapshot', 'cli-job', 'cli-export')).json).toMatchObject({
      snapshot: 'cli-export',
      snapshotId: 'snap-1',
      status: 'SUSPENDED',
    });
    expect((await sluice('resume', 'cli-job')).json).toMatchObject({ status: 'STARTING' });
    expect((await sluice('restart', 'cli-job')).json).toMatchObject({ status: 'STARTING' });
    expect((await sluice('cancel', 'cli-job')).json).toMatchObject({ status: 'CANCELLED' });

    const rejected = await sluice('resume', 'cli-job');
    expect(rejected.code).toBe(1);
    expect(rejected.json).toMatchObject({
      error: { code: 'SLUICE_COMMAND_REJECTED', details: { rejectionCode: 'ILLEGAL_TRANSITION' } },
    });
    expect((rejected.json as { error: { message: string } }).error.message).toMatch(/CANCELLED/);

    const unknown = await sluice('status', 'no-such-job');
    expect(unknown.code).toBe(3);
    expect(unknown.json).toMatchObject({ error: { code: 'SLUICE_JOB_NOT_FOUND' } });

    const usage = await sluice('submit', 'p', '--guarantee', 'twice');
    expect(usage.code).toBe(2);
    expect(usage.json).toMatchObject({ error: { code: 'SLUICE_USAGE' } });

    // history --json is exactly the job's events in the log, as a plain consumer decodes them.
    const history = (await sluice('history', jobId)).json as {
      eventId: string;
      seq: number;
      type: string;
      commandId: string;
      issuedBy: string;
    }[];
    expect(history.map((e) => e.type)).toEqual([
      'JobSubmitted',
      'JobStarted',
      'SnapshotCommitted',
      'JobSuspended',
      'ConfigUpdated',
      'SnapshotExportStarted',
      'SnapshotExported',
      'JobResumed',
      'JobRestarted',
      'JobCancelled',
      'CommandRejected',
    ]);
    expect(history.find((e) => e.type === 'JobSuspended')?.issuedBy).toBe('cli-test');
    // --issued-by wins over SLUICE_ISSUED_BY, for that command only.
    expect(history.find((e) => e.type === 'ConfigUpdated')?.issuedBy).toBe('ops-bot');

    const raw = (await plainConsumerRead(history.length))
      .filter((r) => r.jobId === jobId)
      .sort((a, b) => Number(a.seq) - Number(b.seq));
    expect(
      raw.map((r) => ({
        eventId: r.eventId,
        seq: Number(r.seq),
        commandId: r.commandId,
        issuedBy: r.issuedBy,
        type: Object.keys(r.payload as object)[0]?.replace('dev.sluice.events.', ''),
      })),
    ).toEqual(
      history.map((e) => ({
        eventId: e.eventId,
        seq: e.seq,
        commandId: e.commandId,
        issuedBy: e.issuedBy,
        type: e.type,
      })),
    );
  });
});
