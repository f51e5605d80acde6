import { afterAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { jobGroup } from '../../src/domain/resources.js';
import { runSluice, type CliError, type LineReader } from '../support/cli.js';
import { publish } from '../support/commands.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { readAll } from '../support/records.js';
import { connectClient } from '../support/sluice.js';
import { recordFault } from './record.js';
import { committedThroughEnd, envFor, sluiceProcess, stopAll, until } from './support.js';

// Issue 14, item 6: records past a suspended job's committed offsets deleted on the real broker
// (an operator's deleteRecords, standing in for retention) before it is resumed. `sluice
// resume` must refuse at once (SLUICE_SOURCE_DATA_LOST, exit code 4); a raw ResumeJob that
// bypasses the client must not skip them either: the worker refuses to start the run and the
// job is suspended with the error, nothing written. `sluice resume --accept-data-loss` goes on
// from the earliest offset and outputs exactly the records that still exist. It uses the shared
// servers: it deletes records of its own topic only.

const PARTITIONS = 3;
const BEFORE = 300;
const AFTER = 300;
/** Partition 1 holds records n ≡ 1 (mod 3) in order: offsets 100..149 hold these after the suspension. */
const LOST = Array.from({ length: 50 }, (_, k) => BEFORE + 3 * k + 1);
const at = endpoints();

const ns = testNamespace('ret');
const input = `${ns}.in`;
const output = `${ns}.out`;
const admin = await useTopics(ns, [
  { topic: input, numPartitions: PARTITIONS },
  { topic: output, numPartitions: PARTITIONS },
]);
const kafka = kafkaClient('retention-test', at.brokers);

const children: LineReader[] = [];
afterAll(() => stopAll(children));

async function produce(from: number, count: number): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic: input,
    messages: Array.from({ length: count }, (_, i) => ({
      key: `r${from + i}`,
      value: JSON.stringify({ n: from + i }),
      partition: (from + i) % PARTITIONS,
    })),
  });
  await producer.disconnect();
}

/** The source record numbers in the sink, read_committed, sorted. */
async function outputs(): Promise<number[]> {
  return (await readAll(output, at.brokers))
    .map((m) => (JSON.parse(m.value?.toString() ?? '{}') as { n: number }).n)
    .sort((a, b) => a - b);
}

/** The job group's committed offset on each partition of the input. */
async function committed(groupId: string): Promise<string[]> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
  return (offsets?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

describe('records deleted while a job was suspended', () => {
  it('resume is refused by the CLI and, sent raw, by the worker; with --accept-data-loss the job runs every record left', async (ctx) => {
    const env = { ...envFor(at, ns), SLUICE_ISSUED_BY: 'ops-alice' };
    await sluiceProcess(['coordinator'], env, children);
    const { proc: worker } = await sluiceProcess(
      ['worker', 'test/fixtures/pipelines/json-copy.mjs', '--no-coordinator', '--worker-id', 'w1'],
      env,
      children,
    );
    const client = await connectClient(ns, 'test-user', at);

    await produce(0, BEFORE);
    const job = await client.submit('json-copy', {
      name: 'retained',
      // A data loss suspends the job whatever this says: failing it would drop its offsets.
      suspendOnFailure: false,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output },
    });
    const group = jobGroup(ns, job.id);
    await until(() => committedThroughEnd(admin, group, input), 'the first records', 90_000);
    expect(await outputs()).toEqual(Array.from({ length: BEFORE }, (_, n) => n));

    await job.suspend();
    await until(() => job.status() === 'SUSPENDED', 'the suspension');
    await produce(BEFORE, AFTER);
    // Offsets 100..149 of partition 1, after the job's committed 100: never read.
    await admin.deleteTopicRecords({ topic: input, partitions: [{ partition: 1, offset: '150' }] });

    // The CLI refuses before sending anything.
    const cliAt = Date.now();
    const refused = await runSluice(['resume', 'retained', '--json'], env);
    const cliRefusalMs = Date.now() - cliAt;
    expect(refused.code, refused.stderr).toBe(4);
    const error = (refused.json as CliError).error;
    expect(error.code).toBe('SLUICE_SOURCE_DATA_LOST');
    expect(error.message).toContain(`Records of ${input}-1 at offsets 100..149 were deleted`);
    expect(error.details).toEqual({
      job: 'retained',
      when: 'stopped',
      partitions: [{ topic: input, partition: 1, committed: '100', earliest: '150' }],
    });
    expect(job.status()).toBe('SUSPENDED');

    // A raw command, as any Kafka tool could send: the worker's check is the safety net.
    const rawAt = Date.now();
    const producer = kafka.producer();
    await producer.connect();
    await publish(producer, ns, [
      JSON.stringify({ type: 'ResumeJob', jobId: job.id, issuedBy: 'raw-tool' }),
    ]);
    await producer.disconnect();
    await until(() => job.status() === 'SUSPENDED_DUE_TO_ERROR', 'the refused start', 90_000);
    const workerRefusalMs = Date.now() - rawAt;
    const state = job.snapshot();
    const cause = state.status === 'SUSPENDED_DUE_TO_ERROR' ? state.suspensionCause : undefined;
    expect(cause?.error?.name).toBe('SLUICE_SOURCE_DATA_LOST');
    expect(cause?.error?.message).toContain(`${input}-1 at offsets 100..149`);
    // Nothing after the suspension was processed: the offsets did not move, no output came.
    expect(await committed(group)).toEqual(['100', '100', '100']);
    expect(await outputs()).toEqual(Array.from({ length: BEFORE }, (_, n) => n));

    const acceptAt = Date.now();
    const accepted = await runSluice(['resume', 'retained', '--accept-data-loss', '--json'], env);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.json).toMatchObject({ status: 'STARTING' });
    await until(() => committedThroughEnd(admin, group, input), 'the records left', 90_000);
    const acceptedRunMs = Date.now() - acceptAt;
    const all = Array.from({ length: BEFORE + AFTER }, (_, n) => n);
    const out = await outputs();
    expect(out).toEqual(all.filter((n) => !LOST.includes(n)));
    expect(new Set(out).size).toBe(out.length);

    const resumes = job
      .history()
      .filter((e): e is Extract<JobEvent, { type: 'JobResumed' }> => e.type === 'JobResumed');
    expect(resumes.map((e) => [e.issuedBy, e.acceptDataLoss])).toEqual([
      ['raw-tool', false],
      ['ops-alice', true],
    ]);
    expect(worker.stderr).toContain('records deleted while the job was stopped are skipped');
    recordFault(ctx, {
      scenario: 'deleteRecords past a suspended EO job’s committed offset, then resume',
      invariant:
        'CLI exits 4; raw resume → SUSPENDED_DUE_TO_ERROR, nothing written; accepted: exact',
      figures: {
        lostRecords: LOST.length,
        cliRefusalMs,
        workerRefusalMs,
        acceptedRunMs,
        outputs: out.length,
      },
    });
  });
});
