/** Tells which record encoder is Sluice's, whichever copy of this module made it. */
export const RECORD_MARK = Symbol.for('sluice.encodeRecord');

type Bytes = Buffer | string | null | undefined;

/** What kafkajs's produce request hands its record encoder. */
export interface RecordFields {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}

/** kafkajs's protocol encoder as a record batch reads it back: the bytes and their length. */
interface EncodedRecord {
  buf: Buffer;
  offset: number;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * kafkajs 2.2.4's encoder of one record (v2 record format), made cheap: the same bytes, written
 * once into a buffer of their exact size. kafkajs's own allocates a zeroed 512-byte buffer per
 * record and per header, builds a temporary array and buffer per varint and does 64-bit `Long`
 * arithmetic for the timestamp delta; encoding was the largest single cost of a Sluice job's
 * CPU (profiled with `BENCH_ONLY=... node --cpu-prof --import tsx test/bench/runtime.bench.ts`).
 *
 * Records outside the common shape (a timestamp delta beyond 32 bits, a key, value or header
 * of another type) go to kafkajs's encoder, so every record encodes exactly as it would there:
 * test/kafka/record.test.ts compares the bytes over generated records.
 */
export function cheapRecordEncoder(
  original: (fields: RecordFields) => EncodedRecord,
  encoderPrototype: object,
): (fields: RecordFields) => EncodedRecord {
  const encode = (fields: RecordFields): EncodedRecord => {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = fields;
    if (!isInt32(offsetDelta) || !isInt32(timestampDelta) || !isBytes(key) || !isBytes(value))
      return original(fields);
    const headerList: [string, Buffer | string][] = [];
    for (const name of Object.keys(headers)) {
      const h = headers[name];
      for (const v of Array.isArray(h) ? (h as unknown[]) : [h]) {
        // kafkajs rejects other header values (it measures them with Buffer.byteLength).
        if (typeof v !== 'string' && !Buffer.isBuffer(v)) return original(fields);
        headerList.push([name, v]);
      }
    }
    let body =
      1 + // attributes
      varIntSize(timestampDelta) +
      varIntSize(offsetDelta) +
      bytesSize(key) +
      bytesSize(value) +
      varIntSize(headerList.length);
    for (const [name, v] of headerList) body += bytesSize(name) + bytesSize(v);
    const size = varIntSize(body) + body;
    const buf = Buffer.allocUnsafe(size); // every byte is written below
    let at = writeVarInt(buf, 0, body);
    buf[at++] = 0; // attributes: none used
    at = writeVarInt(buf, at, timestampDelta);
    at = writeVarInt(buf, at, offsetDelta);
    at = writeBytes(buf, at, key);
    at = writeBytes(buf, at, value);
    at = writeVarInt(buf, at, headerList.length);
    for (const [name, v] of headerList) at = writeBytes(buf, writeBytes(buf, at, name), v);
    // A real kafkajs Encoder, as the record batch expects one (it reads `buf` and `buffer`).
    const encoded = Object.create(encoderPrototype) as EncodedRecord;
    encoded.buf = buf;
    encoded.offset = at;
    return encoded;
  };
  Object.defineProperty(encode, RECORD_MARK, { value: true });
  return encode;
}

function isInt32(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= INT32_MIN && (n as number) <= INT32_MAX;
}

function isBytes(v: unknown): v is Bytes {
  return v === null || v === undefined || typeof v === 'string' || Buffer.isBuffer(v);
}

/** Zigzag: a 32-bit signed integer as the unsigned one varints carry (-1 → 1, 1 → 2). */
function zigzag(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

/** Size of a signed varint; for 32-bit values also that of the varlong kafkajs writes. */
function varIntSize(n: number): number {
  let v = zigzag(n);
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

function writeVarInt(buf: Buffer, at: number, n: number): number {
  let v = zigzag(n);
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

/** A length-prefixed byte field: -1 for null, else the length and the bytes (strings as UTF-8). */
function bytesSize(v: Bytes): number {
  if (v === null || v === undefined) return 1;
  const length = typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
  return varIntSize(length) + length;
}

function writeBytes(buf: Buffer, at: number, v: Bytes): number {
  if (v === null || v === undefined) return writeVarInt(buf, at, -1);
  if (typeof v === 'string') {
    const length = Buffer.byteLength(v, 'utf8');
    at = writeVarInt(buf, at, length);
    return at + buf.write(v, at, length, 'utf8');
  }
  at = writeVarInt(buf, at, v.length);
  return at + v.copy(buf, at);
}
