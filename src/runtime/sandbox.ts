import type { RecordRef } from '../domain/cause.js';
import {
  DRY_RUN_PREVIEW_CHARS,
  MAX_DRY_RUN_OUTPUTS,
  type DryRunAnswer,
  type DryRunOutput,
} from '../domain/dry-run-answer.js';
import { SluiceError } from '../domain/errors.js';
import type { SchemaRegistry } from '../codec/registry.js';
import type { JobState } from '../domain/state.js';
import { withAdmin } from '../kafka/offsets.js';
import type { ConsumedRecord, Kafka } from '../kafka/port.js';
import { readRecord } from '../kafka/read-to-end.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import type { Format } from '../pipeline/formats.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { isStateful, isThenable } from '../pipeline/stages.js';
import { execute, runFrom, type Output } from './execute.js';
import { errorInfo, failureReport } from './failure.js';
import type { HopSpec } from './hop-spec.js';
import { restoreState } from './restore.js';
import { Deserializer, Serializer } from './serde.js';
import { StateStore } from './state-store.js';
import { recordTime } from './event-time.js';
import { Topology } from './topology.js';

/** What running a failing record in a sandbox needs. */
export interface SandboxOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  namespace: string;
  job: JobState;
  /** The job's pipeline, built by this worker's code: the code under test. */
  pipeline: PipelineDef;
  record: RecordRef;
  retry: RetryPolicy;
  logger: Logger;
}

/** What the record did in the sandbox: an answer without its request id, worker and fingerprint. */
export type SandboxResult = Pick<DryRunAnswer, 'outputs' | 'outputCount' | 'error' | 'stage'>;

/** One record between hops, or leaving the last one: its key and value as written. */
interface Written {
  key: string | null;
  /** Null only for a source record without a value (a tombstone). */
  bytes: Buffer | null;
  value: unknown;
  /** The format it was written in: JSON between hops, the sink's out of the last. */
  format: Format;
}

/**
 * Runs the record the job failed on through this worker's code, changing nothing: the record is
 * read by its coordinates through a throwaway group that commits nothing; each stateful stage's
 * state is read from its changelog into a store that is never committed nor written back; the
 * outputs are kept, not sent. The whole pipeline runs in one go: each hop's outputs are handed
 * to the next hop as the repartition topic would carry them (the grouping key, the value as
 * JSON). Never throws: whatever fails is the answer, with the stage it failed in.
 */
export async function runInSandbox(o: SandboxOptions): Promise<SandboxResult> {
  const { record } = o;
  let message: ConsumedRecord | undefined;
  let state: StateStore;
  try {
    message = await readRecord(o.kafka, record.topic, record.partition, BigInt(record.offset));
    state = await readState(o);
  } catch (err) {
    return failed(errorInfo(err), null);
  }
  if (!message)
    return failed(
      errorInfo(
        new SluiceError(
          'SLUICE_SOURCE_DATA_LOST',
          `Record ${record.topic}/${record.partition}@${record.offset} can no longer be read (deleted by retention or deleteRecords, or compacted away), so it cannot be run again. A resume that retries it would not meet it either.`,
          { details: { ...record } },
        ),
      ),
      null,
    );
  const topology = new Topology({
    namespace: o.namespace,
    jobId: o.job.jobId,
    pipeline: o.pipeline,
  });
  const sinks = o.pipeline.sinks.map((sink) => new Serializer({ sink, registry: o.registry }));
  try {
    const specs = topology.specs({
      json: new Deserializer({ format: 'json', registry: o.registry }),
      source: new Deserializer({ format: o.pipeline.source.format, registry: o.registry }),
      sinks,
      retry: o.retry,
    });
    // An Avro sink's schema is the one the job registered when it ran: registering it again
    // only looks up its id.
    for (const sink of sinks) await sink.ready();
    const key = message.key?.toString() ?? null;
    // Every hop sees the source record's event time, as the repartition header carries it.
    state.time.record = recordTime(message);
    let records: Written[] = [{ key, bytes: message.value, value: null, format: 'json' }];
    const formats = o.pipeline.sinks.map((s) => s.format);
    // The chain a source record goes down; a stream join's other side is not part of it.
    for (const spec of specs.slice(0, topology.chainHops))
      records = await runHop(spec, records, state, formats);
    return {
      outputs: records.slice(0, MAX_DRY_RUN_OUTPUTS).map(output),
      outputCount: records.length,
      error: null,
      stage: null,
    };
  } catch (err) {
    const f = failureReport(err, '', record.topic, record.partition, message, null);
    return failed(f.error, f.stage);
  }
}

