import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/apply.js';
import { CommandRejectedError } from '../../src/domain/job-errors.js';
import { jobGroup, repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import type { LineReader } from '../support/cli.js';
import { createTopics, kafkaClient, sluiceEnv, testNamespace } from '../support/kafka.js';
import { produceNumbers } from '../support/records.js';
import { connectClient } from '../support/sluice.js';
import { recordFault } from './record.js';
import {
  committedThroughEnd,
  countsPerKey,
  exited,
  sluiceProcess,
  stopAll,
  until,
  upTo,
} from './support.js';

// Issue 14, scenario 8: races. A worker killed in the middle of the drain that follows a
// failure (so its failure report is never sent), twice in a row; and suspend and resume sent
// at the same moment from two clients, again and again. (A report of a run that a resume has
// replaced is refused as STALE_REPORT: test/runtime/stale-report.int.test.ts sends one late.)

const KEYS = 10;
const children: LineReader[] = [];
afterAll(() => stopAll(children));

async function stage(prefix: string) {
  const ns = testNamespace(prefix);
  const input = `${ns}.in`;
  const output = `${ns}.out`;
  const kafka = kafkaClient(`${prefix}-test`);
  await createTopics(kafka, [
    { topic: input, numPartitions: 3 },
    { topic: output, numPartitions: 3 },
  ]);
  const admin = kafka.admin();
  await admin.connect();
  afterAll(() => admin.disconnect());
  const env = sluiceEnv(ns);
  await sluiceProcess(['coordinator'], env, children);
  const worker = async (id: string, armed?: string) =>
    (
      await sluiceProcess(
        ['worker', 'test/fixtures/pipelines/metered.mjs', '--no-coordinator', '--worker-id', id],
        armed ? { ...env, SLUICE_FAILPOINTS: armed } : env,
        children,
      )
    ).proc;
  return { ns, input, output, admin, worker };
}

describe('races', () => {
  it('a worker killed mid-drain, twice: a third reports the failure; the resume ends exact', async (ctx) => {
    const { ns, input, output, admin, worker } = await stage('rdr');
    const RECORDS = 6_000;
    const POISON = 3_001; // key k0
    const w1 = await worker('w1', 'worker.during-drain');
    const w2 = await worker('w2', 'worker.during-drain');
    const client = await connectClient(ns);
    await produceNumbers(input, RECORDS, KEYS);
    const job = await client.submit('metered', {
      name: 'drain-race',
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: true,
      args: { input, output, poison: String(POISON) },
    });
    // Bounded by the test's timeout: both must die in their drains, or nothing goes on.
    await Promise.all([exited(w1), exited(w2)]);
    for (const w of [w1, w2]) expect(w.stderr).toContain('failpoint worker.during-drain');
    expect(job.status()).toBe('RUNNING'); // no report was sent: the job cannot know yet
    await worker('w3');
    await until(() => job.status() === 'SUSPENDED_DUE_TO_ERROR', 'the suspension', 120_000);
    expect(
      job.snapshot().status === 'SUSPENDED_DUE_TO_ERROR' &&
        job.suspensionCause().record?.valuePreview,
    ).toContain(`"n":${POISON}`);
    await job.resume({ failingRecord: 'SKIP' });
    await until(
      async () =>
        (await committedThroughEnd(admin, jobGroup(ns, job.id), input)) &&
        (await committedThroughEnd(
          admin,
          stageGroup(ns, job.id, 'count'),
          repartitionTopic(ns, job.id, 'count'),
        )),
      'both hops through their inputs',
      180_000,
    );
    const perKey = await countsPerKey(output);
    for (let k = 0; k < KEYS; k++)
      expect(perKey.get(`k${k}`), `k${k}`).toEqual(upTo(RECORDS / KEYS - (k === 0 ? 1 : 0)));
    recordFault(ctx, {
      scenario: 'worker killed mid-drain after a failure, twice in a row',
      invariant: 'a third worker reports it; the resume (SKIP) ends exact',
      figures: { records: RECORDS },
    });
  });

  it('suspend and resume from two clients at once, 10 times: one outcome each, state as the log says', async (ctx) => {
    const { ns, input, output, admin, worker } = await stage('rsr');
    await worker('w1');
    const alice = await connectClient(ns, 'alice');
    const bob = await connectClient(ns, 'bob');
    const job = await alice.submit('metered', {
      name: 'tug',
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output, poison: '-1' },
    });
    await until(() => job.status() === 'RUNNING', 'RUNNING');
    const bobsView = () => bob.getJob(job.id);
    let rejected = 0;
    for (let round = 0; round < 10; round++) {
      await produceNumbers(input, 300, KEYS, round * 300 + 1);
      const outcomes = await Promise.allSettled([job.suspend(), bobsView().resume()]);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(o.reason).toBeInstanceOf(CommandRejectedError);
          rejected++;
        }
      }
      // Both clients and a replay of the log agree on where the job stands.
      await until(() => bobsView().status() === job.status(), 'both clients to agree');
      expect(replay(job.history())?.status).toBe(job.status());
      if (job.status() === 'SUSPENDED') await job.resume();
      await until(() => job.status() === 'RUNNING', 'RUNNING again');
    }
    const total = 3_000;
    await until(
      async () =>
        (await committedThroughEnd(admin, jobGroup(ns, job.id), input)) &&
        (await committedThroughEnd(
          admin,
          stageGroup(ns, job.id, 'count'),
          repartitionTopic(ns, job.id, 'count'),
        )),
      'both hops through their inputs',
      180_000,
    );
    const perKey = await countsPerKey(output);
    for (let k = 0; k < KEYS; k++) expect(perKey.get(`k${k}`), `k${k}`).toEqual(upTo(total / KEYS));
    // Every command has exactly one outcome in the log.
    const byCommand = new Map<string, number>();
    for (const e of job.history())
      if (e.type !== 'SnapshotCommitted')
        byCommand.set(e.commandId, (byCommand.get(e.commandId) ?? 0) + 1);
    expect([...byCommand].filter(([, n]) => n > 1)).toEqual([]);
    recordFault(ctx, {
      scenario: 'suspend and resume from two clients at once, 10 rounds',
      invariant: 'one outcome per command; clients and replay agree; counts exact',
      figures: { rounds: 10, rejectedAsIllegal: rejected },
    });
  });
});
