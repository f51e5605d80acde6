import type { ErrorInfo, FailureReport } from '../domain/cause.js';
import { SluiceError } from '../domain/errors.js';
import { SourceDataLostError } from '../domain/data-loss.js';
import type { ConsumedRecord } from '../kafka/port.js';
import { DeserializationFailure } from './serde.js';
import { StageFailure } from './execute.js';
import { originOf } from './origin.js';
import { Escalation } from './escalation.js';

/** Outputs, state or offsets that could not be committed: not retriable, or retried past the budget. */
export class CommitFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly attempts: number,
    readonly elapsedMs: number,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'CommitFailure';
  }

  get description(): string {
    return this.attempts > 1
      ? `Writing outputs and offsets kept failing for ${Math.round(this.elapsedMs / 1000)} s (${this.attempts} attempts); the records from this one on are not committed`
      : 'Writing outputs and offsets failed with an error that cannot be retried; the records from this one on are not committed';
  }
}

/**
 * Tasks that could not be opened: their producer initialised, their state restored from the
 * changelogs, their position read. Not a record's fault, so the failure names no record.
 */
export class TaskOpenFailure extends Error {
  constructor(
    readonly tasks: string[],
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'TaskOpenFailure';
  }
}

/**
 * A hop's consumer that kept crashing (a broker away longer than the retry budget, say) or
 * stopped for good: nothing of the hop was read meanwhile. Not a record's fault either.
 */
export class ReadFailure extends Error {
  constructor(
    readonly inputs: string[],
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'ReadFailure';
  }
}

/** The report of a hop that could not read its inputs, after `attempts` over `elapsedMs`. */
export function readFailureReport(
  err: ReadFailure,
  worker: string,
  attempts: number,
  elapsedMs: number,
): FailureReport {
  const inputs = err.inputs.join(', ');
  return {
    description:
      err.cause instanceof SourceDataLostError
        ? err.cause.message
        : elapsedMs > 0
          ? `Kafka kept failing for ${Math.round(elapsedMs / 1000)} s (${attempts} attempt${attempts === 1 ? '' : 's'}) under the hop reading ${inputs}; nothing more was processed`
          : `The consumer of ${inputs} stopped with an error it does not recover from; nothing more was processed`,
    error: errorInfo(err.cause),
    stage: null,
    worker,
    record: null,
    fingerprint: null,
  };
}

/** The report of tasks that could not be opened, after `attempts` over `elapsedMs`. */
export function openFailureReport(
  err: TaskOpenFailure,
  worker: string,
  attempts: number,
  elapsedMs: number,
): FailureReport {
  const tasks = err.tasks.join(', ');
  return {
    description:
      attempts > 1
        ? `Task(s) ${tasks} could not open or restore their state for ${Math.round(elapsedMs / 1000)} s (${attempts} attempts); nothing from them was processed`
        : `Task(s) ${tasks} could not open or restore their state, with an error that cannot be retried; nothing from them was processed`,
    error: errorInfo(err.cause),
    stage: null,
    worker,
    record: null,
    fingerprint: null,
  };
}

/** How much of a failing record's value the cause shows. */
const PREVIEW_CHARS = 256;

/**
 * Builds the report a task sends when it meets a record it cannot process. `fingerprint` is the
 * worker's fingerprint of the pipeline's code: the report carries it when the code failed on the
 * record (a stage threw, the source format could not read it, the sink could not write it), and
 * not for a commit that kept failing, which is Kafka's failure, not the code's: resuming the same
 * code is then the remedy, and a resume must not be refused for it.
 */
export function failureReport(
  reported: unknown,
  worker: string,
  topic: string,
  partition: number,
  message: ConsumedRecord,
  fingerprint: string | null,
): FailureReport {
  // A rule of the job's error policy, or its spent budget, chose what happens: say so.
  const escalation = reported instanceof Escalation ? reported : null;
  const err = escalation ? escalation.failure : reported;
  const cause =
    err instanceof StageFailure ||
    err instanceof DeserializationFailure ||
    err instanceof CommitFailure
      ? err.cause
      : err;
  const stage =
    err instanceof StageFailure
      ? err.stage
      : err instanceof DeserializationFailure
        ? 'source'
        : 'sink';
  const description =
    err instanceof StageFailure
      ? `User code threw in stage "${err.stage}"`
      : err instanceof DeserializationFailure
        ? `A source record could not be read as ${err.format}`
        : err instanceof CommitFailure
          ? err.description
          : 'A record could not be written to the sink';
  // On a repartition topic the record names its source record in headers; report that one.
  const origin = originOf(topic, partition, message);
  return {
    description: escalation?.budgetSpent ?? description,
    error: errorInfo(cause),
    stage,
    worker,
    record: { ...origin, valuePreview: message.value ? preview(message.value) : null },
    fingerprint: err instanceof CommitFailure ? null : fingerprint,
    action: escalation?.action ?? null,
  };
}

/** An error as data. */
export function errorInfo(err: unknown): ErrorInfo {
  // A Sluice error is named by its stable code: that is what scripts and decisions branch on.
  if (err instanceof SluiceError)
    return { name: err.code, message: err.message, stack: err.stack ?? null };
  if (err instanceof Error)
    return { name: err.name, message: err.message, stack: err.stack ?? null };
  return { name: 'NonError', message: String(err), stack: null };
}

function preview(value: Buffer): string {
  // By code points, so a character outside the BMP is never cut in half.
  const chars = [...value.toString('utf8')];
  return chars.length > PREVIEW_CHARS
    ? `${chars.slice(0, PREVIEW_CHARS).join('')}…`
    : chars.join('');
}
