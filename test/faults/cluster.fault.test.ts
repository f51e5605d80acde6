import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  changelogTopic,
  jobGroup,
  repartitionTopic,
  stageGroup,
  taskTransactionalId,
  topicNames,
} from '../../src/domain/resources.js';
import type { JobStatus } from '../../src/domain/status.js';
import { resolveInfra } from '../../src/infra/index.js';
import { withAdmin } from '../../src/kafka/offsets.js';
import type { LineReader } from '../support/cli.js';
import { kafkaClient, kafkaPort, testNamespace } from '../support/kafka.js';
import { groupStanding } from '../support/job-groups.js';
import { produceNumbers, readAll } from '../support/records.js';
import { connectClient } from '../support/sluice.js';
import { recordFault } from './record.js';
import {
  committedThroughEnd,
  countsPerKey,
  envFor,
  sluiceProcess,
  stopAll,
  until,
  upTo,
} from './support.js';

// Issue 14, item 11: a real cluster. Three brokers on this machine (each also a KRaft
// controller), every topic with three replicas and two in sync, Sluice told the same. In the
// middle of an exactly-once run of a two-hop job (a keyed count: source, repartition, changelog,
// sink, and the tasks' transactions), the broker that leads the most of the job's partitions is
// killed with SIGKILL, more input is written while it is away, and it is started again. Its
// partitions get new leaders, the job stays RUNNING throughout (the workers ride the failover
// out within their retry budget), and every key's running count is 1..N once each.

const KEYS = 10;
const FIRST = 40_000;
const DURING = 10_000;
const DOWN_MS = 10_000;
/** transaction.state.log.num.partitions of the local brokers (src/infra/java/kafka.ts). */
const TXN_STATE_PARTITIONS = 10;

const infra = await resolveInfra({
  mode: 'owned',
  strategy: 'java',
  private: true,
  brokerCount: 3,
});
afterAll(() => infra.stop()); // registered first: runs after everything the file starts
const { cluster } = infra;
if (!cluster) throw new Error('a local cluster must hand out its brokers');
const at = { brokers: infra.brokers, registryUrl: infra.registryUrl };
const ns = testNamespace('clu');
const input = `${ns}.in`;
const output = `${ns}.out`;
const kafka = kafkaClient('cluster-test', at.brokers);
// Through Sluice's port, whose createTopics waits out a broker that has not heard of a new
// topic yet (kafkajs's own wait gives up on it, which a cluster of several brokers shows).
await withAdmin(kafkaPort('cluster-test', at.brokers), (a) =>
  a.createTopics(
    [input, output].map((topic) => ({
      topic,
      partitions: 3,
      replicationFactor: 3,
      config: { 'min.insync.replicas': '2' },
    })),
  ),
);
const admin = kafka.admin();
await admin.connect();
afterAll(() => admin.disconnect());
const children: LineReader[] = [];
afterAll(() => stopAll(children));

/** Java's String.hashCode, which places a transactional id in __transaction_state. */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The __transaction_state partition of a transactional id (Kafka's TransactionStateManager). */
function txnStatePartition(transactionalId: string): number {
  const h = javaHash(transactionalId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % TXN_STATE_PARTITIONS;
}

type Kind = 'source' | 'sink' | 'repartition' | 'changelog' | 'transaction state';

/** One partition the job depends on, and the node that leads it. */
interface Led {
  kind: Kind;
  topic: string;
  partition: number;
  leader: number;
}

/**
 * The leaders of the job's partitions: its topics', and the __transaction_state partitions
 * that hold its tasks' transactions. Undefined while the metadata cannot be read (a broker
 * just died under the admin's connection).
 */
async function leaders(jobId: string): Promise<Led[] | undefined> {
  const kinds = new Map<string, Kind>([
    [input, 'source'],
    [output, 'sink'],
    [repartitionTopic(ns, jobId, 'count'), 'repartition'],
    [changelogTopic(ns, jobId, 'count'), 'changelog'],
  ]);
  const ids = [0, 1, 2].flatMap((p) => [
    taskTransactionalId(jobGroup(ns, jobId), input, p),
    taskTransactionalId(stageGroup(ns, jobId, 'count'), repartitionTopic(ns, jobId, 'count'), p),
  ]);
  const txnPartitions = new Set(ids.map(txnStatePartition));
  try {
    const { topics } = await admin.fetchTopicMetadata({
      topics: [...kinds.keys(), '__transaction_state'],
    });
    return topics.flatMap((t) =>
      t.partitions
        .filter((p) => t.name !== '__transaction_state' || txnPartitions.has(p.partitionId))
        .map((p) => ({
          kind: kinds.get(t.name) ?? 'transaction state',
          topic: t.name,
          partition: p.partitionId,
          leader: p.leader,
        })),
    );
  } catch {
    return undefined;
  }
}

/** A topic's replica counts and where its min.insync.replicas comes from (1: set on the topic). */
async function replication(
  topic: string,
): Promise<{ replicas: number[]; minIsr: string; source: number }> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const { resources } = await admin.describeConfigs({
    resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }], // TOPIC
    includeSynonyms: false,
  });
  const entry = resources[0]?.configEntries[0] as
    { configValue: string; configSource: number } | undefined;
  return {
    replicas: [...new Set(topics[0]?.partitions.map((p) => p.replicas.length))],
    minIsr: entry?.configValue ?? '',
    source: entry?.configSource ?? -1,
  };
}

