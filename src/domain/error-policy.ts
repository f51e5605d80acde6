import { z } from 'zod';

/**
 * What a job does with a record its code cannot process, beyond "suspend" or "fail": retries
 * with backoff, then an action chosen by the error, within an error budget. Plain data, so it
 * travels in the job's config through the log; the one part that is code (a predicate saying
 * an error is worth retrying) is declared on the pipeline's stage instead.
 */
export interface ErrorPolicy {
  /** Retries before anything else happens; null: none (unless a stage's predicate asks). */
  retry: RetryRule | null;
  /** The first rule whose names match the error decides; none matching: `suspendOnFailure`. */
  actions: ActionRule[];
  /** Skips and dead letters allowed within a window before the job suspends; null: no limit. */
  budget: ErrorBudget | null;
  /** Per stage ("source" and "sink" name the format's read and write): checked first. */
  stages: Record<string, StagePolicy>;
}

export interface StagePolicy {
  /** Replaces the job-wide retry rule for this stage when given. */
  retry: RetryRule | null;
  /** Checked before the job-wide rules. */
  actions: ActionRule[];
}

export interface RetryRule {
  /** Error names (an error's `name`, a Sluice error's code, or any class it extends); "*" is any. */
  on: string[];
  /** Retries after the first attempt. */
  maxRetries: number;
  /** The first wait; each next one is `multiplier` times longer, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  /** Each wait is varied by up to this fraction either way, so workers do not retry in step. */
  jitter: number;
}

export const ERROR_ACTIONS = ['SUSPEND', 'FAIL', 'SKIP', 'DEAD_LETTER'] as const;
export type ErrorAction = (typeof ERROR_ACTIONS)[number];

export interface ActionRule {
  on: string[];
  action: ErrorAction;
  /** DEAD_LETTER only: the topic the record goes to, with its cause in headers. */
  deadLetterTopic: string | null;
}

export interface ErrorBudget {
  /** More than this many records skipped or dead-lettered within `windowMs` suspends the job. */
  maxRecords: number;
  windowMs: number;
}

/** No retries, no actions, no budget: the job suspends or fails as `suspendOnFailure` says. */
export const NO_ERROR_POLICY: ErrorPolicy = { retry: null, actions: [], budget: null, stages: {} };

/** The waits a stage's `retryable` predicate gets when the config names no retry rule. */
export const DEFAULT_RETRY: RetryRule = {
  on: [],
  maxRetries: 3,
  backoffMs: 100,
  maxBackoffMs: 5_000,
  multiplier: 2,
  jitter: 0.2,
};

const names = z.array(z.string().min(1)).min(1, 'name at least one error ("*" for any)');

const retrySchema = z
  .object({
    on: names,
    maxRetries: z.number().int().min(1).max(100).default(DEFAULT_RETRY.maxRetries),
    backoffMs: z.number().int().min(0).max(3_600_000).default(DEFAULT_RETRY.backoffMs),
    maxBackoffMs: z.number().int().min(0).max(3_600_000).default(DEFAULT_RETRY.maxBackoffMs),
    multiplier: z.number().min(1).max(10).default(DEFAULT_RETRY.multiplier),
    jitter: z.number().min(0).max(1).default(DEFAULT_RETRY.jitter),
  })
  .strict();

const actionSchema = z
  .object({
    on: names,
    action: z.enum(ERROR_ACTIONS),
    deadLetterTopic: z.string().min(1).max(249).nullable().default(null),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.action === 'DEAD_LETTER' && !rule.deadLetterTopic)
      ctx.addIssue({ code: 'custom', message: 'DEAD_LETTER needs a deadLetterTopic' });
    if (rule.action !== 'DEAD_LETTER' && rule.deadLetterTopic)
      ctx.addIssue({
        code: 'custom',
        message: `a deadLetterTopic goes only with DEAD_LETTER, not ${rule.action}`,
      });
  });

const stageSchema = z
  .object({
    retry: retrySchema.nullable().default(null),
    actions: z.array(actionSchema).default([]),
  })
  .strict();

export const errorPolicySchema = z
  .object({
    retry: retrySchema.nullable().default(null),
    actions: z.array(actionSchema).default([]),
    budget: z
      .object({
        maxRecords: z.number().int().min(0),
        windowMs: z
          .number()
          .int()
          .min(1)
          .max(86_400_000 * 30),
      })
      .strict()
      .nullable()
      .default(null),
    stages: z.record(z.string().min(1), stageSchema).default({}),
  })
  .strict();

/** What the policy says about one failure, once its retries (if any) are spent. */
export interface PolicyVerdict {
  /** The retry rule that applies, if the error is retryable; null when it is not. */
  retry: RetryRule | null;
  /** The action a rule chose; null when none matched (then `suspendOnFailure` decides). */
  action: ActionRule | null;
}

/**
 * The verdict for an error with the given names in `stage`, where `retryable` is what the
 * stage's own predicate said (false when it has none).
 */
export function verdict(
  policy: ErrorPolicy,
  stage: string,
  errorNames: readonly string[],
  retryable: boolean,
): PolicyVerdict {
  const own = policy.stages[stage];
  const rule = own?.retry ?? policy.retry;
  const retry =
    rule && matches(rule.on, errorNames)
      ? rule
      : retryable
        ? { ...(rule ?? DEFAULT_RETRY), on: ['*'] }
        : null;
  const action =
    [...(own?.actions ?? []), ...policy.actions].find((r) => matches(r.on, errorNames)) ?? null;
  return { retry, action };
}

function matches(on: readonly string[], errorNames: readonly string[]): boolean {
  return on.some((n) => n === '*' || errorNames.includes(n));
}

/**
 * The wait before retry number `attempt` (1 for the first): exponential, capped, and varied by
 * `random` (in [0, 1)) within the rule's jitter.
 */
export function retryDelayMs(rule: RetryRule, attempt: number, random: number): number {
  const base = Math.min(rule.maxBackoffMs, rule.backoffMs * rule.multiplier ** (attempt - 1));
  return Math.max(0, Math.round(base * (1 + rule.jitter * (2 * random - 1))));
}

/** Every topic the policy dead-letters to, so a run can check they exist before it starts. */
export function deadLetterTopics(policy: ErrorPolicy): string[] {
  const rules = [...policy.actions, ...Object.values(policy.stages).flatMap((s) => s.actions)];
  return [...new Set(rules.flatMap((r) => (r.deadLetterTopic ? [r.deadLetterTopic] : [])))].sort();
}
