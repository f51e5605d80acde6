/** The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body. */
export const MAGIC_BYTE = 0;

/** Frames an Avro body with its schema id. */
export function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** Splits a framed record; undefined when the bytes are not in the wire format. */
export function unframe(bytes: Buffer): { schemaId: number; body: Buffer } | undefined {
  if (bytes.length < 5 || bytes[0] !== MAGIC_BYTE) return undefined;
  return { schemaId: bytes.readInt32BE(1), body: bytes.subarray(5) };
}