/** Runs a hop's stages on its inputs, as a chunk does (see chunk.ts), into the unsaved `state`. */
async function runHop(
  spec: HopSpec,
  inputs: Written[],
  state: StateStore,
  formats: Format[],
): Promise<Written[]> {
  const byRecordKey = spec.stages.some((s) => isStateful(s) && s.byRecordKey);
  const outs: Output[] = [];
  for (const input of inputs) {
    let value = spec.deserializer.read(input.bytes);
    if (isThenable(value)) value = await value;
    const recordKey = byRecordKey ? input.key : null;
    let result = execute(spec.stages, value, state, recordKey);
    if (isThenable(result)) result = await result;
    outs.push(...result);
  }
  // An aggregate that emits per commit passes each key's latest value on once the chunk is done.
  const at = spec.stages.findIndex((s) => s.kind === 'aggregate' && s.emit === 'commit');
  const stage = spec.stages[at];
  if (stage) {
    for (const [key, value] of state.pendingOf(stage.name)) {
      let result = runFrom(spec.stages, at + 1, [{ key, value: { key, value } }], state);
      if (isThenable(result)) result = await result;
      outs.push(...result);
    }
  }
  // As a chunk does (chunk-outputs.ts): each output to its branch's sink, unrouted ones to none.
  const several = spec.outputs.length > 1 || spec.stages.some((s) => s.kind === 'branch');
  return outs.flatMap((out) => {
    const sink = several ? (out.sink ?? 0) : 0;
    const to = spec.outputs[sink];
    if (!to) return [];
    const format = to.internal ? 'json' : (formats[sink] ?? 'json');
    return [{ key: to.key(out), bytes: to.write(out.value), value: out.value, format }];
  });
}

/**
 * The committed state of every stateful stage, read from the changelogs (none yet: empty) into
 * a store that nothing commits. A stage kept on the source's partitions (groupByKey) reads the
 * failing record's partition only; a repartitioned stage reads all of them, since the record's
 * grouping key is known only once the stages before it ran (each key lives in one partition).
 */
async function readState(o: SandboxOptions): Promise<StateStore> {
  const store = new StateStore();
  const topology = new Topology({
    namespace: o.namespace,
    jobId: o.job.jobId,
    pipeline: o.pipeline,
  });
  const inPlace = new Set(topology.inPlace);
  const { changelogs, partitions } = await withAdmin(o.kafka, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const changelogs = topology.changelogs.filter((c) => existing.has(c.topic));
    const partitions = new Map(
      changelogs.length === 0
        ? []
        : (await admin.partitions(changelogs.map((c) => c.topic))).map((p) => [
            p.topic,
            p.partitions,
          ]),
    );
    return { changelogs, partitions };
  });
  for (const c of changelogs) {
    const owned = inPlace.has(c.stage) ? [o.record.partition] : (partitions.get(c.topic) ?? []);
    await restoreState(
      o.kafka,
      [c],
      new Set(owned.map((p) => `${c.topic}:${p}`)),
      (_task, stage, key, value) => store.restore(stage, key, value),
      o.logger,
    );
  }
  return store;
}

function failed(error: DryRunAnswer['error'], stage: string | null): SandboxResult {
  return { outputs: [], outputCount: 0, error, stage };
}

/** An output as the answer shows it: its key and value, shortened. */
function output(r: Written): DryRunOutput {
  const format = r.format;
  const bytes = r.bytes ?? Buffer.alloc(0);
  const text =
    format === 'json' || format === 'string'
      ? bytes.toString('utf8')
      : format === 'bytes'
        ? `base64:${bytes.toString('base64')}`
        : (JSON.stringify(r.value) ?? String(r.value));
  return { key: r.key === null ? null : cut(r.key), valuePreview: cut(text) };
}

/** By code points, so a character outside the BMP is never cut in half. */
function cut(text: string): string {
  const chars = [...text];
  return chars.length > DRY_RUN_PREVIEW_CHARS
    ? `${chars.slice(0, DRY_RUN_PREVIEW_CHARS).join('')}…`
    : text;
}
