import { changelogTopic, jobGroup, repartitionTopic, stageGroup } from '../domain/resources.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { isStateful, type StageDef, type StatefulStage } from '../pipeline/stages.js';
import type { HopSpec } from './hop-spec.js';
import { hopTables, joinChangelogs, otherGroup, otherSpec, streamJoins } from './join-topology.js';
import { sideRecord } from './join-stream.js';
import type { StreamJoinStage } from '../pipeline/join-stream.js';
import type { Format } from '../pipeline/formats.js';
import type { Deserializer, Serializer } from './serde.js';
import { needsEventTime } from './event-time.js';

/**
 * Stages up to the next repartitioned stateful one, which starts a segment of its own (its
 * `head`). A stage grouped by the source record's key needs no repartition: it stays in the
 * first segment, whose state it then holds.
 */
interface Segment {
  head: StatefulStage | undefined;
  /** The stateful stage whose state this segment's tasks hold, if any. */
  stateful: StatefulStage | undefined;
  stages: StageDef[];
}

/** What a job's hops are cut from. */
export interface TopologyOptions {
  namespace: string;
  jobId: string;
  pipeline: PipelineDef;
}

/**
 * A job's pipeline cut into hops: the first reads the sources, and each stateful stage starts
 * a hop of its own, fed by a repartition topic keyed by its grouping key, so a key's state lives
 * in exactly one task whatever the source partitioning. Names every topic and group the hops use.
 */
export class Topology {
  private readonly segments: Segment[];
  /**
   * The stream joins, whose other sides are hops of their own after the pipeline's (hop
   * `segments.length + j` reads stream join j's other source into its repartition topic).
   */
  private readonly others: StreamJoinStage[];

  constructor(private readonly o: TopologyOptions) {
    this.segments = split(o.pipeline.stages);
    this.others = streamJoins(o.pipeline.stages);
  }

  /** How many hops the job has. */
  get hops(): number {
    return this.segments.length + this.others.length;
  }

  /** The hops of the pipeline's own chain, before the stream joins' other sides. */
  get chainHops(): number {
    return this.segments.length;
  }

  /** The stream join whose other side hop i reads, if it is such a hop. */
  private otherOf(i: number): StreamJoinStage | undefined {
    return i >= this.segments.length ? this.others[i - this.segments.length] : undefined;
  }

  /** The changelog topic of each stateful stage, and of each table join (join-topology.ts). */
  get changelogs(): { topic: string; stage: string; exact?: boolean }[] {
    const { namespace, jobId, pipeline } = this.o;
    return this.segments.flatMap((s, i) => [
      ...(s.stateful
        ? [{ stage: s.stateful.name, topic: changelogTopic(namespace, jobId, s.stateful.name) }]
        : []),
      ...joinChangelogs(s.stages, namespace, jobId, i === 0 && pipeline.source.topics.length > 1),
    ]);
  }

  /** The stateful stages held on the source's partitions (groupByKey): no repartition topic. */
  get inPlace(): string[] {
    return this.segments.flatMap((s) => (s.stateful && !s.head ? [s.stateful.name] : []));
  }

  /** The repartition topics, one per stateful stage that is not in place. */
  get repartitions(): string[] {
    return this.segments.flatMap((s, i) => this.inputTopic(i) ?? []);
  }

  /** The consumer groups, one per hop: the job's group, then one per stateful stage. */
  get groups(): string[] {
    return Array.from({ length: this.hops }, (_, i) => this.groupOf(i));
  }

  /** Each hop's consumer group and the topics it reads: the sources, then a repartition topic each. */
  get inputs(): { groupId: string; topics: string[] }[] {
    return Array.from({ length: this.hops }, (_, i) => {
      const input = this.inputTopic(i);
      const sources = this.otherOf(i)?.other.topics ?? this.o.pipeline.source.topics;
      return { groupId: this.groupOf(i), topics: input ? [input] : sources };
    });
  }

  /** The internal topic hop i writes: the next hop's, or its stream join's; none for sinks. */
  nextInput(i: number): string | undefined {
    const other = this.otherOf(i);
    if (other) return repartitionTopic(this.o.namespace, this.o.jobId, other.name);
    return i + 1 < this.segments.length ? this.inputTopic(i + 1) : undefined;
  }

