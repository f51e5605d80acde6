import { SluiceError } from '../domain/errors.js';
import { checkedName } from './checks.js';
import type { KafkaSinkDef } from './sinks.js';
import type { MaybePromise, Route, StageDef } from './stages.js';

/** The name of the default branch: it takes the items no predicate matched. */
export const OTHERWISE = 'otherwise';

/** What one branch's builder ended with: its own stages and its sink. */
export interface RouteEnd {
  stages: StageDef[];
  sinks: KafkaSinkDef[];
}

/** One branch as the builder hands it over: its name, predicate (none: the default) and end. */
export interface RouteInput {
  name: string;
  predicate: ((value: unknown) => MaybePromise<boolean>) | undefined;
  end: RouteEnd;
}

/**
 * The `branch` stage and the pipeline's sinks, one per branch in the order written: each
 * branch names its sink by index, so two branches may share a topic and still keep their own
 * format and key.
 */
export function branchStage(
  name: string,
  routes: readonly RouteInput[],
  extra: { retryable?: (err: unknown) => boolean },
): { stage: StageDef; sinks: KafkaSinkDef[] } {
  if (routes.length === 0)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `branch "${name}" has no branches: give it at least one named predicate.`,
    );
  const sinks: KafkaSinkDef[] = [];
  const built: Route[] = routes.map((r) => {
    const sink = r.end.sinks[0];
    if (r.end.sinks.length !== 1 || !sink)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `branch "${name}", branch "${r.name}": end it with exactly one writeTo(sink).`,
      );
    sinks.push(sink);
    return { name: r.name, predicate: r.predicate, stages: r.end.stages, sink: sinks.length - 1 };
  });
  return { stage: { kind: 'branch', name, routes: built, ...extra }, sinks };
}

/** The predicates, checked: named like stages, functions, none called like the default branch. */
export function checkedPredicates(
  branch: string,
  predicates: Record<string, unknown>,
): [string, (value: unknown) => MaybePromise<boolean>][] {
  if (typeof predicates !== 'object' || predicates === null)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `branch "${branch}": the first argument must be an object of named predicates, { name: (value) => boolean }.`,
    );
  return Object.entries(predicates).map(([name, fn]) => {
    checkedName(name, `branch "${branch}": branch`);
    if (name === OTHERWISE)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `branch "${branch}": "${OTHERWISE}" names the default branch; pass it as options.otherwise, or rename the predicate.`,
      );
    if (typeof fn !== 'function')
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `branch "${branch}": the predicate of "${name}" must be a function (value) => boolean.`,
      );
    return [name, fn as (value: unknown) => MaybePromise<boolean>];
  });
}

/** Why a stage cannot follow a branch: each branch's stages run inside the branching hop. */
export function notInBranch(what: string, route: string): SluiceError {
  return new SluiceError(
    'SLUICE_CONFIG_INVALID',
    `${what} inside branch "${route}" is not supported: a branch's stages must be stateless (map, filter, flatMap) and end in writeTo(sink). Put the stateful stage before branch(), or run the branch's output through a second pipeline reading its sink topic.`,
  );
}
