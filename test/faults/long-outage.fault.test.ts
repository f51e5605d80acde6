import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobEvent } from '../../src/domain/events.js';
import type { LineReader } from '../support/cli.js';
import { produceNumbers, readAll } from '../support/records.js';
import { groupStanding, jobHops, throughEnds } from '../support/job-groups.js';
import { connectClient } from '../support/sluice.js';
import { recordFault } from './record.js';
import { inspectTopic, repeated, type SeenRecord } from './inspect-topic.js';
import { jobGroup, repartitionTopic } from '../../src/domain/resources.js';
import { rawKafka } from '../support/raw-kafka.js';
import {
  countsPerKey,
  envFor,
  privateStage,
  sluiceProcess,
  stopAll,
  until,
  upTo,
} from './support.js';

// Issue 14, scenario 5: the broker is killed for longer than the workers' retry budget while an
// exactly-once job has records in flight. The job must not hang looking RUNNING: once the
// broker is back it shows SUSPENDED_DUE_TO_ERROR with a cause that names the outage, and a
// resume finishes with every output exactly once.

const BUDGET_MS = 5_000;
// Longer than the budget plus the Kafka client's own retries before it lets an error through,
// which took 10 to 20 s here: with 15 s down, the broker was once back before the first error
// reached the hop, and the job rightly carried on.
const DOWN_MS = 30_000;
const RECORDS = 30_000;

const { at, broker, ns, input, output, kafka } = await privateStage('out');
const children: LineReader[] = [];
afterAll(() => stopAll(children));

describe('the broker down for longer than the retry budget', () => {
  it('suspends the job with a cause naming the outage once the broker is back; a resume ends exact', async (ctx) => {
    const env = envFor(at, ns);
    await sluiceProcess(['coordinator'], env, children);
    await sluiceProcess(
      [
        'worker',
        'test/fixtures/pipelines/metered.mjs',
        '--no-coordinator',
        '--worker-id',
        'w1',
        '--retry-budget-ms',
        String(BUDGET_MS),
      ],
      env,
      children,
    );
    const client = await connectClient(ns, 'test-user', at);
    await produceNumbers(input, RECORDS, 10, 1, at.brokers);
    const job = await client.submit('metered', {
      name: 'long-outage',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output, poison: '-1' },
    });
    await until(async () => (await readAll(output, at.brokers)).length > 0, 'the first outputs');
    const killedAt = Date.now();
    await broker.kill();
    await sleep(DOWN_MS);
    expect(job.status()).toBe('RUNNING'); // the client cannot know better while the broker is away
    await broker.start();
    const upAt = Date.now();
    await until(() => job.status() === 'SUSPENDED_DUE_TO_ERROR', 'the suspension', 120_000);
    const suspendedAfterMs = Date.now() - upAt;
    const suspended = job
      .history()
      .find(
        (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
          e.type === 'JobSuspendedDueToError',
      );
    process.stderr.write(`[long-outage] cause: ${JSON.stringify(suspended?.cause)}\n`);
    expect(suspended?.cause.description).toMatch(
      /kept failing for \d+ s|could not open or restore/,
    );

    // Where the source hop's group and its output stood before the resume, for a diagnosis.
    const beforeResume = await standing(ns, job.id, input, at.brokers);
    await job.resume();
    await until(() => job.status() === 'RUNNING', 'RUNNING again');
    const admin = kafka.admin();
    await admin.connect();
    // Both hops through their inputs, in order: every record's count is then committed.
    const hops = jobHops(ns, job.id, input, ['count']);
    await until(() => throughEnds(admin, hops), 'both hops through their inputs', 120_000).catch(
      async (err: unknown) => {
        // Say where it stood: a suspension, a group a few offsets short, or one far behind.
        const standing = await Promise.all(
          hops.map((h) => groupStanding(admin, h.group, h.topic)),
        ).catch((e: unknown) => [`(could not read the groups: ${String(e)})`]);
        const events = job.history().map((e) => e.type);
        throw new Error(
          `${String(err)}; job ${job.status()} after ${events.join(', ')}; ${standing.join('; ')}`,
        );
      },
    );
    await admin.disconnect();
    // Every key's running count is 1..N once each: nothing lost, nothing counted twice.
    const perKey = await countsPerKey(output, at.brokers);
    for (const [key, counts] of perKey)
      if (counts.length !== RECORDS / 10)
        process.stderr.write(
          `[long-outage] ${key}: ${counts.length} counts, ${new Set(counts).size} distinct, up to ${counts.at(-1)}\n`,
        );
    if ([...perKey.values()].some((c) => c.length !== RECORDS / 10))
      await diagnose(ns, job.id, output, at.brokers, beforeResume);
    for (let k = 0; k < 10; k++) expect(perKey.get(`k${k}`), `k${k}`).toEqual(upTo(RECORDS / 10));
    recordFault(ctx, {
      scenario: `broker killed for ${DOWN_MS / 1000} s, retry budget ${BUDGET_MS / 1000} s`,
      invariant: 'suspended with a cause naming the outage, not hanging; resume exact',
      figures: { downMs: upAt - killedAt, suspendedAfterBrokerBackMs: suspendedAfterMs },
    });
  });
});

