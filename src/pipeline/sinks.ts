import { SluiceError } from '../domain/errors.js';
import type { Format } from './formats.js';
import { checkFormat } from './sources.js';

/** A Kafka sink: where a job writes. */
export interface KafkaSinkDef {
  kind: 'kafka';
  topic: string;
  format: Format;
  /** The record key for each output; default: the grouping key for keyed results, else none. */
  key?: ((value: unknown) => string | null) | undefined;
  /** For `avro`: the schema outputs are written with (registered under `<topic>-value`). */
  schema?: object | undefined;
}

/** Options of {@link Sinks.kafka}. */
export interface KafkaSinkOptions<T = unknown> {
  topic: string;
  format?: Format;
  key?: (value: T) => string | null;
  schema?: object;
}

/** Factories for sinks. */
export const Sinks = {
  /** Writes each output to a Kafka topic, serialised with `format` (default json). */
  kafka<T = unknown>(opts: KafkaSinkOptions<T>): KafkaSinkDef {
    if (typeof opts.topic !== 'string' || opts.topic.length === 0) {
      throw new SluiceError('SLUICE_CONFIG_INVALID', 'Sinks.kafka needs a `topic`.');
    }
    const format = checkFormat(opts.format ?? 'json', 'Sinks.kafka');
    if (format === 'avro' && !opts.schema) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `Sinks.kafka for ${opts.topic}: format "avro" needs a \`schema\` to write with.`,
      );
    }
    return {
      kind: 'kafka',
      topic: opts.topic,
      format,
      key: opts.key as KafkaSinkDef['key'],
      schema: opts.schema,
    };
  },
};
