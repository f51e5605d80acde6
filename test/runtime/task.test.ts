import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/runtime/state-store.js';
import { committedPrefix, inTurn, type Task } from '../../src/runtime/task.js';

function task(committed: string | undefined): Task {
  return { topic: 't', partition: 0, state: new StateStore(), committed, errorCounts: [] };
}

function at(...offsets: number[]): KafkaMessage[] {
  return offsets.map((o) => ({ offset: String(o) }) as KafkaMessage);
}

describe('committedPrefix', () => {
  it('is 0 for a task that has committed nothing yet', () => {
    expect(committedPrefix(task(undefined), at(0, 1, 2))).toBe(0);
  });

  it('counts the records below the committed offset, which the task has applied already', () => {
    // Committed "500" means offsets up to 499 are in the task's state.
    expect(committedPrefix(task('500'), at(498, 499, 500, 501))).toBe(2);
    expect(committedPrefix(task('500'), at(0, 1, 2))).toBe(3);
  });

  it('keeps a chunk that starts at or past the committed offset whole', () => {
    expect(committedPrefix(task('500'), at(500, 501))).toBe(0);
    // A transaction marker takes an offset no record has: the next record starts past it.
    expect(committedPrefix(task('500'), at(502, 503))).toBe(0);
    expect(committedPrefix(task('500'), [])).toBe(0);
  });

  it('compares offsets as numbers, not strings', () => {
    expect(committedPrefix(task('1000'), at(999, 1000))).toBe(1);
    expect(committedPrefix(task('99'), at(100))).toBe(0);
  });
});

describe('inTurn', () => {
  it('runs a task’s work one piece at a time, in order, even after a failure', async () => {
    const t = task(undefined);
    const log: string[] = [];
    const step =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`${name} start`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      };
    const a = inTurn(t, step('a', 20, true));
    const b = inTurn(t, step('b', 1));
    await expect(a).rejects.toThrow('a');
    await expect(b).resolves.toBe('b');
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end']);
  });
});
