import type { PipelineDef } from '../pipeline/pipeline.js';
import type { Format } from '../pipeline/formats.js';
import { hasChangelog, isStateful, lateTopicOf, type StageDef } from '../pipeline/stages.js';
import { changelogTopic } from '../domain/resources.js';
import { Topology } from '../runtime/topology.js';
import type { WindowSpec } from '../domain/windows.js';

/** What stands for the job id in topic and group names: a description is of no one job. */
export const JOB_ID_PLACEHOLDER = '<jobId>';

/** One stage as `sluice describe` shows it. */
export interface StageDescription {
  name: string;
  kind: StageDef['kind'];
  stateful: boolean;
  /** A stateful stage's changelog topic, with the job id left as a placeholder. */
  stateTopic: string | null;
  /** How a stateful stage's keys are found: by `groupingKey` (repartitioned) or the record's key. */
  keyedBy: 'groupingKey' | 'recordKey' | null;
  /** A `branch` stage's branches, in the order they are tried. */
  branches: BranchDescription[] | null;
  /** A `window` stage's window and event time. */
  window: WindowDescription | null;
  /** A join stage's partner: the table it reads, and whether unmatched values pass (left). */
  join: JoinDescription | null;
}

/** What a join stage joins with: a table, or another stream within a window. */
export interface JoinDescription {
  type: 'inner' | 'left' | 'outer';
  /** A table join's table: a compacted topic, read whole by every task of the stage. */
  table: { topic: string; format: Format } | null;
  /** A stream join's other stream, read by a hop of its own into the stage's topic. */
  other: { topics: string[]; format: Format } | null;
  /** A stream join's window and grace, in milliseconds. */
  windowMs: number | null;
  graceMs: number | null;
  /** A stream join's late-records topic; null: late records are dropped and counted (and for a table join). */
  lateTopic: string | null;
  /** Where a stream join's record times come from, per side; null for a table join. */
  eventTime: { stream: EventTimeSource; other: EventTimeSource } | null;
}

/** A record's time: the source record's Kafka timestamp (carried over repartitions), or the stage's function of the value. */
export type EventTimeSource = 'recordTimestamp' | 'function';

/** A window stage's definition, its event time and what it does with late values. */
export type WindowDescription = WindowSpec & {
  outOfOrderMs: number;
  /** Where event time comes from: the source record's Kafka timestamp, or the stage's function. */
  eventTime: EventTimeSource;
  emit: 'close' | 'update';
  /** The late-records topic; null: late values are dropped and counted. */
  lateTopic: string | null;
};

/** One branch of a `branch` stage: its stages and where it writes. */
export interface BranchDescription {
  name: string;
  /** False for the default branch (`otherwise`), which takes what no predicate matched. */
  predicate: boolean;
  stages: StageDescription[];
  sink: SinkDescription;
}

export interface SinkDescription {
  topic: string;
  format: Format;
}

/** One hop: the consumer group that runs it, what it reads, its stages and what it writes. */
export interface HopDescription {
  index: number;
  group: string;
  reads: string[];
  /** The stream join whose other stream this hop reads into the join's topic, if it does. */
  otherSideOf: string | null;
  stages: StageDescription[];
  writes: string[];
}

/** A pipeline's shape, as a user checks what will run before submitting it. */
export interface PipelineDescription {
  pipeline: string;
  source: { topics: string[]; format: Format; bounded: boolean };
  hops: HopDescription[];
  sinks: SinkDescription[];
}

/**
 * Describes a pipeline as the runtime will cut it into hops (the same Topology the workers
 * use, so the description cannot drift from what runs), in namespace `namespace`.
 */
export function describePipeline(
  name: string,
  def: PipelineDef,
  namespace: string,
): PipelineDescription {
  const jobId = JOB_ID_PLACEHOLDER;
  const topology = new Topology({ namespace, jobId, pipeline: def });
  const sinks = def.sinks.map((s) => ({ topic: s.topic, format: s.format }));
  const stage = (s: StageDef): StageDescription => ({
    name: s.name,
    kind: s.kind,
    stateful: hasChangelog(s),
    stateTopic: hasChangelog(s) ? changelogTopic(namespace, jobId, s.name) : null,
    keyedBy: isStateful(s) ? (s.byRecordKey ? 'recordKey' : 'groupingKey') : null,
    branches:
      s.kind === 'branch'
        ? s.routes.map((r) => ({
            name: r.name,
            predicate: r.predicate !== undefined,
            stages: r.stages.map(stage),
            sink: sinks[r.sink] ?? { topic: '?', format: 'json' },
          }))
        : null,
    window:
      s.kind === 'window'
        ? {
            ...s.window,
            outOfOrderMs: s.outOfOrderMs,
            eventTime: s.timestamp ? 'function' : 'recordTimestamp',
            emit: s.emit,
            lateTopic: s.lateTopic ?? null,
          }
        : null,
    join: joinOf(s),
  });
  const others = def.stages.flatMap((s) => (s.kind === 'joinStream' ? [s.name] : []));
  const main = topology.hops - others.length;
  const hops = topology.inputs.map((input, i) => {
    const next = topology.nextInput(i);
    return {
      index: i,
      group: input.groupId,
      reads: input.topics,
      otherSideOf: i >= main ? (others[i - main] ?? null) : null,
      stages: topology.stagesOf(i).map(stage),
      writes: [
        ...(next !== undefined ? [next] : [...new Set(sinks.map((s) => s.topic))]),
        // Late values (a window's, a stream join's) go out with the hop's outputs, in one commit.
        ...topology.stagesOf(i).flatMap((s) => lateTopicOf(s) ?? []),
      ],
    };
  });
  return {
    pipeline: name,
    source: { topics: def.source.topics, format: def.source.format, bounded: def.source.bounded },
    hops,
    sinks,
  };
}

function joinOf(s: StageDef): JoinDescription | null {
  if (s.kind === 'joinTable')
    return {
      type: s.inner ? 'inner' : 'left',
      table: { ...s.table },
      other: null,
      windowMs: null,
      graceMs: null,
      lateTopic: null,
      eventTime: null,
    };
  if (s.kind === 'joinStream')
    return {
      type: s.type,
      table: null,
      other: { topics: s.other.topics, format: s.other.format },
      windowMs: s.windowMs,
      graceMs: s.graceMs,
      lateTopic: s.lateTopic ?? null,
      eventTime: {
        stream: s.timestamp ? 'function' : 'recordTimestamp',
        other: s.otherTimestamp ? 'function' : 'recordTimestamp',
      },
    };
  return null;
}
