import type { ConsumedRecord, ProducedRecord, TopicRecords } from '../kafka/port.js';
import { isStateful, isThenable, type StageDef } from '../pipeline/stages.js';
import { execute, runFrom } from './execute.js';
import { ChunkOutputs, type OutputSpec } from './chunk-outputs.js';
import { originOf, type Origin } from './origin.js';
import { plannedAction, type ResumePlan } from '../domain/resume-plan.js';
import { deadLetterMessage, policyDeadLetter } from './dead-letter.js';
import type { HandledError, RecordPolicy } from './policy.js';
import type { Deserializer } from './serde.js';
import type { Task } from './task.js';
import { readsTime, recordTime, takeLate } from './event-time.js';

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
  /**
   * Where outputs go, by sink index: the sink, each branch's sink (see the `branch` stage), or
   * the next hop's repartition topic.
   */
  outputs: OutputSpec[];
}

/** A chunk's records, run: what to commit, and the first record that failed, if one did. */
export interface ChunkResult {
  /** Per topic written, in the order of the spec's outputs. */
  outputs: TopicRecords[];
  /** Items a `branch` stage dropped: no predicate matched and it has no default branch. */
  unrouted: number;
  /** Values a window stage found too late for all their windows (sent to its late topic, if any). */
  late: number;
  /** Records for dead-letter topics: the resume plan's, and the error policy's. */
  deadLetters: { topic: string; record: ProducedRecord }[];
  /** Records skipped or dead-lettered, by the resume plan or the error policy. */
  handled: HandledError[];
  /** The offset of the last record handled (processed, skipped or dead-lettered). */
  last: string | undefined;
  failed: ConsumedRecord | undefined;
  failure: unknown;
}

/** One chunk to run: a task's records, and what running them needs. */
export interface ChunkRun {
  spec: ChunkSpec;
  plan: ResumePlan;
  jobId: string;
  task: Task;
  messages: ConsumedRecord[];
  /** True once the chunk must stop (the hop stopped, or its partition moved). */
  stopped: () => boolean;
  now?: () => number;
  /** The time bound; CHUNK_TIME_MS by default. */
  timeMs?: number;
  /** The job's error policy on this hop; without one, a failing record stops the chunk. */
  policy?: RecordPolicy | undefined;
  /**
   * Runs before the chunk's records, in the task's pending state (a table join's copies caught
   * up: join-tables.ts). What it throws fails the chunk's first record.
   */
  prepare?: ((task: Task) => Promise<void>) | undefined;
  /** Waits out a retry's backoff (heartbeating meanwhile); a plain timer by default. */
  pause?: (ms: number) => Promise<void>;
}

/**
 * Runs a chunk of one partition's records through the stages, into the task's state (pending
 * until committed), applying the resume plan's skip or dead letter. Stops at the first record
 * that fails, whose partial state writes are reverted, as soon as `stopped()` says so, or once
 * `timeMs` has passed with at least one record handled; `last` says how far it got.
 */
export async function runChunk(run: ChunkRun): Promise<ChunkResult> {
  const { spec, task } = run;
  const unprepared = await prepared(run);
  if (unprepared) return unprepared;
  const at = spec.stages.findIndex((s) => s.kind === 'aggregate' && s.emit === 'commit');
  if (at === -1) return done(await runRecords(run));
  const start = task.state.mark();
  const origins = new Map<string, Origin>();
  const result = await runRecords(run, origins);
  try {
    await emitLatest(spec, at, task, origins, result.collected);
    return done(result);
  } catch {
    // A stage after the aggregate failed on a key's latest value. Which record to report is the
    // one whose update first fails, so the chunk runs again emitting every update: everything
    // before that record commits, exactly as without `emit: 'commit'`.
    task.state.revertTo(start);
    const stages = spec.stages.map((s, i) => (i === at ? { ...s, emit: 'update' as const } : s));
    return done(await runRecords({ ...run, spec: { ...spec, stages } }));
  }
}

/** Runs the chunk's `prepare`; what it threw, as the failure of the chunk's first record. */
async function prepared(run: ChunkRun): Promise<ChunkResult | undefined> {
  if (!run.prepare) return undefined;
  try {
    await run.prepare(run.task);
    return undefined;
  } catch (failure) {
    return {
      ...{ outputs: [], unrouted: 0, late: 0, deadLetters: [], handled: [], last: undefined },
      failed: run.messages[0],
      failure,
    };
  }
}

/** A chunk's run before its outputs are grouped per topic. */
type Running = Omit<ChunkResult, 'outputs' | 'unrouted'> & { collected: ChunkOutputs };

function done({ collected, ...rest }: Running): ChunkResult {
  return { ...rest, outputs: collected.byTopic(), unrouted: collected.unrouted };
}

/**
 * The outputs of an aggregate that emits per commit (stage `at`): each key it updated in this
 * chunk, with its latest value, run through the stages after it. A record for the next hop
 * carries the origin of the last record that updated the key.
 */
async function emitLatest(
  spec: ChunkSpec,
  at: number,
  task: Task,
  origins: Map<string, Origin>,
  collected: ChunkOutputs,
): Promise<void> {
  const stage = spec.stages[at] as StageDef;
  for (const [key, value] of task.state.pendingOf(stage.name)) {
    let outs = runFrom(spec.stages, at + 1, [{ key, value: { key, value } }], task.state);
    if (isThenable(outs)) outs = await outs;
    const origin = origins.get(key);
    for (const out of outs) collected.add(out, origin);
  }
}

