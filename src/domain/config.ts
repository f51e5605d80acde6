import { z } from 'zod';
import { SluiceError } from './errors.js';
import { errorPolicySchema, NO_ERROR_POLICY, type ErrorPolicy } from './error-policy.js';
import { PROCESSING_GUARANTEES, type ProcessingGuarantee } from './status.js';

/** A job's configuration, compiled: every field present and valid. */
export interface JobConfig {
  name: string;
  /** Suspend instead of failing when the job hits an error. Default false (fail, as before). */
  suspendOnFailure: boolean;
  processingGuarantee: ProcessingGuarantee;
  /**
   * How often the coordinator records a snapshot (the committed positions) in the job log, in
   * milliseconds. Tasks commit per chunk of records whatever this is (runtime/chunk.ts).
   */
  snapshotIntervalMs: number;
  /** Free-form arguments handed to the pipeline factory. */
  args: Record<string, string>;
  /** Start from this exported snapshot instead of from scratch. */
  initialSnapshotName: string | null;
  /** Retries, actions by error, and an error budget (docs/failure-handling.md, "Error policies"). */
  errorPolicy: ErrorPolicy;
}

/** What a user may pass; everything but the name has a default, down to the policy's fields. */
export type JobConfigInput = Partial<Omit<JobConfig, 'errorPolicy'>> & {
  name: string;
  errorPolicy?: z.input<typeof errorPolicySchema>;
};

/** The fields `updateConfig` may change while a job is suspended. */
export type JobConfigDelta = Partial<
  Pick<JobConfig, 'suspendOnFailure' | 'snapshotIntervalMs' | 'args' | 'errorPolicy'>
>;

/** A change as a user may give it: a policy's rules with their defaults left out. */
export type JobConfigDeltaInput = Omit<JobConfigDelta, 'errorPolicy'> & {
  errorPolicy?: z.input<typeof errorPolicySchema>;
};

export const DEFAULT_SNAPSHOT_INTERVAL_MS = 10_000;

/** Job, pipeline and snapshot names appear in topic names and CLI tables, so they keep to a safe alphabet. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** True for a valid job, pipeline or snapshot name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

const configSchema = z
  .object({
    name: z
      .string()
      .regex(
        NAME,
        'must be 1-200 characters of letters, digits, ".", "_" or "-", starting with a letter or digit',
      ),
    suspendOnFailure: z.boolean().default(false),
    processingGuarantee: z.enum(PROCESSING_GUARANTEES).default('NONE'),
    snapshotIntervalMs: z
      .number()
      .int()
      .min(100)
      .max(86_400_000)
      .default(DEFAULT_SNAPSHOT_INTERVAL_MS),
    args: z.record(z.string(), z.string()).default({}),
    initialSnapshotName: z.string().min(1).nullable().default(null),
    errorPolicy: errorPolicySchema.default(NO_ERROR_POLICY),
  })
  .strict();

const deltaSchema = z
  .object({
    suspendOnFailure: z.boolean(),
    snapshotIntervalMs: z.number().int().min(100).max(86_400_000),
    args: z.record(z.string(), z.string()),
    errorPolicy: errorPolicySchema,
  })
  .partial()
  .strict();

/**
 * Merges the defaults and validates every field; one error lists every bad path at once, so a
 * user fixes a config in one round rather than one field per try.
 */
export function compileJobConfig(input: unknown): JobConfig {
  return parseOrThrow(configSchema, input, 'job config');
}

/** Validates a change to a suspended job's config. */
export function compileConfigDelta(input: unknown): JobConfigDelta {
  const parsed = parseOrThrow(deltaSchema, input, 'config change');
  // A field given as undefined means "leave it": drop it, or the spread in applyConfigDelta
  // would overwrite the current value with undefined.
  const delta = Object.fromEntries(
    Object.entries(parsed).filter(([, value]) => value !== undefined),
  ) as JobConfigDelta;
  if (Object.keys(delta).length === 0) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      'The config change is empty. Give at least one of suspendOnFailure, snapshotIntervalMs, args, errorPolicy.',
    );
  }
  return delta;
}

/** Applies a validated delta. */
export function applyConfigDelta(config: JobConfig, delta: JobConfigDelta): JobConfig {
  return { ...config, ...delta };
}

export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`,
  );
  throw new SluiceError('SLUICE_CONFIG_INVALID', `Invalid ${what}:\n  ${problems.join('\n  ')}`, {
    details: { problems },
  });
}
