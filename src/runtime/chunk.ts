import type { ConsumedRecord, ProducedRecord } from '../kafka/port.js';
import { isThenable, type StageDef } from '../pipeline/stages.js';
import { execute, type Output } from './execute.js';
import { originHeaders, originOf } from './origin.js';
import { plannedAction, type ResumePlan } from '../domain/resume-plan.js';
import { deadLetterMessage } from './dead-letter.js';
import type { Deserializer } from './serde.js';
import type { Task } from './task.js';

/**
 * A commit's records: at most this many, and no more than CHUNK_TIME_MS of processing holds.
 * Bigger chunks amortise each exactly-once commit's fixed round trips (five sequential requests
 * in kafkajs), but a chunk runs without a heartbeat, so slow user code in a big chunk delayed
 * rebalances; the time bound keeps that to about a second whatever the code costs.
 */
export const MAX_RECORDS_PER_COMMIT = 2_000;
export const CHUNK_TIME_MS = 1_000;

/** What running records through a hop's stages needs. */
export interface ChunkSpec {
  deserializer: Deserializer;
  stages: StageDef[];
  /** Where outputs go: the sink, or the next hop's repartition topic. */
  output: {
    topic: string;
    key: (out: Output) => string | null;
    write: (value: unknown) => Buffer;
    internal: boolean;
  };
}

/** A chunk's records, run: what to commit, and the first record that failed, if one did. */
export interface ChunkResult {
  outputs: ProducedRecord[];
  deadLetters: ProducedRecord[];
  /** The offset of the last record handled (processed, skipped or dead-lettered). */
  last: string | undefined;
  failed: ConsumedRecord | undefined;
  failure: unknown;
}

/**
 * Runs a chunk of one partition's records through the stages, into the task's state (pending
 * until committed), applying the resume plan's skip or dead letter. Stops at the first record
 * that fails, whose partial state writes are reverted, as soon as `stopped()` says so, or once
 * `timeMs` has passed with at least one record handled; `last` says how far it got.
 */
export async function runChunk(
  spec: ChunkSpec,
  plan: ResumePlan,
  jobId: string,
  task: Task,
  messages: ConsumedRecord[],
  stopped: () => boolean,
  now: () => number = Date.now,
  timeMs = CHUNK_TIME_MS,
): Promise<ChunkResult> {
  const deadline = now() + timeMs;
  const result: ChunkResult = {
    outputs: [],
    deadLetters: [],
    last: undefined,
    failed: undefined,
    failure: undefined,
  };
  // Origins are read only where used: a plan naming a record, or headers for the next hop.
  const tracksOrigin = spec.output.internal || plan.record !== null;
  // Nothing else runs while this does not await, so `stopped()` can only change across an await:
  // it is asked before the first record and after each record that awaited. Asking kafkajs
  // (`isStale()`) for every record cost about 1.5 % of a keyed job's CPU.
  let awaited = true;
  for (const message of messages) {
    if ((awaited && stopped()) || (result.last !== undefined && now() >= deadline)) break;
    awaited = false;
    const origin = tracksOrigin ? originOf(task.topic, task.partition, message) : undefined;
    const planned = origin && plannedAction(plan, origin.topic, origin.partition, origin.offset);
    if (planned !== undefined) {
      if (planned === 'DEAD_LETTER' && plan.record)
        result.deadLetters.push(deadLetterMessage(jobId, message, plan.record, plan.cause));
      result.last = message.offset;
      continue;
    }
    const mark = task.state.mark();
    try {
      // Awaited only when async (Avro, async user code): see execute.
      let value = spec.deserializer.read(message.value);
      if (isThenable(value)) {
        awaited = true;
        value = await value;
      }
      let outs = execute(spec.stages, value, task.state);
      if (isThenable(outs)) {
        awaited = true;
        outs = await outs;
      }
      for (const out of outs) {
        const record: ProducedRecord = {
          key: spec.output.key(out),
          value: spec.output.write(out.value),
        };
        if (origin && spec.output.internal) record.headers = originHeaders(origin);
        result.outputs.push(record);
      }
      result.last = message.offset;
    } catch (err) {
      task.state.revertTo(mark); // the failing record's partial state writes go too
      result.failed = message;
      result.failure = err;
      break;
    }
  }
  return result;
}
