/**
 * Sluice: a stream processor on Apache Kafka whose failing jobs are suspended, not killed.
 *
 * @example
 * ```ts
 * import { Pipeline, Sources, Sinks, Worker, SluiceClient, JobSuspendedError } from 'sluice';
 *
 * const worker = new Worker({ brokers, registryUrl }).register('order-totals', (args) =>
 *   Pipeline.create()
 *     .readFrom(Sources.kafka({ topic: args.input, format: 'json' }))
 *     .groupingKey((o) => o.customer)
 *     .aggregate({ name: 'totals', init: () => 0, add: (sum, o) => sum + o.amount })
 *     .writeTo(Sinks.kafka({ topic: args.output, format: 'json' })),
 * );
 * await worker.start();
 *
 * const client = await SluiceClient.connect({ brokers, registryUrl });
 * const job = await client.submit('order-totals', {
 *   name: 'totals', suspendOnFailure: true, processingGuarantee: 'EXACTLY_ONCE',
 *   args: { input: 'orders', output: 'totals' },
 * });
 * try {
 *   await job.join();
 * } catch (err) {
 *   if (err instanceof JobSuspendedError) console.log(err.suspensionCause); // what, where, which record
 * }
 * ```
 */
export { SluiceClient, type ClientOptions } from './node/client.js';
export { Job, type ResumeOptions } from './client/job.js';
export type { StatusChange } from './client/status-events.js';
export type { DryRunResult, DryRunWorkerAnswer, TryResumeOptions } from './client/dry-run.js';
export type { ExportedSnapshotInfo } from './client/snapshots.js';
export type { SnapshotCopy, StageCopy } from './domain/snapshot-copy.js';
export {
  Worker,
  type WorkerOptions,
  type PipelineFactory,
  type RegisterOptions,
} from './node/worker.js';
export type { RestoreProgress } from './observability/metrics.js';
export { createCoordinator } from './node/coordinator.js';
export type { Coordinator } from './control/coordinator.js';
export type { CoordinatorOptions, TopicOptions } from './node/options.js';
export {
  Pipeline,
  Stream,
  KeyedStream,
  type BranchOptions,
  type PipelineDef,
  type StageOptions,
} from './pipeline/pipeline.js';
export { Sources, type KafkaSourceDef, type KafkaSourceOptions } from './pipeline/sources.js';
export { Sinks, type KafkaSinkDef, type KafkaSinkOptions } from './pipeline/sinks.js';
export type { Keyed, StageDef, WindowEmit } from './pipeline/stages.js';
export {
  Windows,
  WindowedStream,
  type EventTimeOptions,
  type WindowAggregateOptions,
  type WindowDef,
  type Windowed,
} from './pipeline/windowed.js';
export type { WindowKind, WindowSpec } from './domain/windows.js';
export {
  Tables,
  type KafkaTableDef,
  type KafkaTableOptions,
  type TableJoinOptions,
  type LeftTableJoinOptions,
} from './pipeline/join.js';
export type {
  StreamJoinOptions,
  LeftStreamJoinOptions,
  OuterStreamJoinOptions,
} from './pipeline/join-stream.js';
export type { Format } from './pipeline/formats.js';
export {
  SluiceError,
  isSluiceError,
  ERROR_CODES,
  type ErrorCode,
  type SluiceErrorOptions,
} from './domain/errors.js';
export {
  JobSuspendedError,
  JobFailedError,
  JobCancelledError,
  CommandRejectedError,
  JobNotSuspendedError,
  DeadLetterTopicMissingError,
  JobPurgedError,
} from './domain/job-errors.js';
export type { PurgedJob } from './domain/purge.js';
export { SourceDataLostError, type LostRange } from './domain/data-loss.js';
export { ResumeSameCodeError, type SameCode } from './domain/same-code.js';
export { DryRunNotPossibleError, NoLiveWorkerError, type DryRunOutput } from './domain/dry-run.js';
export type { WorkerPresence, PipelineHost } from './domain/presence.js';
export {
  JOB_STATUSES,
  PROCESSING_GUARANTEES,
  type JobStatus,
  type ProcessingGuarantee,
} from './domain/status.js';
export type { JobConfig, JobConfigInput, JobConfigDelta } from './domain/config.js';
export type { SuspensionCause, RecordRef, ErrorInfo, FailingRecordAction } from './domain/cause.js';
export type { JobEvent, KnownEvent, UnknownEvent } from './domain/events.js';
export type { JobState } from './domain/state.js';
// Secure connections: `loadSecurity()` reads flags, SLUICE_* variables and a config file, the way
// the CLI does; pass the result as `security` to `SluiceClient.connect` and `new Worker`.
export {
  SASL_MECHANISMS,
  type ConnectionSecurity,
  type Credentials,
  type SaslMechanism,
  type TlsFiles,
} from './domain/security.js';
export { loadSecurity, type SecurityFlags } from './node/security.js';
export { redacted } from './observability/redact.js';
