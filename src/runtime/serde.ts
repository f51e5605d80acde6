import { AvroCodec, type SchemaRegistry } from '../codec/registry.js';
import { subjectFor } from '../codec/log-codec.js';
import type { KafkaSinkDef } from '../pipeline/sinks.js';
import type { Format } from '../pipeline/formats.js';
import type { MaybePromise } from '../pipeline/stages.js';

/** A record value that could not be read in the source's format. */
export class DeserializationFailure extends Error {
  constructor(
    readonly format: Format,
    override readonly cause: unknown,
  ) {
    super(
      `value is not valid ${format}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'DeserializationFailure';
  }
}

/** Reads source values in one format; Avro values are read with their writer's schema from the registry. */
export class Deserializer {
  private readonly avro: AvroCodec | undefined;

  private readonly format: Format;

  constructor({ format, registry }: { format: Format; registry: SchemaRegistry }) {
    this.format = format;
    // Reading needs no reader schema of our own: the writer's schema is the record's shape.
    this.avro =
      format === 'avro'
        ? new AvroCodec(registry, '(source)', { type: 'null' }, { readWithWriterSchema: true })
        : undefined;
  }

  /** The value; a promise only for Avro, whose writer schema may have to be fetched first. */
  read(value: Buffer | null): MaybePromise<unknown> {
    if (value === null) return null;
    try {
      switch (this.format) {
        case 'json':
          return JSON.parse(value.toString('utf8')) as unknown;
        case 'string':
          return value.toString('utf8');
        case 'bytes':
          return value;
        case 'avro':
          return (this.avro as AvroCodec).decode(value).catch((err: unknown) => {
            throw new DeserializationFailure(this.format, err);
          });
      }
    } catch (err) {
      throw new DeserializationFailure(this.format, err);
    }
  }
}

/** Writes sink values in the sink's format. */
export class Serializer {
  private readonly avro: AvroCodec | undefined;

  private readonly sink: KafkaSinkDef;

  constructor({ sink, registry }: { sink: KafkaSinkDef; registry: SchemaRegistry }) {
    this.sink = sink;
    this.avro =
      sink.format === 'avro' && sink.schema
        ? new AvroCodec(registry, subjectFor(sink.topic), sink.schema)
        : undefined;
  }

  /** Registers the sink's Avro schema, if any. */
  async ready(): Promise<void> {
    await this.avro?.ready();
  }

  write(value: unknown): Buffer {
    switch (this.sink.format) {
      case 'json':
        return Buffer.from(JSON.stringify(value) ?? 'null');
      case 'string':
        return Buffer.from(typeof value === 'string' ? value : String(value));
      case 'bytes':
        return Buffer.isBuffer(value) ? value : Buffer.from(String(value));
      case 'avro':
        return (this.avro as AvroCodec).encode(value as object);
    }
  }
}
