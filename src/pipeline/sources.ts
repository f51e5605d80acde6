import { SluiceError } from '../domain/errors.js';
import { FORMATS, type Format } from './formats.js';

/** A Kafka source: what a job reads. */
export interface KafkaSourceDef {
  kind: 'kafka';
  topics: string[];
  format: Format;
  /** Read up to the end offsets taken when the job starts, then complete (a batch job). */
  bounded: boolean;
}

/** Options of {@link Sources.kafka}: one topic or several. */
export type KafkaSourceOptions = (
  { topic: string; topics?: never } | { topics: string[]; topic?: never }
) & {
  format?: Format;
  bounded?: boolean;
};

/** Factories for sources. */
export const Sources = {
  /** Reads one or more Kafka topics; each record's value is deserialised with `format` (default json). */
  kafka(opts: KafkaSourceOptions): KafkaSourceDef {
    const topics = opts.topic !== undefined ? [opts.topic] : (opts.topics ?? []);
    if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t.length === 0)) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        'Sources.kafka needs `topic` or a non-empty `topics` list of topic names.',
      );
    }
    return {
      kind: 'kafka',
      topics,
      format: checkFormat(opts.format ?? 'json', 'Sources.kafka'),
      bounded: opts.bounded ?? false,
    };
  },
};

/** Validates a format name given by user code (which may not be typed). */
export function checkFormat(format: string, where: string): Format {
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `${where}: format "${format}" is not one of ${FORMATS.join(', ')}.`,
    );
  }
  return format as Format;
}
