import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { DryRunResult } from '../../src/client/dry-run.js';
import {
  changelogTopic,
  jobGroup,
  repartitionTopic,
  stageGroup,
} from '../../src/domain/resources.js';
import { Worker } from '../../src/node/worker.js';
import { runSluice } from '../support/cli.js';
import { until } from '../support/job-groups.js';
import { endpoints, sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';
import { produceNumbers } from '../support/records.js';
import { pricedTotals } from '../support/priced-totals.js';
import { connectClient, startCoordinator, testLogger } from '../support/sluice.js';

// Issue 17, item 2, on a real broker and registry: a job suspended by a poison record before a
// repartitioned aggregate. A dry run while the broken worker is the only live host reports the
// error, in its stage (the built CLI, exit code 6); once a fixed worker runs and the broken one
// has stopped, it reports the output, computed from the key's saved state. Nothing changed: the
// ends of the sink, changelog and repartition topics, the job's groups' committed offsets, and
// the job's status are as before, and the history holds the requests and the answers.

const ns = testNamespace('dry');
const admin = await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: 1 },
  { topic: `${ns}.out`, numPartitions: 1 },
]);
await startCoordinator(ns);
const client = await connectClient(ns, 'alice');
const env = sluiceEnv(ns, { SLUICE_ISSUED_BY: 'bob' });
const { brokers, registryUrl } = endpoints();
const POISON = 40;

const totals = (fixed: boolean) => pricedTotals(fixed, POISON);

function worker(workerId: string, fixed: boolean, version: string): Worker {
  return new Worker({
    brokers,
    registryUrl,
    namespace: ns,
    logger: testLogger,
    workerId,
    coordinator: false,
    metricsPort: 0,
  }).register('totals', totals(fixed), { version });
}

const broken = worker('old-1', false, 'v1');
await broken.start();
let brokenStopped = false;
afterAll(() => (brokenStopped ? undefined : broken.stop()));
const FAILED = broken.fingerprints.totals ?? '';

const job = await client.submit('totals', {
  name: 'totals',
  suspendOnFailure: true,
  args: { input: `${ns}.in`, output: `${ns}.out` },
});
// n = 1..100 keyed k0..k4 (n = 40 is k4); one partition, so the failure point is exact.
await produceNumbers(`${ns}.in`, 100);

/** What a dry run must not move: topic ends, and what the job's groups committed. */
async function footprint(a: Admin) {
  const topics = [
    `${ns}.out`,
    changelogTopic(ns, job.id, 'totals'),
    repartitionTopic(ns, job.id, 'totals'),
  ];
  const ends = [];
  for (const topic of topics) {
    const offsets = await a.fetchTopicOffsets(topic);
    ends.push([topic, offsets.map((o) => `${o.partition}:${o.low}-${o.high}`)]);
  }
  const committed = [];
  for (const groupId of [jobGroup(ns, job.id), stageGroup(ns, job.id, 'totals')]) {
    const groups = await a.fetchOffsets({ groupId });
    committed.push([
      groupId,
      groups.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p.partition}@${p.offset}`)),
    ]);
  }
  return { ends, committed };
}

describe('sluice resume --dry-run', () => {
  let before: Awaited<ReturnType<typeof footprint>>;

  it('with the broken worker the only live host, reports the error in its stage and exits 6', async () => {
    await until(() => job.status() === 'SUSPENDED_DUE_TO_ERROR', 'the job suspended');
    expect(job.suspensionCause()).toMatchObject({
      stage: 'price',
      fingerprint: FAILED,
      record: { offset: String(POISON - 1) },
    });
    before = await footprint(admin);
    // The job read and committed up to the poison record, and wrote state.
    expect(before.committed[0]?.[1]).toEqual([`${ns}.in-0@${POISON - 1}`]);
    expect(before.ends[1]?.[1]).not.toEqual(['0:0-0']);

    const cli = await runSluice(['resume', 'totals', '--dry-run', '--json'], env);
    expect(cli.code, cli.stderr).toBe(6);
    const body = cli.json as { status: string; dryRun: DryRunResult };
    expect(body.status).toBe('SUSPENDED_DUE_TO_ERROR');
    expect(body.dryRun).toMatchObject({
      record: { topic: `${ns}.in`, partition: 0, offset: String(POISON - 1) },
      answers: [
        {
          worker: 'old-1',
          fingerprint: FAILED,
          outputs: [],
          outputCount: 0,
          error: { name: 'RangeError', message: `n=${POISON} has no price` },
          stage: 'price',
        },
      ],
      missing: [],
      wouldSucceed: false,
    });
  });

  it('with the fixed worker the only live host, reports the output from the saved state, and changes nothing', async () => {
    const fixed = worker('new-1', true, 'v2');
    await fixed.start();
    afterAll(() => fixed.stop());
    const FIXED = fixed.fingerprints.totals ?? '';
    expect(FIXED).not.toBe(FAILED);
    await broken.stop(); // a clean stop: its tombstone counts at once
    brokenStopped = true;

    const result = await job.tryResume();
    // k4's saved sum is 5 + 10 + ... + 35 = 140; with n = 40 it becomes 180.
    expect(result.answers).toEqual([
      {
        worker: 'new-1',
        fingerprint: FIXED,
        outputs: [{ key: 'k4', valuePreview: JSON.stringify({ key: 'k4', value: 180 }) }],
        outputCount: 1,
        error: null,
        stage: null,
      },
    ]);
    expect(result.wouldSucceed).toBe(true);

    const human = await runSluice(['resume', 'totals', '--dry-run'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`worker new-1 (code ${FIXED}): would write 1 record(s):`);
    expect(human.stdout).toContain('k4 → {"key":"k4","value":180}');

    expect(await footprint(admin)).toEqual(before);
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    expect(job.snapshot().run).toBe(1);
    const types = job.history().map((e) => e.type);
    expect(types.filter((t) => t === 'DryRunRequested')).toHaveLength(3);
    expect(types.filter((t) => t === 'DryRunCompleted')).toHaveLength(3);
    expect(types).not.toContain('JobResumed');
    const answers = job
      .history()
      .flatMap((e) => (e.type === 'DryRunCompleted' ? [[e.worker, e.error?.name ?? null]] : []));
    expect(answers).toEqual([
      ['old-1', 'RangeError'],
      ['new-1', null],
      ['new-1', null],
    ]);
  });
});