/**
 * The records of a chunk, one by one (see runChunk). With `origins`, notes for each state key
 * written the origin of the last record that wrote it.
 */
async function runRecords(run: ChunkRun, origins?: Map<string, Origin>): Promise<Running> {
  const { spec, plan, jobId, task, messages, stopped, now = Date.now } = run;
  const deadline = now() + (run.timeMs ?? CHUNK_TIME_MS);
  const collected = new ChunkOutputs(spec.outputs, spec.stages);
  const result: Running = {
    collected,
    deadLetters: [],
    late: 0,
    handled: [],
    last: undefined,
    failed: undefined,
    failure: undefined,
  };
  // Origins are read only where used: a plan naming a record, headers for the next hop, or a
  // policy that may dead-letter.
  const tracksOrigin =
    spec.outputs.some((o) => o.internal) || plan.record !== null || run.policy !== undefined;
  // The record's key as text, only for a stage that groups by it (groupByKey).
  const byRecordKey = spec.stages.some((s) => isStateful(s) && s.byRecordKey);
  // Event time, only where a window reads it or a repartition record carries it on.
  const timed = spec.stages.some(readsTime) || spec.outputs.some((o) => o.time === true);
  // Nothing else runs while this does not await, so `stopped()` can only change across an await:
  // it is asked before the first record and after each record that awaited. Asking kafkajs
  // (`isStale()`) for every record cost about 1.5 % of a keyed job's CPU.
  let awaited = true;
  records: for (const message of messages) {
    if ((awaited && stopped()) || (result.last !== undefined && now() >= deadline)) break;
    awaited = false;
    const origin = tracksOrigin ? originOf(task.topic, task.partition, message) : undefined;
    const time = timed ? recordTime(message) : undefined;
    if (time !== undefined) task.state.time.record = time;
    const planned = origin && plannedAction(plan, origin.topic, origin.partition, origin.offset);
    if (planned !== undefined && plan.record) {
      if (planned === 'DEAD_LETTER' && plan.deadLetterTopic)
        result.deadLetters.push({
          topic: plan.deadLetterTopic,
          record: deadLetterMessage(jobId, message, plan.record, plan.cause),
        });
      result.handled.push(resumed(plan, planned));
      result.last = message.offset;
      continue;
    }
    for (let attempt = 1; ; attempt++) {
      const mark = task.state.mark();
      const before = collected.records.length;
      const unroutedBefore = collected.unrouted;
      try {
        // Awaited only when async (Avro, async user code): see execute.
        let value = spec.deserializer.read(message.value);
        if (isThenable(value)) {
          awaited = true;
          value = await value;
        }
        const recordKey = byRecordKey && message.key !== null ? message.key.toString() : null;
        let outs = execute(spec.stages, value, task.state, recordKey);
        if (isThenable(outs)) {
          awaited = true;
          outs = await outs;
        }
        for (const out of outs) collected.add(out, origin, time);
        if (task.state.time.late.length > 0) {
          // Late values go to their topic with the outputs: in the same transaction.
          const late = takeLate(task.state.time, origin);
          result.late += late.count;
          result.deadLetters.push(...late.records);
        }
        if (origins && origin) {
          const writes = task.state.pendingWrites();
          for (let w = mark; w < writes.length; w++)
            origins.set((writes[w] as { key: string }).key, origin);
        }
        result.last = message.offset;
        break;
      } catch (err) {
        // The failing record's partial state writes go, and any output it wrote before the
        // one that failed (a sink that could not write its second output, say).
        task.state.revertTo(mark);
        collected.revertTo(before, unroutedBefore);
        const at = origin ?? originOf(task.topic, task.partition, message);
        const step = run.policy?.step(
          err,
          attempt,
          result.handled.filter((h) => h.byPolicy),
          `${at.topic}/${at.partition}@${at.offset}`,
        ) ?? { kind: 'stop' as const, failure: err };
        if (step.kind === 'retry') {
          awaited = true;
          await (run.pause ?? sleep)(step.delayMs);
          if (stopped()) break records;
          continue;
        }
        if (step.kind === 'handled') {
          const h = step.handled;
          if (h.action === 'DEAD_LETTER' && h.topic)
            result.deadLetters.push({
              topic: h.topic,
              record: policyDeadLetter(jobId, message, at, h),
            });
          result.handled.push(h);
          result.last = message.offset;
          break;
        }
        result.failed = message;
        result.failure = step.failure;
        break records;
      }
    }
  }
  return result;
}

/** The record a resume skipped or dead-lettered, for the counts (not the budget: a user chose). */
function resumed(plan: ResumePlan, action: 'SKIP' | 'DEAD_LETTER'): HandledError {
  const r = plan.record as NonNullable<ResumePlan['record']>;
  return {
    stage: plan.cause?.stage ?? 'source',
    action,
    topic: action === 'DEAD_LETTER' ? plan.deadLetterTopic : null,
    error: plan.cause?.error ?? { name: 'Unknown', message: '', stack: null },
    record: `${r.topic}/${r.partition}@${r.offset}`,
    byPolicy: false,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
