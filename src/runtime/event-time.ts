import type { ConsumedRecord, ProducedRecord, RecordHeaders } from '../kafka/port.js';
import type { StageDef } from '../pipeline/stages.js';
import { originHeaders, type Origin } from './origin.js';

// Event time per record. A record's time is its Kafka timestamp, unless it came over a
// repartition topic: there the record Sluice wrote carries its input's time in a header, so a
// windowed stage after the hop sees the time of the source record, not the time of the hop's
// write. A header, not the repartition record's own Kafka timestamp: on a repartition topic made
// before they had no time retention (topics.ts), a record stamped with an old event time would
// be deleted before the next hop read it.

/** The header a repartition record carries its event time in (decimal milliseconds). */
const TIME = 'sluice-time';

/** A value a windowed stage found too late for every window of its own. */
export interface LateItem {
  stage: string;
  /** The stage's late-records topic; undefined: dropped, counted. */
  topic: string | undefined;
  key: string;
  value: unknown;
  ts: number;
}

/**
 * The record being run and what the time-reading stages made of it, per task: the chunk sets
 * `record` before each record and takes `late` after each one that succeeded. It sits on the
 * task's state store, the one per-task object every stage is handed (see StateStore.time).
 */
export class RecordTime {
  /** The event time of the record being run: see {@link recordTime}. */
  record = 0;
  readonly late: LateItem[] = [];
}

/** True for a stage that reads the event time of the record being run (a window). */
export function readsTime(stage: StageDef): boolean {
  return stage.kind === 'window';
}

/**
 * True for a stage whose hop's input must carry event time: a window's, and a stream join's,
 * whose side records take it where the hop before the join reads (join-stream.ts). The join's
 * own hop reads the time from the side records, not from the record being run.
 */
export function needsEventTime(stage: StageDef): boolean {
  return readsTime(stage) || stage.kind === 'joinStream';
}

/** A consumed record's event time: carried in a header over a repartition topic, else its timestamp. */
export function recordTime(message: ConsumedRecord): number {
  const carried = message.headers?.[TIME];
  const text = Array.isArray(carried) ? carried[0] : carried;
  return Number(text === undefined ? message.timestamp : text.toString());
}

/** Headers of a repartition record: its origin, and its event time when a later hop reads it. */
export function internalHeaders(origin: Origin, time: number | undefined): RecordHeaders {
  const headers = originHeaders(origin);
  if (time !== undefined) headers[TIME] = String(time);
  return headers;
}

/** The late items taken out of `time`, as records for their late topics, and how many there were. */
export function takeLate(
  time: RecordTime,
  origin: Origin | undefined,
): { count: number; records: { topic: string; record: ProducedRecord }[] } {
  const records: { topic: string; record: ProducedRecord }[] = [];
  for (const l of time.late)
    if (l.topic !== undefined)
      records.push({
        topic: l.topic,
        record: {
          key: l.key,
          value: JSON.stringify(l.value) ?? 'null',
          headers: {
            'sluice-late-stage': l.stage,
            [TIME]: String(l.ts),
            ...(origin ? originHeaders(origin) : {}),
          },
        },
      });
  const count = time.late.length;
  time.late.length = 0;
  return { count, records };
}
