import { z } from 'zod';
import { FAILING_RECORD_ACTIONS } from '../domain/cause.js';
import type { Command } from '../domain/commands.js';

// The JSON form of a command, for operators who publish with any Kafka tool:
//   {"type":"SuspendJob","jobId":"…"}                     (commandId, issuedBy, at are optional)
// Missing commandId: derived from the record's position, so a redelivered record is still a repeat.

const str = z.string().min(1);
const nullableStr = z.string().min(1).nullable().default(null);
const offsets = z.array(
  z.object({ topic: str, partition: z.number().int().min(0), offset: z.string().regex(/^\d+$/) }),
);
const errorInfo = z.object({
  name: z.string(),
  message: z.string(),
  stack: z.string().nullable().default(null),
});
const recordRef = z.object({
  topic: str,
  partition: z.number().int().min(0),
  offset: z.string().regex(/^\d+$/),
  key: z.string().nullable().default(null),
  valuePreview: z.string().nullable().default(null),
});

/** A report's run (see `JobState.run`); optional, as from writers older than runs. */
const run = z.number().int().min(1).optional();

const envelope = {
  commandId: str.optional(),
  jobId: str,
  issuedBy: str.optional(),
  at: z.number().int().nonnegative().optional(),
};

const commandSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('SubmitJob'),
      ...envelope,
      pipeline: str,
      config: z.record(z.string(), z.unknown()),
    })
    .strict(),
  z.object({ type: z.literal('SuspendJob'), ...envelope }).strict(),
  z
    .object({
      type: z.literal('ResumeJob'),
      ...envelope,
      failingRecord: z.enum(FAILING_RECORD_ACTIONS).default('RETRY'),
      deadLetterTopic: nullableStr,
      acceptDataLoss: z.boolean().default(false),
      force: z.boolean().default(false),
    })
    .strict(),
  z.object({ type: z.literal('CancelJob'), ...envelope }).strict(),
  z.object({ type: z.literal('RestartJob'), ...envelope }).strict(),
  // A JSON export carries no copy, so the coordinator refuses it with a reason that says how to
  // export; the field is accepted as null so the refusal comes from the coordinator, in the log.
  z
    .object({
      type: z.literal('ExportSnapshot'),
      ...envelope,
      name: str,
      copy: z.null().default(null),
    })
    .strict(),
  z.object({ type: z.literal('DeleteSnapshot'), ...envelope, name: str }).strict(),
  z.object({ type: z.literal('PurgeJob'), ...envelope }).strict(),
  z
    .object({
      type: z.literal('UpdateConfig'),
      ...envelope,
      delta: z.record(z.string(), z.unknown()),
    })
    .strict(),
  z.object({ type: z.literal('ReportStarted'), ...envelope, worker: str, run }).strict(),
  z
    .object({
      type: z.literal('ReportSnapshot'),
      ...envelope,
      worker: str,
      snapshotId: str,
      sourceOffsets: offsets,
      stateOffsets: offsets,
      run,
    })
    .strict(),
  z
    .object({
      type: z.literal('ReportFailure'),
      ...envelope,
      failure: z.object({
        description: z.string(),
        error: errorInfo,
        stage: nullableStr,
        worker: nullableStr,
        record: recordRef.nullable().default(null),
        fingerprint: nullableStr,
      }),
      run,
    })
    .strict(),
  z.object({ type: z.literal('RequestDryRun'), ...envelope, requestId: str }).strict(),
  z
    .object({
      type: z.literal('ReportDryRun'),
      ...envelope,
      requestId: str,
      worker: str,
      fingerprint: nullableStr,
      outputs: z
        .array(
          z.object({
            key: z.string().nullable().default(null),
            valuePreview: z.string().nullable().default(null),
          }),
        )
        .default([]),
      outputCount: z.number().int().min(0),
      error: errorInfo.nullable().default(null),
      stage: nullableStr,
    })
    .strict(),
  z.object({ type: z.literal('ReportCompleting'), ...envelope, worker: str, run }).strict(),
  z.object({ type: z.literal('ReportCompleted'), ...envelope, worker: str, run }).strict(),
]);

/** Defaults for envelope fields a JSON command left out. */
export interface JsonDefaults {
  commandId: string;
  issuedBy: string;
  at: number;
}

/** Parses a JSON command; returns the command, or a message naming every problem. */
export function parseJsonCommand(text: string, defaults: JsonDefaults): Command | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  const parsed = commandSchema.safeParse(raw);
  if (!parsed.success) {
    return parsed.error.issues
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
  }
  const c = parsed.data;
  // Config and delta are checked field by field by the domain (compileJobConfig), which
  // reports every bad path at once in the rejection.
  return {
    ...c,
    commandId: c.commandId ?? defaults.commandId,
    issuedBy: c.issuedBy ?? defaults.issuedBy,
    at: c.at ?? defaults.at,
  } as Command;
}
