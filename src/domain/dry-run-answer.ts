import type { ErrorInfo } from './cause.js';

// What a worker answers to a dry run (src/domain/dry-run.ts), apart so that commands and events
// can name it without importing the decisions.

/** At most this many outputs are listed in an answer; `outputCount` says how many there were. */
export const MAX_DRY_RUN_OUTPUTS = 20;

/** How much of an output's key and value an answer shows, in characters. */
export const DRY_RUN_PREVIEW_CHARS = 256;

/** One record a dry run would write to the sink, shortened for the log. */
export interface DryRunOutput {
  key: string | null;
  valuePreview: string | null;
}

/** One worker's answer to a dry run, as `ReportDryRun` carries it and `DryRunCompleted` records it. */
export interface DryRunAnswer {
  requestId: string;
  worker: string;
  /** The fingerprint of the code the worker ran the record through; null when it has none. */
  fingerprint: string | null;
  /** The first {@link MAX_DRY_RUN_OUTPUTS} outputs; empty when the record failed or wrote nothing. */
  outputs: DryRunOutput[];
  /** How many records the sink would have received. */
  outputCount: number;
  /** What the code threw now, or null when the record went through. */
  error: ErrorInfo | null;
  /** Where it threw: a stage's name, `source` (the format), `sink`; null without an error or outside the stages. */
  stage: string | null;
}
