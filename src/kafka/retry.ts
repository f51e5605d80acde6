import { systemClock, type Clock } from '../domain/clock.js';
import { SluiceError } from '../domain/errors.js';
import { isTransient } from './errors.js';

/**
 * How long Sluice keeps retrying a transient Kafka error (a broker down, a leader change, a
 * timeout) before it counts as a failure. Exponential backoff with full jitter, bounded by a
 * total budget: the budget is what an operator reasons about ("a 30 s broker outage must not
 * suspend the job"), so it is the setting, and the attempt count follows from it.
 */
export interface RetryPolicy {
  /** First delay before jitter, ms. */
  initialMs: number;
  /** Largest delay before jitter, ms. */
  maxMs: number;
  /** Give up once this long has passed since the first failure, ms. */
  budgetMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 250, maxMs: 5_000, budgetMs: 60_000 };

/**
 * A complete policy from the settings given (the rest from {@link DEFAULT_RETRY}), checked:
 * whole milliseconds, a first delay of at least 1 ms, a largest delay no smaller than the first,
 * and a budget of 0 (no retries: the first error counts) or more. `names` says what each
 * setting is called where it came from (a flag, a variable), for the error message.
 */
export function retryPolicy(
  given: Partial<RetryPolicy> = {},
  names: Record<keyof RetryPolicy, string> = {
    initialMs: 'retry.initialMs',
    maxMs: 'retry.maxMs',
    budgetMs: 'retry.budgetMs',
  },
): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...given };
  const bad = (key: keyof RetryPolicy, rule: string): SluiceError =>
    new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `${names[key]} must be ${rule}, not ${String(policy[key])}.`,
      { details: { [names[key]]: policy[key] } },
    );
  for (const key of ['initialMs', 'maxMs', 'budgetMs'] as const)
    if (!Number.isSafeInteger(policy[key]) || policy[key] < 0)
      throw bad(key, 'a whole number of milliseconds, 0 or more');
  if (policy.initialMs < 1) throw bad('initialMs', 'at least 1 ms');
  if (policy.maxMs < policy.initialMs)
    throw bad('maxMs', `at least the first delay (${names.initialMs} = ${policy.initialMs} ms)`);
  return policy;
}

/** The delay before attempt `attempt` (1-based), with full jitter. */
export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Tracks consecutive failures of one operation against a policy's budget. */
export class RetryBudget {
  private firstFailure: number | undefined;
  private attempts = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly now: () => number = systemClock.now,
  ) {}

  /** Records a failure; the delay to wait before the next attempt, or undefined when the budget is spent. */
  failed(): number | undefined {
    const now = this.now();
    this.firstFailure ??= now;
    this.attempts++;
    if (now - this.firstFailure >= this.policy.budgetMs) return undefined;
    return backoffMs(this.policy, this.attempts);
  }

  succeeded(): void {
    this.firstFailure = undefined;
    this.attempts = 0;
  }

  /** What the budget saw: for the failure report when it runs out. */
  get spent(): { attempts: number; elapsedMs: number } {
    return {
      attempts: this.attempts,
      elapsedMs: this.firstFailure === undefined ? 0 : this.now() - this.firstFailure,
    };
  }
}

/** Runs `fn`, retrying transient errors within the policy's budget; rethrows the rest at once. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  onRetry: (err: unknown, attempt: number, delayMs: number) => void = () => undefined,
  clock: Clock = systemClock,
): Promise<T> {
  const budget = new RetryBudget(policy, () => clock.now());
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const delay = isTransient(err) ? budget.failed() : undefined;
      if (delay === undefined) throw err;
      onRetry(err, budget.spent.attempts, delay);
      await clock.sleep(delay);
    }
  }
}