describe('the broker leading a job’s partitions killed on a three-broker cluster', () => {
  it('moves the leaders; the job stays RUNNING; outputs exact', async (ctx) => {
    const env = envFor(at, ns);
    const topicFlags = ['--replication-factor', '3', '--min-insync-replicas', '2'];
    await sluiceProcess(['coordinator', ...topicFlags], env, children);
    for (const id of ['w1', 'w2'])
      await sluiceProcess(
        [
          'worker',
          'test/fixtures/pipelines/metered.mjs',
          '--no-coordinator',
          '--worker-id',
          id,
          ...topicFlags,
        ],
        env,
        children,
      );
    const client = await connectClient(ns, 'test-user', at);
    await produceNumbers(input, FIRST, KEYS, 1, at.brokers);
    const job = await client.submit('metered', {
      name: 'cluster',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output, poison: '-1' },
    });
    await until(() => job.status() === 'RUNNING', 'RUNNING');
    const changes: JobStatus[] = [];
    job.onStatusChange((c) => changes.push(c.newStatus));
    await until(async () => (await readAll(output, at.brokers)).length > 0, 'the first outputs');

    // Every topic Sluice made has three replicas and min.insync.replicas 2 set on the topic
    // itself (the flags reached topic creation, not only the brokers' equal defaults).
    const made = [
      topicNames(ns).control,
      topicNames(ns).jobs,
      repartitionTopic(ns, job.id, 'count'),
      changelogTopic(ns, job.id, 'count'),
    ];
    for (const topic of made)
      expect(await replication(topic), topic).toEqual({ replicas: [3], minIsr: '2', source: 1 });

    // The victim: the broker leading the most of the job's partitions.
    const before = (await leaders(job.id)) ?? [];
    const count = (node: number) => before.filter((l) => l.leader === node).length;
    const victim = [...cluster.brokers].sort((a, b) => count(b.nodeId) - count(a.nodeId))[0];
    if (!victim) throw new Error('no brokers');
    const led = before.filter((l) => l.leader === victim.nodeId);
    const ledKinds = new Set(led.map((l) => l.kind));
    // Three partitions per topic on three brokers: each broker leads one of each topic.
    for (const kind of ['source', 'sink', 'changelog'] as const)
      expect(ledKinds.has(kind), `node ${victim.nodeId} leads a ${kind} partition`).toBe(true);

    const outputsAtKill = (await readAll(output, at.brokers)).length;
    expect(outputsAtKill).toBeLessThan(FIRST); // mid-run: tasks are inside transactions
    const killedAt = Date.now();
    await victim.kill();

    // While it is down: each partition it led gets a leader among the other two.
    let movedAfterMs = -1;
    await until(async () => {
      const now = await leaders(job.id);
      const moved =
        now !== undefined &&
        led.every((l) => {
          const leader = now.find(
            (n) => n.topic === l.topic && n.partition === l.partition,
          )?.leader;
          return leader !== undefined && leader >= 0 && leader !== victim.nodeId;
        });
      if (moved) movedAfterMs = Date.now() - killedAt;
      return moved;
    }, `new leaders for the ${led.length} partitions node ${victim.nodeId} led`);
    // More input while it is away: writes need two in-sync replicas, and two brokers are up.
    await produceNumbers(input, DURING, KEYS, FIRST + 1, at.brokers);
    await sleep(Math.max(0, DOWN_MS - (Date.now() - killedAt)));
    expect(job.status()).toBe('RUNNING');
    // A figure, not a check: a reader may need a retry while a broker is away.
    const outputsWhileDown = await readAll(output, at.brokers).then(
      (all) => all.length - outputsAtKill,
      () => -1,
    );

    const restartAt = Date.now();
    await victim.start();
    const upAt = Date.now();
    const total = FIRST + DURING;
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
    ).catch(async (err: unknown) => {
      // Say where it stood: a suspension, a group a few offsets short, or one far behind.
      const standing = await Promise.all([
        groupStanding(admin, jobGroup(ns, job.id), input),
        groupStanding(
          admin,
          stageGroup(ns, job.id, 'count'),
          repartitionTopic(ns, job.id, 'count'),
        ),
      ]).catch((e: unknown) => [`(could not read the groups: ${String(e)})`]);
      const events = job.history().map((e) => e.type);
      throw new Error(
        `${String(err)}; job ${job.status()} after ${events.join(', ')}; ${standing.join('; ')}`,
      );
    });
    const caughtUpMs = Date.now() - upAt;

    expect(job.status()).toBe('RUNNING');
    expect(changes).toEqual([]); // RUNNING before the kill, and never anything else since
    const types: string[] = job.history().map((e) => e.type);
    for (const type of ['JobSuspendedDueToError', 'JobSuspended', 'JobFailed', 'JobRestarted'])
      expect(types, type).not.toContain(type);
    const perKey = await countsPerKey(output, at.brokers);
    for (let k = 0; k < KEYS; k++) expect(perKey.get(`k${k}`), `k${k}`).toEqual(upTo(total / KEYS));

    recordFault(ctx, {
      scenario: `3 brokers, RF 3, min ISR 2: the leader of ${led.length} of the job's partitions (${[...ledKinds].join(', ')}) killed for ${DOWN_MS / 1000} s mid-run, ${DURING} records written meanwhile`,
      invariant: 'leaders move; job stays RUNNING; every running count exact',
      figures: {
        partitionsLed: led.length,
        leadersMovedMs: movedAfterMs,
        outputsWhileDown,
        downMs: restartAt - killedAt,
        brokerBackMs: upAt - restartAt,
        caughtUpAfterBackMs: caughtUpMs,
        outputs: total,
      },
    });
  });
});
