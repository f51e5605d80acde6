import type { ErrorInfo } from '../domain/cause.js';
import { SluiceError } from '../domain/errors.js';
import {
  retryDelayMs,
  verdict,
  type ErrorBudget,
  type ErrorPolicy,
} from '../domain/error-policy.js';
import { isTransient } from '../kafka/errors.js';
import type { StageDef } from '../pipeline/stages.js';
import { StageFailure } from './execute.js';
import { Escalation } from './escalation.js';
import { errorInfo } from './failure.js';
import { DeserializationFailure } from './serde.js';

/** A record the policy let the job go past: skipped, or dead-lettered to `topic`. */
export interface HandledError {
  stage: string;
  action: 'SKIP' | 'DEAD_LETTER';
  topic: string | null;
  error: ErrorInfo;
  /** Where the record sat, for the budget's "last errors". */
  record: string;
  /** By the policy; false for the record a resume named, which the budget does not count. */
  byPolicy: boolean;
}

/** What the job does about one failure, now. */
export type PolicyStep =
  | { kind: 'retry'; delayMs: number }
  | { kind: 'handled'; handled: HandledError }
  /** Stop at the record and report `failure` (an {@link Escalation} when a rule or budget chose). */
  | { kind: 'stop'; failure: unknown };

/** The stage a failure belongs to, as policies and reports name it. */
export function failureStage(err: unknown): string {
  return err instanceof StageFailure
    ? err.stage
    : err instanceof DeserializationFailure
      ? 'source'
      : 'sink';
}

/**
 * The names an error answers to: its `name`, a Sluice error's code, and the name of every class
 * it extends, so a rule for `ValidationError` also catches a `MissingFieldError extends
 * ValidationError`. A thrown non-error is "NonError".
 */
export function errorNames(err: unknown): string[] {
  if (!(err instanceof Error)) return ['NonError'];
  const names = new Set<string>([err.name]);
  if (err instanceof SluiceError) names.add(err.code);
  for (let p: unknown = Object.getPrototypeOf(err); p && p !== Object.prototype;) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name;
    if (name) names.add(name);
    p = Object.getPrototypeOf(p);
  }
  return [...names];
}

/**
 * Applies a job's error policy to the records of one hop on this worker: which failures are
 * retried and after how long, which skipped or dead-lettered, and when the error budget is
 * spent. The budget counts the records this worker let past within the window, committed ones
 * (`committed`) and those of the chunk at hand (`pending`): a record that would be one too many
 * stops the job at that record, so a resume starts at it.
 */
export class RecordPolicy {
  /** When each record let past was committed, oldest first, within the budget's window. */
  private readonly spent: number[] = [];
  private readonly recent: HandledError[] = [];
  private readonly predicates: Map<string, (err: unknown) => boolean>;

  constructor(
    private readonly policy: ErrorPolicy,
    stages: readonly StageDef[],
    private readonly now: () => number,
    /** Told of each retry, for the metrics. */
    private readonly retried: (stage: string) => void = () => undefined,
    private readonly random: () => number = Math.random,
  ) {
    this.predicates = new Map(
      stages.flatMap((s) => (s.retryable ? [[s.name, s.retryable] as const] : [])),
    );
  }

  /** True when the policy can change anything: else the hop keeps today's path untouched. */
  get active(): boolean {
    const p = this.policy;
    return (
      p.retry !== null ||
      p.actions.length > 0 ||
      Object.keys(p.stages).length > 0 ||
      this.predicates.size > 0
    );
  }

  /**
   * What to do about `err`, the `attempt`-th failure of one record (1 for the first), with
   * `pending` records already let past in the chunk at hand. Failures not of the record (the
   * schema registry out of reach) are left to the hop's own retries.
   */
  step(
    err: unknown,
    attempt: number,
    pending: readonly HandledError[],
    record: string,
  ): PolicyStep {
    if (err instanceof DeserializationFailure && isTransient(err.cause))
      return { kind: 'stop', failure: err };
    const stage = failureStage(err);
    const cause =
      err instanceof StageFailure || err instanceof DeserializationFailure ? err.cause : err;
    const predicate = this.predicates.get(stage);
    let retryable = false;
    try {
      retryable = predicate?.(cause) === true;
    } catch {
      // A predicate that throws says nothing: the error is not retried.
    }
    const v = verdict(this.policy, stage, errorNames(cause), retryable);
    if (v.retry && attempt <= v.retry.maxRetries) {
      this.retried(stage);
      return { kind: 'retry', delayMs: retryDelayMs(v.retry, attempt, this.random()) };
    }
    const rule = v.action;
    if (!rule) return { kind: 'stop', failure: err };
    if (rule.action === 'SUSPEND' || rule.action === 'FAIL')
      return { kind: 'stop', failure: new Escalation(err, rule.action, null) };
    const handled: HandledError = {
      stage,
      action: rule.action,
      topic: rule.deadLetterTopic,
      error: errorInfo(cause),
      record,
      byPolicy: true,
    };
    const spent = this.budgetSpent(pending);
    if (spent) return { kind: 'stop', failure: new Escalation(err, 'SUSPEND', spent) };
    return { kind: 'handled', handled };
  }

  /** Records a chunk's let-past records as committed: they count against the budget from now. */
  committed(handled: readonly HandledError[]): void {
    const at = this.now();
    for (const h of handled) {
      this.spent.push(at);
      this.recent.push(h);
    }
    this.recent.splice(0, Math.max(0, this.recent.length - RECENT));
  }

  private budgetSpent(pending: readonly HandledError[]): string | null {
    const budget = this.policy.budget;
    if (!budget) return null;
    const from = this.now() - budget.windowMs;
    while (this.spent.length > 0 && (this.spent[0] as number) <= from) this.spent.shift();
    if (this.spent.length + pending.length + 1 <= budget.maxRecords) return null;
    return describeBudget(budget, [...this.recent, ...pending].slice(-RECENT));
  }
}

/** How many of the last records let past a spent budget's cause lists. */
const RECENT = 5;

function describeBudget(budget: ErrorBudget, last: readonly HandledError[]): string {
  const lines = last.map(
    (h) =>
      `${h.record} in stage "${h.stage}": ${h.error.name}: ${h.error.message} (${h.action === 'SKIP' ? 'skipped' : `dead-lettered to ${h.topic ?? '?'}`})`,
  );
  return `The error budget is spent: more than ${budget.maxRecords} record(s) would be skipped or dead-lettered within ${budget.windowMs / 1000} s on this worker; the job is suspended at the record that would have spent it. The last errors: ${lines.join('; ')}`;
}
