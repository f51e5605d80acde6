import type { ConsumedRecord, RecordHeaders } from '../kafka/port.js';
import type { RecordRef } from '../domain/cause.js';

// Records on internal repartition topics carry the coordinates of the source record they came
// from, so a failure in a later hop still names the record the user can find, and a resume's
// skip or dead-letter acts on that same record.

/**
 * One header, its value the origin as JSON: `{"topic","partition","offset","key"}`. It was four
 * headers; kafkajs encodes each header into a buffer of its own (512 bytes, zeroed), so they
 * cost more than the rest of the record (measured with `npm run bench:records`).
 */
const ORIGIN = 'sluice-origin';

/** The four headers repartition records had before {@link ORIGIN}: still read, never written. */
const LEGACY = {
  topic: 'sluice-origin-topic',
  partition: 'sluice-origin-partition',
  offset: 'sluice-origin-offset',
  key: 'sluice-origin-key',
};

/** Where a record came from: its own coordinates on a source, or its origin headers on a repartition topic. */
export interface Origin {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

/** The origin of a record read from `topic`/`partition`. */
export function originOf(topic: string, partition: number, message: ConsumedRecord): Origin {
  const h = message.headers;
  if (h) {
    const carried = parseOrigin(header(h, ORIGIN)) ?? legacyOrigin(h);
    if (carried) return carried;
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : null,
  };
}

/** Headers that carry an origin onto a repartition record. */
export function originHeaders(origin: Origin): RecordHeaders {
  return { [ORIGIN]: JSON.stringify(origin) };
}

/** The origin in an {@link ORIGIN} header, or undefined when absent or not one (no guessing). */
function parseOrigin(text: string | undefined): Origin | undefined {
  if (text === undefined) return undefined;
  try {
    const o = JSON.parse(text) as Partial<Origin>;
    if (
      typeof o.topic === 'string' &&
      typeof o.partition === 'number' &&
      typeof o.offset === 'string' &&
      (typeof o.key === 'string' || o.key === null)
    )
      return { topic: o.topic, partition: o.partition, offset: o.offset, key: o.key };
  } catch {
    // not JSON: treated as no origin, like a missing header
  }
  return undefined;
}

function legacyOrigin(h: RecordHeaders): Origin | undefined {
  const t = header(h, LEGACY.topic);
  const p = header(h, LEGACY.partition);
  const o = header(h, LEGACY.offset);
  if (t === undefined || p === undefined || o === undefined) return undefined;
  return { topic: t, partition: Number(p), offset: o, key: header(h, LEGACY.key) ?? null };
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

function header(h: RecordHeaders, name: string): string | undefined {
  const v = h[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}
