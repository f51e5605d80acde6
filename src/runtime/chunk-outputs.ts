import type { ProducedRecord, TopicRecords } from '../kafka/port.js';
import { UNROUTED, type StageDef } from '../pipeline/stages.js';
import type { Output } from './execute.js';
import type { Origin } from './origin.js';
import { internalHeaders } from './event-time.js';

/** Where one sink's outputs go: a sink topic, or the next hop's repartition topic. */
export interface OutputSpec {
  topic: string;
  key: (out: Output) => string | null;
  /** `time`: the event time of the record the output came from, where `time` is set (a stream join's). */
  write: (value: unknown, time?: number) => Buffer;
  /** True for a repartition topic, whose records carry their origin in headers. */
  internal: boolean;
  /**
   * A repartition topic whose hop reads event time (a window, a stream join): its records carry
   * their input's, in a header and to `write`.
   */
  time?: boolean;
}

/**
 * A chunk's outputs as they are made, in order, and each one's sink when a `branch` stage
 * splits them among several; grouped per topic once the chunk is done. Without a branch
 * there is one sink and nothing is tagged: the common path pushes records and nothing else.
 */
export class ChunkOutputs {
  readonly records: ProducedRecord[] = [];
  /** Each record's sink index, only with a branch. */
  private readonly sinks: number[] = [];
  /** Items no branch took (no predicate matched and no default branch): dropped, counted. */
  unrouted = 0;
  private readonly several: boolean;

  constructor(
    private readonly outputs: readonly OutputSpec[],
    stages: readonly StageDef[],
  ) {
    this.several = outputs.length > 1 || stages.some((s) => s.kind === 'branch');
  }

  /** `time`: the event time of the record `out` came from, for a hop that carries it on. */
  add(out: Output, origin: Origin | undefined, time?: number): void {
    if (!this.several) {
      this.records.push(outputRecord(this.outputs[0] as OutputSpec, out, origin, time));
      return;
    }
    const sink = out.sink ?? 0;
    if (sink === UNROUTED) {
      this.unrouted++;
      return;
    }
    this.records.push(outputRecord(this.outputs[sink] as OutputSpec, out, origin, time));
    this.sinks.push(sink);
  }

  /**
   * Drops what a failed record added: back to `records` outputs and `unrouted` items, read
   * before it ran (two numbers, not an object: this is read once per record).
   */
  revertTo(records: number, unrouted: number): void {
    this.records.length = records;
    this.sinks.length = Math.min(this.sinks.length, records);
    this.unrouted = unrouted;
  }

  /** The records per topic, in the order of the sinks; one list, untouched, for one sink. */
  byTopic(): TopicRecords[] {
    if (!this.several)
      return [{ topic: (this.outputs[0] as OutputSpec).topic, messages: this.records }];
    const by = new Map<string, ProducedRecord[]>(this.outputs.map((o) => [o.topic, []]));
    this.records.forEach((r, i) =>
      by.get((this.outputs[this.sinks[i] ?? 0] as OutputSpec).topic)?.push(r),
    );
    return [...by].map(([topic, messages]) => ({ topic, messages }));
  }
}

function outputRecord(
  spec: OutputSpec,
  out: Output,
  origin: Origin | undefined,
  /** The event time a later hop reads (see event-time.ts). */
  eventTime: number | undefined,
): ProducedRecord {
  const record: ProducedRecord = { key: spec.key(out), value: spec.write(out.value, eventTime) };
  if (origin && spec.internal)
    record.headers = internalHeaders(origin, spec.time === true ? eventTime : undefined);
  return record;
}
