import { assertNever } from '../domain/assert.js';
import type { StageDef } from '../pipeline/stages.js';
import type { StateStore } from './state-store.js';

/** One value leaving the last stage, with the key the sink writes it under. */
export interface Output {
  key: string | null;
  value: unknown;
}

/** User code threw (or returned something unusable) in a stage. */
export class StageFailure extends Error {
  constructor(
    readonly stage: string,
    override readonly cause: unknown,
  ) {
    super(`stage "${stage}" failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StageFailure';
  }
}

/**
 * Runs one input value through the stages. State reads and writes go through `state` (pending
 * until the task commits). Throws {@link StageFailure} naming the stage when user code throws.
 */
export async function execute(
  stages: readonly StageDef[],
  input: unknown,
  state: StateStore,
): Promise<Output[]> {
  let items: Output[] = [{ key: null, value: input }];
  for (const stage of stages) {
    const next: Output[] = [];
    for (const item of items) {
      try {
        await step(stage, item, state, next);
      } catch (err) {
        throw new StageFailure(stage.name, err);
      }
    }
    items = next;
    if (items.length === 0) break;
  }
  return items;
}

async function step(
  stage: StageDef,
  item: Output,
  state: StateStore,
  out: Output[],
): Promise<void> {
  switch (stage.kind) {
    case 'map':
      out.push({ key: item.key, value: await stage.fn(item.value) });
      return;
    case 'filter':
      if (await stage.fn(item.value)) out.push(item);
      return;
    case 'flatMap':
      for (const v of await stage.fn(item.value)) out.push({ key: item.key, value: v });
      return;
    case 'aggregate': {
      const key = stage.key(item.value);
      const current = state.get(stage.name, key);
      const updated = await stage.add(current === undefined ? stage.init() : current, item.value);
      state.put(stage.name, key, updated);
      out.push({ key, value: { key, value: updated } });
      return;
    }
    case 'mapWithState': {
      const key = stage.key(item.value);
      const current = state.get(stage.name, key);
      const [updated, output] = await stage.fn(
        current === undefined ? stage.init() : current,
        item.value,
        key,
      );
      state.put(stage.name, key, updated);
      if (output !== undefined) out.push({ key, value: output });
      return;
    }
    default:
      assertNever(stage);
  }
}
