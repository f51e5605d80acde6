import { isValidName } from '../domain/config.js';
import { SluiceError } from '../domain/errors.js';
import type { Retryable, StageDef } from './stages.js';

// Checks of what user code hands the builder, which may not be typed (plain JavaScript).

/** The stage's predicate, checked: a typo like `retryable: true` is named, not ignored. */
export function retryable(opts: { retryable?: Retryable }): { retryable?: Retryable } {
  if (opts.retryable === undefined) return {};
  if (typeof opts.retryable !== 'function')
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `A stage's retryable must be a function (err) => boolean, not ${JSON.stringify(opts.retryable)}. Name retryable errors in the job's errorPolicy.retry.on instead.`,
    );
  return { retryable: opts.retryable };
}

/** A stage's (or a branch's) name: it names state topics, failure reports and metrics. */
export function checkedName(name: string, what = 'Stage'): string {
  if (typeof name !== 'string' || !isValidName(name)) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `${what} name "${String(name)}" must be letters, digits, ".", "_" or "-"; it names the stage's state topic.`,
    );
  }
  return name;
}

/** Refuses two stages of one name anywhere in the pipeline, branches included. */
export function checkUniqueNames(stages: readonly StageDef[]): void {
  const names = new Set<string>();
  for (const s of stages) {
    if (names.has(s.name))
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `Two stages are named "${s.name}"; stage names must be unique in a pipeline.`,
      );
    names.add(s.name);
  }
}
