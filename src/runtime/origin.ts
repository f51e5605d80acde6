import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { RecordRef } from '../domain/cause.js';

// Records on internal repartition topics carry the coordinates of the source record they came
// from, so a failure in a later hop still names the record the user can find, and a resume's
// skip or dead-letter acts on that same record.

const TOPIC = 'sluice-origin-topic';
const PARTITION = 'sluice-origin-partition';
const OFFSET = 'sluice-origin-offset';
const KEY = 'sluice-origin-key';

/** Where a record came from: its own coordinates on a source, or its origin headers on a repartition topic. */
export interface Origin {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

/** The origin of a record read from `topic`/`partition`. */
export function originOf(topic: string, partition: number, message: KafkaMessage): Origin {
  const h = message.headers ?? {};
  const t = header(h, TOPIC);
  const p = header(h, PARTITION);
  const o = header(h, OFFSET);
  if (t !== undefined && p !== undefined && o !== undefined)
    return { topic: t, partition: Number(p), offset: o, key: header(h, KEY) ?? null };
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : null,
  };
}

/** Headers that carry an origin onto a repartition record. */
export function originHeaders(origin: Origin): IHeaders {
  const h: IHeaders = {
    [TOPIC]: origin.topic,
    [PARTITION]: String(origin.partition),
    [OFFSET]: origin.offset,
  };
  if (origin.key !== null) h[KEY] = origin.key;
  return h;
}

/** True when the origin is the record a resume plan names. */
export function isRecord(origin: Origin, record: RecordRef | null): boolean {
  return (
    record !== null &&
    record.topic === origin.topic &&
    record.partition === origin.partition &&
    record.offset === origin.offset
  );
}

function header(h: IHeaders, name: string): string | undefined {
  const v = h[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}
