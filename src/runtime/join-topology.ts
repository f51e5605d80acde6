import { SluiceError } from '../domain/errors.js';
import { changelogTopic, stageGroup } from '../domain/resources.js';
import type { Admin } from '../kafka/port.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { StreamJoinStage } from '../pipeline/join-stream.js';
import type { Format } from '../pipeline/formats.js';
import type { StageDef } from '../pipeline/stages.js';
import type { HopSpec } from './hop-spec.js';
import { StageFailure } from './execute.js';
import { sideRecord } from './join-stream.js';
import type { HopTable } from './join-tables.js';
import type { Deserializer } from './serde.js';

// What a hop's table joins add to it: a changelog each (the task's copy of the table), and a
// table to follow. A table join needs no repartition: every task reads the whole table.

/**
 * The changelogs of a hop's table joins. `exact` when the hop reads several topics, whose
 * tasks share partition numbers: a copy is then restored by the task its records name.
 */
export function joinChangelogs(
  stages: readonly StageDef[],
  namespace: string,
  jobId: string,
  exact: boolean,
): { topic: string; stage: string; exact?: boolean }[] {
  return stages
    .filter((s) => s.kind === 'joinTable')
    .map((s) => ({
      stage: s.name,
      topic: changelogTopic(namespace, jobId, s.name),
      ...(exact ? { exact } : {}),
    }));
}

/** The tables a hop's join stages read. */
export function hopTables(
  stages: readonly StageDef[],
  deserializer: (format: Format) => Deserializer,
): HopTable[] {
  return stages.flatMap((s) =>
    s.kind === 'joinTable'
      ? [{ stage: s.name, topic: s.table.topic, deserializer: deserializer(s.table.format) }]
      : [],
  );
}

/** The stream joins of a pipeline, whose other sides are hops of their own. */
export function streamJoins(stages: readonly StageDef[]): StreamJoinStage[] {
  return stages.filter((s): s is StreamJoinStage & StageDef => s.kind === 'joinStream');
}

/**
 * The consumer group of a stream join's other side: beside the job's groups (so the job's
 * cleanup and snapshots find it), and named with a `~`, which no stage name holds.
 */
export function otherGroup(namespace: string, jobId: string, stage: string): string {
  return `${stageGroup(namespace, jobId, stage)}~other`;
}

/**
 * The hop that reads a stream join's other source and writes each record, keyed by the
 * join's other key and marked as the right side with its time, to the join's repartition
 * topic. It has no stages; a key function that throws fails its record like a stage.
 */
export function otherSpec(
  stage: StreamJoinStage,
  o: {
    index: number;
    topic: string;
    groupId: string;
    deserializer: Deserializer;
    retry: RetryPolicy;
  },
): HopSpec {
  return {
    index: o.index,
    inputs: stage.other.topics,
    deserializer: o.deserializer,
    stages: [],
    outputs: [
      {
        topic: o.topic,
        key: (out) => {
          // Named like a stage's failure: the join's other key is the join's code.
          try {
            return String(stage.otherKey(out.value));
          } catch (err) {
            throw new StageFailure(stage.name, err);
          }
        },
        write: (v, time) => sideRecord(stage, 'r', time, v),
        internal: true,
        time: true,
      },
    ],
    changelogs: [],
    groupId: o.groupId,
    retry: o.retry,
  };
}

/**
 * Refuses a run whose joins read a topic that does not exist (a table's, or a stream join's
 * other source), before anything starts: named, rather than a reader retrying for its budget.
 */
export async function checkJoinTopics(admin: Admin, stages: readonly StageDef[]): Promise<void> {
  // No request at all for a pipeline without joins: a run's start costs what it did.
  if (!stages.some((s) => s.kind === 'joinTable' || s.kind === 'joinStream')) return;
  const existing = new Set(await admin.listTopics());
  for (const s of stages) {
    const topics =
      s.kind === 'joinTable' ? [s.table.topic] : s.kind === 'joinStream' ? s.other.topics : [];
    const missing = topics.find((t) => !existing.has(t));
    if (missing !== undefined)
      throw new SluiceError(
        'SLUICE_TOPIC_MISCONFIGURED',
        `${s.kind === 'joinTable' ? 'Table' : 'Stream'} join "${s.name}" reads topic "${missing}", which does not exist. Create it${s.kind === 'joinTable' ? ' (compacted: cleanup.policy=compact)' : ''}, or fix the pipeline, then resume the job.`,
        { details: { stage: s.name, topic: missing } },
      );
  }
}