/**
 * Prints, for a count that came out wrong, which hop wrote what twice: the repartition topic's
 * repeated inputs and the output's repeated counts, read by a plain consumer both
 * read_committed and read_uncommitted, with partitions, offsets and producer ids.
 */
async function diagnose(
  ns: string,
  jobId: string,
  output: string,
  brokers: string[],
  beforeResume: string,
): Promise<void> {
  say(`before the resume: ${beforeResume}`);
  const perPartition = (rs: SeenRecord[]): string =>
    [0, 1, 2].map((p) => `p${p}: ${rs.filter((r) => r.partition === p).length}`).join(', ');
  const repartition = repartitionTopic(ns, jobId, 'count');
  for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
    const inputs = await inspectTopic(repartition, brokers, isolation);
    say(`${repartition} ${isolation}: ${inputs.length} records (${perPartition(inputs)})`);
    say(`  layout: ${layout(inputs)}`);
    say(
      `  repeated n: ${repeated(inputs, (r) => String((JSON.parse(r.value || '{}') as { n?: number }).n)).join(' ')}`,
    );
    const outs = await inspectTopic(output, brokers, isolation);
    say(`${output} ${isolation}: ${outs.length} records (${perPartition(outs)})`);
    const counts = (r: SeenRecord): string => {
      const { key, value } = JSON.parse(r.value || '{}') as { key: string; value: number };
      return `${key}=${value}`;
    };
    say(`  repeated counts: ${repeated(outs, counts).join(' ')}`);
    const over = outs.filter(
      (r) => (JSON.parse(r.value || '{}') as { value?: number }).value! > RECORDS / 10,
    );
    say(
      `  counts over ${RECORDS / 10}: ${over.length}, first ${over
        .slice(0, 3)
        .map((r) => `${counts(r)}@${r.partition}/${r.offset}(${r.producerId})`)
        .join(' ')}`,
    );
  }
}

const say = (line: string): void => void process.stderr.write(`[long-outage] ${line}\n`);

/** The source group's committed offsets, and the repartition topic's records per partition and producer, read_committed. */
async function standing(
  ns: string,
  jobId: string,
  input: string,
  brokers: string[],
): Promise<string> {
  const admin = rawKafka('sluice-inspect', brokers).admin();
  await admin.connect();
  try {
    const fetched = await admin.fetchOffsets({ groupId: jobGroup(ns, jobId), topics: [input] });
    const partitions = fetched[0]?.partitions ?? [];
    const repartition = await inspectTopic(
      repartitionTopic(ns, jobId, 'count'),
      brokers,
      'read_committed',
    );
    return `committed ${partitions.map((p) => `${p.partition}@${p.offset}`).join(' ')}; ${layout(repartition)}`;
  } catch (err) {
    return `(not read: ${String(err)})`;
  } finally {
    await admin.disconnect();
  }
}

/** Per partition, the runs of offsets each producer wrote: "p1: 0-1999(10) 2001-3999(10) ...". */
function layout(records: SeenRecord[]): string {
  const parts: string[] = [];
  for (const p of [0, 1, 2]) {
    const runs: string[] = [];
    let start: SeenRecord | undefined;
    let prev: SeenRecord | undefined;
    for (const r of records.filter((x) => x.partition === p)) {
      if (
        !prev ||
        r.producerId !== prev.producerId ||
        BigInt(r.offset) !== BigInt(prev.offset) + 1n
      ) {
        if (start && prev) runs.push(`${start.offset}-${prev.offset}(${prev.producerId})`);
        start = r;
      }
      prev = r;
    }
    if (start && prev) runs.push(`${start.offset}-${prev.offset}(${prev.producerId})`);
    parts.push(`p${p}: ${runs.join(' ')}`);
  }
  return parts.join('; ');
}
