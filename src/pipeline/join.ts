import { SluiceError } from '../domain/errors.js';
import { checkedName, retryable } from './checks.js';
import type { Format } from './formats.js';
import { checkFormat } from './sources.js';
import type { MaybePromise, Retryable } from './stages.js';

// Stream–table joins: the builder's half. The runtime's half is runtime/join-table*.ts; what a
// record sees of the table, and when, is documented in docs/pipelines.md#joins.

/**
 * A compacted topic read as a table: each record's Kafka key (as UTF-8 text) is an entry's
 * key, its value the entry, a null value (a tombstone) deletes the key. `V` is the entries'
 * type, as `readFrom<T>` gives a stream's.
 */
export interface KafkaTableDef<V = unknown> {
  kind: 'kafkaTable';
  topic: string;
  format: Format;
  /** Never set: carries `V` from `Tables.kafka<V>()` to the join's function. */
  readonly entry?: V;
}

/** Options of {@link Tables.kafka}. */
export interface KafkaTableOptions {
  topic: string;
  /** How entries are read: `json` (the default), `string`, `bytes` or `avro`. */
  format?: Format;
}

/** Factories for tables a stream can be joined with. */
export const Tables = {
  /** A compacted Kafka topic, read whole by every task of the stage that joins it. */
  kafka<V = unknown>(opts: KafkaTableOptions): KafkaTableDef<V> {
    if (typeof opts.topic !== 'string' || opts.topic.length === 0)
      throw new SluiceError('SLUICE_CONFIG_INVALID', 'Tables.kafka needs a `topic`.');
    return {
      kind: 'kafkaTable',
      topic: opts.topic,
      format: checkFormat(opts.format ?? 'json', 'Tables.kafka'),
    };
  },
};

/** Options of `joinTable` (inner: a record without a partner is dropped). */
export interface TableJoinOptions<T, V, U> {
  /** Names the stage and its state topic, which holds the task's copy of the table. */
  name: string;
  /** The table key a value joins: compared with the table records' Kafka keys, as text. */
  key: (value: T) => string | number;
  /** The output for a value and its partner. */
  join: (value: T, partner: V) => MaybePromise<U>;
  retryable?: Retryable;
}

/** Options of `leftJoinTable`: a record without a partner is joined with null. */
export interface LeftTableJoinOptions<T, V, U> extends Omit<TableJoinOptions<T, V, U>, 'join'> {
  join: (value: T, partner: V | null) => MaybePromise<U>;
}

/** A table join as the runtime sees it (one of the pipeline's `StageDef`s). */
export interface TableJoinStage {
  kind: 'joinTable';
  name: string;
  table: { topic: string; format: Format };
  key: (value: unknown) => string | number;
  join: (value: unknown, partner: unknown) => MaybePromise<unknown>;
  /** Inner: a value whose key the table lacks is dropped; else (left) joined with null. */
  inner: boolean;
  retryable?: Retryable;
}

/** The stage for `joinTable` / `leftJoinTable`, its options checked (user code may be untyped). */
export function tableJoinStage(
  table: KafkaTableDef<unknown>,
  opts: { name: string; key: unknown; join: unknown; retryable?: Retryable },
  inner: boolean,
): TableJoinStage {
  const what = inner ? 'joinTable' : 'leftJoinTable';
  if (typeof table !== 'object' || table === null || table.kind !== 'kafkaTable')
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `${what}(table, options): the first argument must be a table, Tables.kafka({ topic }).`,
    );
  const name = checkedName(opts.name);
  for (const fn of ['key', 'join'] as const)
    if (typeof opts[fn] !== 'function')
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `${what} "${name}": \`${fn}\` must be a function.`,
      );
  return {
    kind: 'joinTable',
    name,
    table: { topic: table.topic, format: table.format },
    key: opts.key as (value: unknown) => string | number,
    join: opts.join as (value: unknown, partner: unknown) => MaybePromise<unknown>,
    inner,
    ...retryable(opts),
  };
}
