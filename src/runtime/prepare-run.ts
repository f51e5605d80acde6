import { SluiceError } from '../domain/errors.js';
import { DeadLetterTopicMissingError } from '../domain/job-errors.js';
import { deadLetterTopics } from '../domain/error-policy.js';
import type { ResumePlan } from '../domain/resume-plan.js';
import { jobGroup } from '../domain/resources.js';
import type { JobState } from '../domain/state.js';
import { topicOffsets } from '../kafka/offsets.js';
import type { Admin, Kafka } from '../kafka/port.js';
import type { TopicReplication } from '../kafka/topics.js';
import type { JobLog } from '../log/job-log.js';
import type { Logger } from '../observability/logger.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { checkLostRecords } from './lost-records.js';
import { seedFromSnapshot } from './seed.js';
import { allStages } from '../pipeline/stages.js';
import { checkStagesMatch, refuseStrandedOnResume, savedStages } from './snapshot-state.js';
import type { Topology } from './topology.js';
import { ensureChangelogs, ensureRepartitions } from './topics.js';
import { checkLateTopics } from './window-topics.js';
import { checkJoinTopics } from './join-topology.js';

/** What a run's preparation reads and touches. */
export interface PrepareRunOptions {
  kafka: Kafka;
  namespace: string;
  /** The job log, for the job an exported snapshot came from. */
  log: JobLog;
  job: JobState;
  pipeline: PipelineDef;
  topology: Topology;
  plan: ResumePlan;
  replication: TopicReplication | undefined;
  logger: Logger;
}

/**
 * Everything a run does before its hops start: the job's internal topics made, its state seeded
 * from an exported snapshot if it starts from one, and the checks that must refuse the run
 * before anything is read: a dead-letter topic that does not exist, saved state the code does
 * not match, records stranded in an old repartition topic, records deleted past the offsets it
 * resumes from. Resolves to the source's
 * end offsets for a bounded job (`topic:partition` → end), undefined for an unbounded one.
 */
export async function prepareRun(
  admin: Admin,
  o: PrepareRunOptions,
): Promise<Map<string, bigint> | undefined> {
  const { job, pipeline, topology } = o;
  // Before anything else: the run's first commit would write the failing record there.
  const deadLetterTopic = o.plan.action === 'DEAD_LETTER' ? o.plan.deadLetterTopic : null;
  const policyTopics = deadLetterTopics(job.config.errorPolicy);
  if (deadLetterTopic !== null || policyTopics.length > 0) {
    const topics = new Set(await admin.listTopics());
    if (deadLetterTopic !== null && !topics.has(deadLetterTopic))
      throw new DeadLetterTopicMissingError(job.name, deadLetterTopic);
    // The policy's first dead letter would fail the commit it is in, far from its cause.
    const missing = policyTopics.find((t) => !topics.has(t));
    if (missing !== undefined) throw new DeadLetterTopicMissingError(job.name, missing, 'policy');
  }
  await checkLateTopics(admin, pipeline);
  await checkJoinTopics(admin, pipeline.stages);
  const meta = await admin.partitions(pipeline.source.topics);
  const widest = Math.max(...meta.map((t) => t.partitions.length));
  const { changelogs, repartitions } = topology;
  await ensureChangelogs(
    admin,
    changelogs.map((c) => c.topic),
    widest,
    o.replication,
  );
  await ensureRepartitions(admin, repartitions, widest, o.replication);
  const stages = changelogs.map((c) => c.stage);
  const snapshotName = job.config.initialSnapshotName;
  if (snapshotName !== null) await seed(admin, o, snapshotName, stages, widest);
  // Before anything runs: fixed code must not silently drop the state it resumes from.
  checkStagesMatch(
    await savedStages(admin, o.namespace, job.jobId),
    stages,
    widest,
    `Job "${job.name}"`,
  );
  await refuseStrandedOnResume(admin, {
    namespace: o.namespace,
    jobId: job.jobId,
    where: `Job "${job.name}"`,
    inPlace: topology.inPlace,
  });
  // Nor may it skip, without a word, records deleted past the offsets it resumes from.
  await checkLostRecords(o.kafka, admin, {
    jobName: job.name,
    hops: topology.inputs,
    accept: o.plan.acceptDataLoss,
    log: o.logger,
  });
  if (!pipeline.source.bounded) return undefined;
  const sourceEnds = new Map<string, bigint>();
  for (const topic of pipeline.source.topics) {
    for (const p of await topicOffsets(admin, topic))
      if (p.high > p.low) sourceEnds.set(`${topic}:${p.partition}`, p.high);
  }
  return sourceEnds;
}

/** True once the job's source group holds an offset: seeding commits them, and so does every run. */
async function alreadySeeded(admin: Admin, o: PrepareRunOptions): Promise<boolean> {
  const group = jobGroup(o.namespace, o.job.jobId);
  return (await admin.committed(group, o.pipeline.source.topics)).some(
    (p) => BigInt(p.offset) >= 0n,
  );
}

/** A new job started from an exported snapshot takes its state and positions first. */
async function seed(
  admin: Admin,
  o: PrepareRunOptions,
  snapshotName: string,
  stages: string[],
  partitions: number,
): Promise<void> {
  const from = o.log.jobs().find((s) => s.exportedSnapshots[snapshotName] !== undefined);
  // A job seeded before its snapshot was deleted has its state already: every later start
  // (a resume, a restart) goes on without the snapshot.
  if (!from && (await alreadySeeded(admin, o))) return;
  if (!from) {
    throw new SluiceError(
      'SLUICE_SNAPSHOT_UNAVAILABLE',
      `No exported snapshot is named "${snapshotName}" any more (deleted since this job was submitted); cancel this job and submit it again without initialSnapshotName, or with another snapshot (\`sluice snapshots\` lists them).`,
      { details: { snapshot: snapshotName } },
    );
  }
  // The other stream of a stream join is read by a consumer group of its own, whose offsets an
  // export does not keep: seeded, the join would read that stream from its beginning again and
  // join records its restored buffers already hold a second time.
  const join = allStages(o.pipeline.stages).find((s) => s.kind === 'joinStream');
  if (join)
    throw new SluiceError(
      'SLUICE_SNAPSHOT_UNAVAILABLE',
      `Snapshot "${snapshotName}" cannot seed this job: stage "${join.name}" is a stream join, and an exported snapshot does not hold where its other stream was read up to (not supported yet); started from it, the join would read that stream again and join its records twice. Cancel this job and submit it without initialSnapshotName, or resume job "${from.name}".`,
      { details: { snapshot: snapshotName, stage: join.name } },
    );
  await seedFromSnapshot(
    o.kafka,
    {
      namespace: o.namespace,
      jobId: o.job.jobId,
      from,
      snapshotName,
      copy: from.snapshotCopies[snapshotName] ?? null,
      sourceTopics: o.pipeline.source.topics,
      stages,
      inPlace: o.topology.inPlace,
      partitions,
    },
    o.logger,
  );
}