  /** Hop i's stages, in order (what `sluice describe` shows). */
  stagesOf(i: number): readonly StageDef[] {
    return this.segments[i]?.stages ?? [];
  }

  /** Hop i's consumer group. */
  groupOf(i: number): string {
    const head = this.segments[i]?.head;
    const { namespace, jobId } = this.o;
    const other = this.otherOf(i);
    if (other) return otherGroup(namespace, jobId, other.name);
    return head ? stageGroup(namespace, jobId, head.name) : jobGroup(namespace, jobId);
  }

  /** Hop i's repartition input; undefined for the first hop, which reads the sources. */
  inputTopic(i: number): string | undefined {
    const head = this.segments[i]?.head;
    return head ? repartitionTopic(this.o.namespace, this.o.jobId, head.name) : undefined;
  }

  /** Every hop's spec: its inputs, stages, outputs and changelog, in order. */
  specs(codecs: {
    json: Deserializer;
    source: Deserializer;
    /** One per sink of the pipeline, in its order. */
    sinks: Serializer[];
    retry: RetryPolicy;
    /**
     * How a join reads a table or its other stream, by format; none: no table is followed
     * (a dry run, which runs the chain on saved state).
     */
    reader?: (format: Format) => Deserializer;
  }): HopSpec[] {
    const { pipeline } = this.o;
    const others = this.others.map((stage, j) =>
      otherSpec(stage, {
        index: this.segments.length + j,
        topic: this.nextInput(this.segments.length + j) ?? '',
        groupId: this.groupOf(this.segments.length + j),
        deserializer: codecs.reader?.(stage.other.format) ?? codecs.source,
        retry: codecs.retry,
      }),
    );
    const main = this.segments.map((segment, i): HopSpec => {
      const next = this.segments[i + 1]?.head;
      const input = this.inputTopic(i);
      return {
        index: i,
        inputs: input ? [input] : pipeline.source.topics,
        purgeInput: input !== undefined,
        deserializer: input ? codecs.json : codecs.source,
        stages: segment.stages,
        // A branch ends the pipeline, so only the last hop has several outputs.
        outputs: next
          ? [
              {
                topic: this.inputTopic(i + 1) ?? '',
                key: (out) => next.key(out.value, out.key),
                // A stream join's records carry their side and time (join-stream.ts).
                write:
                  next.kind === 'joinStream'
                    ? (v, time) => sideRecord(next, 'l', time, v)
                    : (v) => Buffer.from(JSON.stringify(v) ?? 'null'),
                internal: true,
                // Event time crosses the hop only for a later stage that reads it.
                time: this.segments.slice(i + 1).some((s) => s.stages.some(needsEventTime)),
              },
            ]
          : pipeline.sinks.map((sink, s) => {
              const serializer = codecs.sinks[s] as Serializer;
              return {
                topic: sink.topic,
                key: (out) => (sink.key ? sink.key(out.value) : out.key),
                write: (v) => serializer.write(v),
                internal: false,
              };
            }),
        changelogs: this.changelogs.filter(
          (c) =>
            c.stage === segment.stateful?.name || segment.stages.some((s) => s.name === c.stage),
        ),
        tables: codecs.reader ? hopTables(segment.stages, codecs.reader) : [],
        groupId: this.groupOf(i),
        retry: codecs.retry,
      };
    });
    return [...main, ...others];
  }
}

function split(stages: StageDef[]): Segment[] {
  const first: Segment = { head: undefined, stateful: undefined, stages: [] };
  const segments = [first];
  for (const stage of stages) {
    // Only the first stateful stage (groupByKey() refuses any other): one changelog per hop.
    const inPlace =
      isStateful(stage) && stage.byRecordKey && segments.length === 1 && !first.stateful;
    if (inPlace) first.stateful = stage;
    if (isStateful(stage) && !inPlace)
      segments.push({ head: stage, stateful: stage, stages: [stage] });
    else segments.at(-1)?.stages.push(stage);
  }
  return segments;
}
